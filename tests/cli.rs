//! The scriptable CLI: output formats, errors and bad input, through the real binary.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::{bin, TestRepo};

#[test]
fn add_prints_the_id_alone_and_reads_the_body_from_stdin() {
    let repo = TestRepo::new();
    assert_eq!(repo.ok(&["add", "First"]), "1\n");
    let mut child = repo
        .cmd(&[
            "add",
            "Second",
            "--body",
            "-",
            "--kind",
            "bug",
            "--priority",
            "3",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"line one\nline two\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n");
    let issue = repo.show(2);
    assert_eq!(issue["body"], "line one\nline two");
    assert_eq!(issue["kind"], "bug");
    assert_eq!(issue["priority"], 3);
    assert_eq!(issue["status"], "backlog");
}

#[test]
fn list_json_has_the_documented_fields_and_filters_by_status() {
    let repo = TestRepo::new();
    repo.add(&["One", "--ready"]);
    repo.add(&["Two"]);
    let all: serde_json::Value = serde_json::from_str(&repo.ok(&["list", "--json"])).unwrap();
    let arr = all.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    for key in [
        "id",
        "title",
        "kind",
        "status",
        "priority",
        "branch",
        "body",
        "created_at",
        "updated_at",
    ] {
        assert!(arr[0].get(key).is_some(), "missing {key}");
    }
    let ready: serde_json::Value =
        serde_json::from_str(&repo.ok(&["list", "--status", "ready", "--json"])).unwrap();
    assert_eq!(ready.as_array().unwrap().len(), 1);
    assert_eq!(ready[0]["title"], "One");
    let text = repo.ok(&["list"]);
    assert!(text.contains("One") && text.contains("backlog"));
    let show = repo.show(1);
    assert!(show["comments"].as_array().unwrap().is_empty());
    assert!(show["runs"].as_array().unwrap().is_empty());
}

#[test]
fn illegal_moves_and_unknown_values_fail_with_the_legal_choices() {
    let repo = TestRepo::new();
    repo.add(&["One"]);
    let err = repo.fails(&["move", "1", "done"]);
    assert!(err.contains("legal moves: ready"), "{err}");
    let err = repo.fails(&["move", "1", "in_progress"]);
    assert!(err.contains("human cannot move"), "{err}");
    let err = repo.fails(&["move", "1", "doing"]);
    assert!(
        err.contains("backlog, ready, in_progress, blocked, in_review, done"),
        "{err}"
    );
    let err = repo.fails(&["show", "42"]);
    assert!(err.contains("issue #42 not found"), "{err}");
    let err = repo.fails(&["add", "  "]);
    assert!(err.contains("non-empty title"), "{err}");
    assert_eq!(repo.status(1), "backlog");
    repo.ok(&["move", "1", "ready"]);
    repo.ok(&["move", "1", "backlog"]);
}

#[test]
fn works_from_any_directory_inside_the_repo() {
    let repo = TestRepo::new();
    repo.add(&["Root"]);
    let sub = repo.root.join("deep/er");
    std::fs::create_dir_all(&sub).unwrap();
    let out = repo
        .cmd(&["list", "--json"])
        .current_dir(&sub)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Root"));
    assert!(!sub.join(".autopilot").exists());
}

#[test]
fn outside_a_repo_it_says_so_unless_given_a_db() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["list"])
        .current_dir(dir.path())
        .env_remove("AUTOPILOT_DB")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not inside a git repository"), "{err}");
    let db = dir.path().join("x.db");
    let out = Command::new(bin())
        .args(["--db", db.to_str().unwrap(), "add", "Elsewhere"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin())
        .args(["list"])
        .env("AUTOPILOT_DB", &db)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Elsewhere"));
    // running agents needs a repository even with --db
    let out = Command::new(bin())
        .args(["--db", db.to_str().unwrap(), "run", "--once"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_untouched() {
    let repo = TestRepo::new();
    let db = repo.dir.path().join("notes.db");
    let text = "these are my notes, not a database\n".repeat(100);
    std::fs::write(&db, &text).unwrap();
    let err = repo.fails(&["--db", db.to_str().unwrap(), "list"]);
    assert!(err.contains("is not an autopilot database"), "{err}");
    assert_eq!(std::fs::read_to_string(&db).unwrap(), text);
}

#[test]
fn a_locked_database_fails_after_the_timeout_and_loses_nothing() {
    let repo = TestRepo::new().with_env("AUTOPILOT_LOCK_TIMEOUT_MS", "300");
    repo.add(&["Before"]);
    let conn = rusqlite::Connection::open(repo.db()).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE; UPDATE issues SET priority = 1;")
        .unwrap();
    let err = repo.fails(&["add", "During"]);
    assert!(err.contains("locked by another process"), "{err}");
    conn.execute_batch("COMMIT").unwrap();
    repo.add(&["After"]);
    let titles: Vec<String> =
        serde_json::from_str::<serde_json::Value>(&repo.ok(&["list", "--json"]))
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect();
    assert_eq!(titles.len(), 2);
    assert!(titles.contains(&"Before".to_string()) && titles.contains(&"After".to_string()));
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let repo = TestRepo::new();
    repo.add(&["x"]);
    let conn = rusqlite::Connection::open(repo.db()).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let err = repo.fails(&["list"]);
    assert!(
        err.contains("schema version 999") && err.contains("upgrade"),
        "{err}"
    );
}

#[test]
fn config_sample_parses_and_config_shows_paths() {
    let repo = TestRepo::new();
    let sample = repo.ok(&["config", "--sample"]);
    assert!(sample.contains("[agent]") && sample.contains("permission_mode"));
    std::fs::write(repo.root.join("autopilot.toml"), &sample).unwrap();
    let shown = repo.ok(&["config"]);
    assert!(shown.contains(".autopilot/autopilot.db"), "{shown}");
    assert!(shown.contains("fake-claude"), "{shown}");
    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[runner]\nslots = 'many'\n",
    )
    .unwrap();
    let err = repo.fails(&["list"]);
    assert!(err.contains("autopilot.toml"), "{err}");
}

#[test]
fn a_full_disk_during_a_write_fails_cleanly_and_keeps_everything() {
    let repo = TestRepo::new();
    repo.add(&["Kept one"]);
    repo.add(&["Kept two"]);
    // a file size limit stands in for a full disk: the next big write cannot land
    let big = "x".repeat(2 << 20);
    let mut child = Command::new("prlimit")
        .arg("--fsize=65536")
        .arg(bin())
        .args(["add", "Too big", "--body", "-"])
        .current_dir(&repo.root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(big.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is the disk full?") && err.contains("Nothing was changed"),
        "{err}"
    );
    let titles = repo.ok(&["list"]);
    assert!(
        titles.contains("Kept one") && titles.contains("Kept two") && !titles.contains("Too big"),
        "{titles}"
    );
    let conn = rusqlite::Connection::open(repo.db()).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    repo.add(&["Still writable"]);
}

#[test]
fn a_read_only_database_directory_is_a_clear_error_and_changes_nothing() {
    let repo = TestRepo::new();
    let dir = repo.dir.path().join("ro");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("x.db");
    let db_arg = db.to_str().unwrap().to_string();
    repo.ok(&["--db", &db_arg, "add", "Before"]);
    // checkpoint and drop the -wal/-shm files so only the directory's mode matters
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;")
        .unwrap();
    let before = std::fs::read(&db).unwrap();
    // immutable even for root
    let locked = Command::new("chattr")
        .args(["+i", dir.to_str().unwrap()])
        .status()
        .is_ok_and(|s| s.success());
    if !locked {
        eprintln!("chattr +i not supported here; skipping");
        return;
    }
    let out = repo.run(&["--db", &db_arg, "add", "During"]);
    let _ = Command::new("chattr")
        .args(["-i", dir.to_str().unwrap()])
        .status();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot write") && err.contains("writable"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the database file is untouched"
    );
    let list = repo.ok(&["--db", &db_arg, "list"]);
    assert!(list.contains("Before") && !list.contains("During"));
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    // `autopilot-tui doctor | head -1`, `list | head`: the pipe closes before the output.
    let repo = TestRepo::new();
    repo.add(&["One"]);
    for args in [
        &["doctor"][..],
        &["list"][..],
        &["show", "1"][..],
        &["config", "--sample"][..],
    ] {
        let mut child = repo
            .cmd(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = support::wait_output(child, std::time::Duration::from_secs(60));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
    }
}

#[test]
fn an_issue_cannot_depend_on_itself_or_on_one_that_does_not_exist() {
    let repo = TestRepo::new();
    repo.add(&["One"]);
    // #2 is the id the new issue would get
    let err = repo.fails(&["add", "Two", "--ready", "--depends-on", "2"]);
    assert!(
        err.contains("#2 cannot depend on itself") && err.contains("never be claimed"),
        "{err}"
    );
    let err = repo.fails(&["add", "Two", "--depends-on", "1", "--depends-on", "9"]);
    assert!(err.contains("there is no issue #9"), "{err}");
    let list: serde_json::Value = serde_json::from_str(&repo.ok(&["list", "--json"])).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "nothing was added: {list}"
    );
    // a real dependency is still taken
    assert_eq!(repo.add(&["Two", "--ready", "--depends-on", "1"]), 2);
}

#[test]
fn log_refuses_a_run_of_another_issue_and_a_missing_run() {
    let repo = TestRepo::new();
    let first = repo.add(&["First", "--ready"]);
    let second = repo.add(&["Second", "--ready"]);
    repo.ok(&["run", "--once"]);
    let run_of = |id: i64| repo.show(id)["runs"][0]["id"].as_i64().unwrap();
    let (run1, run2) = (run_of(first), run_of(second));
    assert_ne!(run1, run2);
    // the right pair prints the transcript
    let out = repo.ok(&["log", &first.to_string(), "--run", &run1.to_string()]);
    assert!(out.contains("hello.txt"), "{out}");
    // another issue's run is refused, not printed
    let out = repo.run(&["log", &first.to_string(), "--run", &run2.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "run {run2} belongs to issue #{second}, not #{first}"
        )),
        "{err}"
    );
    // so is a run that does not exist
    let out = repo.run(&["log", &first.to_string(), "--run", "999"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run 999 not found"), "{err}");
}

#[test]
fn a_deleted_worktree_is_reported_as_such_not_as_a_missing_git() {
    let repo = TestRepo::new();
    let id = repo.add(&["Deletes its worktree [scenario:delete-worktree]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    let error = issue["runs"][0]["error"].as_str().unwrap().to_string();
    let worktree = repo.root.join(format!(".autopilot/worktrees/issue-{id}"));
    assert!(
        error.contains(&format!(
            "the directory {} does not exist",
            worktree.display()
        )),
        "{error}"
    );
    assert!(!error.contains("is git installed"), "{error}");
    // git that really is missing is still called so
    let out = repo
        .cmd(&["list"])
        .env("PATH", repo.dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is git installed and on PATH?"), "{err}");
}

#[test]
fn a_database_path_that_is_not_a_regular_file_is_named_for_what_it_is() {
    let repo = TestRepo::new();
    let fifo = repo.dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let cases = [
        (
            fifo.to_str().unwrap(),
            "is a FIFO (named pipe), not a database file",
        ),
        (
            "/dev/null",
            "/dev/null is a character device, not a database file",
        ),
        (
            repo.dir.path().to_str().unwrap(),
            "is a directory, not a database file",
        ),
    ];
    for (db, says) in cases {
        let err = repo.fails(&["--db", db, "list"]);
        assert!(err.contains(says), "{db}: {err}");
        assert!(!err.contains("disk full"), "{db}: {err}");
    }
}

#[test]
fn agents_are_between_1_and_64_and_a_process_out_of_files_says_so() {
    let repo = TestRepo::new();
    repo.add(&["Waits", "--ready"]);
    for (n, says) in [
        ("100000", "at most 64 agents per process"),
        ("65", "at most 64 agents per process"),
        ("0", "0 runs no agent"),
    ] {
        let out = repo.run(&["run", "--once", "--agents", n]);
        assert_eq!(out.status.code(), Some(2), "--agents {n}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "--agents {n}: {err}");
    }
    std::fs::write(repo.root.join("autopilot.toml"), "[runner]\nslots = 500\n").unwrap();
    let err = repo.fails(&["run", "--once"]);
    assert!(
        err.contains("autopilot.toml: [runner] slots = 500: at most 64"),
        "{err}"
    );
    std::fs::remove_file(repo.root.join("autopilot.toml")).unwrap();
    let help = repo.ok(&["--help"]);
    assert!(help.contains("1 to 64"), "{help}");
    assert_eq!(repo.status(1), "ready", "nothing ran");
    // 64 slots in a process allowed 40 open files: the slots that cannot open the database
    // say that the process is out of file descriptors, not that a file is not writable
    let child = Command::new("prlimit")
        .arg("--nofile=40")
        .arg(bin())
        .args(["run", "--once", "--agents", "64"])
        .current_dir(&repo.root)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(repo.env_vars())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) runs");
    let out = support::wait_output(child, std::time::Duration::from_secs(60));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("out of file descriptors"), "{err}");
    assert!(!err.contains("writable"), "{err}");
}

#[test]
fn a_negative_limit_is_an_error_not_no_limit() {
    let repo = TestRepo::new().with_env("AUTOPILOT_STALL_MINUTES", "-5");
    let err = repo.fails(&["list"]);
    assert!(
        err.contains("AUTOPILOT_STALL_MINUTES = -5: a limit is 0 (none) or a positive number"),
        "{err}"
    );
    let repo = TestRepo::new();
    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[runner]\nmax_run_minutes = -1.5\n",
    )
    .unwrap();
    let err = repo.fails(&["list"]);
    assert!(
        err.contains("autopilot.toml: [runner] max_run_minutes = -1.5"),
        "{err}"
    );
    // zero still means no limit
    let repo = TestRepo::new().with_env("AUTOPILOT_STALL_MINUTES", "0");
    repo.ok(&["list"]);
}

#[test]
fn a_theme_that_cannot_be_read_or_parsed_stops_the_tui_at_start() {
    let repo = TestRepo::new();
    let broken = repo.dir.path().join("broken.toml");
    std::fs::write(&broken, "[styles\ntext = ").unwrap();
    let missing = repo.dir.path().join("missing.toml");
    for (theme, says) in [
        (
            broken.to_str().unwrap().to_string(),
            format!("{}: theme:", broken.display()),
        ),
        (
            missing.to_str().unwrap().to_string(),
            "unknown theme".to_string(),
        ),
        ("nope".to_string(), "unknown theme 'nope'".to_string()),
    ] {
        // the TUI would need a terminal: it must fail before it wants one
        let out = repo.run(&["--theme", &theme]);
        assert_eq!(out.status.code(), Some(1), "{theme}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&says), "{theme}: {err}");
    }
    let out = repo
        .cmd(&[])
        .env("AUTOPILOT_THEME", "nope")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown theme 'nope'"));
}

/// `list --json` and `show --json` with what varies between runs (paths, times, session ids,
/// commit ids) replaced by placeholders.
fn normalized_json(repo: &TestRepo, args: &[&str]) -> String {
    let out = repo.ok(args);
    let mut text = out.replace(&repo.root.display().to_string(), "<repo>");
    // (where it starts, how long the varying part is after that, its placeholder)
    let varying: [(&str, Option<usize>, &str); 3] = [
        ("\"2026-", Some(24), "\"<time>\""),
        ("\"fake-", None, "\"<session>\""),
        ("Committed ", Some(20), "Committed <sha>"),
    ];
    for (start, len, placeholder) in varying {
        let mut from = 0;
        while let Some(i) = text[from..].find(start).map(|i| i + from) {
            let end = match len {
                Some(n) => i + n + if start.starts_with('"') { 2 } else { 0 },
                None => i + 1 + text[i + 1..].find('"').unwrap() + 1,
            };
            text.replace_range(i..end, placeholder);
            from = i + placeholder.len();
        }
    }
    text
}

#[test]
fn json_output_is_pinned_byte_for_byte() {
    let repo = TestRepo::new();
    let templates = repo.root.join(".autopilot/templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(templates.join("bugfix.md"), "Reproduce it first.\n").unwrap();
    let id = repo.add(&[
        "Say hello",
        "--ready",
        "--priority",
        "3",
        "--kind",
        "bug",
        "--body",
        "Create hello.txt",
        "--model",
        "sonnet",
        "--effort",
        "high",
        "--assignee",
        "ana",
        "--agent",
        "claude",
        "--template",
        "bugfix",
    ]);
    repo.add(&["Second", "--depends-on", &id.to_string()]);
    repo.ok(&["edit", &id.to_string(), "--budget", "2.5"]);
    repo.ok(&["comment", &id.to_string(), "a note", "--author", "alice"]);
    repo.ok(&["run", "--once"]);
    let show = normalized_json(&repo, &["show", &id.to_string(), "--json"]);
    assert_eq!(show, SHOW_JSON, "show --json changed:\n{show}");
    let list = normalized_json(&repo, &["list", "--json"]);
    assert_eq!(list, LIST_JSON, "list --json changed:\n{list}");
}

const SHOW_JSON: &str = r#"{
  "agent": "claude",
  "archived": false,
  "assignee": "ana",
  "base": "main",
  "blocks": [
    2
  ],
  "body": "Create hello.txt",
  "branch": "autopilot/issue-1-say-hello",
  "budget_usd": 2.5,
  "children": [],
  "claimed_by": null,
  "comments": [
    {
      "author": "alice",
      "author_kind": "human",
      "body": "a note",
      "created_at": "<time>",
      "id": 1
    },
    {
      "author": "test-agent-1",
      "author_kind": "agent",
      "body": "Implemented hello.txt.",
      "created_at": "<time>",
      "id": 2
    },
    {
      "author": "autopilot",
      "author_kind": "system",
      "body": "Committed <sha> on branch autopilot/issue-1-say-hello (base main).",
      "created_at": "<time>",
      "id": 3
    }
  ],
  "cost_usd": 0.102688,
  "created_at": "<time>",
  "depends_on": [],
  "diff": {
    "added": 1,
    "files": 1,
    "removed": 0
  },
  "effort": "high",
  "id": 1,
  "kind": "bug",
  "model": "sonnet",
  "needs": [],
  "not_before": null,
  "parent": null,
  "pr_url": null,
  "previous": null,
  "priority": 3,
  "repeats_every": null,
  "runs": [
    {
      "agent_id": "test-agent-1",
      "cache_read_tokens": 0,
      "cache_write_tokens": 0,
      "cost_usd": 0.102688,
      "duration_ms": 237,
      "ended_at": "<time>",
      "error": null,
      "estimate_usd": 0.12666,
      "exit_code": 0,
      "failure": null,
      "id": 1,
      "input_tokens": 25322,
      "model": "claude-opus-5-5",
      "outcome": "implemented",
      "output_tokens": 70,
      "persona": null,
      "role": "implement",
      "session_id": "<session>",
      "slot": 0,
      "started_at": "<time>",
      "template": "bugfix",
      "transcript": "db:runs/1",
      "transcript_lines": 6,
      "turns": 2
    }
  ],
  "session_id": "<session>",
  "source_url": null,
  "status": "in_review",
  "template": "bugfix",
  "title": "Say hello",
  "updated_at": "<time>",
  "worktree": "<repo>/.autopilot/worktrees/issue-1"
}
"#;
const LIST_JSON: &str = r#"[
  {
    "agent": "claude",
    "archived": false,
    "assignee": "ana",
    "base": "main",
    "body": "Create hello.txt",
    "branch": "autopilot/issue-1-say-hello",
    "budget_usd": 2.5,
    "claimed_by": null,
    "created_at": "<time>",
    "depends_on": [],
    "diff": {
      "added": 1,
      "files": 1,
      "removed": 0
    },
    "effort": "high",
    "id": 1,
    "kind": "bug",
    "model": "sonnet",
    "not_before": null,
    "parent": null,
    "pr_url": null,
    "previous": null,
    "priority": 3,
    "repeats_every": null,
    "session_id": "<session>",
    "source_url": null,
    "status": "in_review",
    "template": "bugfix",
    "title": "Say hello",
    "updated_at": "<time>",
    "worktree": "<repo>/.autopilot/worktrees/issue-1"
  },
  {
    "agent": null,
    "archived": false,
    "assignee": null,
    "base": null,
    "body": "",
    "branch": null,
    "budget_usd": null,
    "claimed_by": null,
    "created_at": "<time>",
    "depends_on": [
      1
    ],
    "diff": null,
    "effort": null,
    "id": 2,
    "kind": "feature",
    "model": null,
    "not_before": null,
    "parent": null,
    "pr_url": null,
    "previous": null,
    "priority": 0,
    "repeats_every": null,
    "session_id": null,
    "source_url": null,
    "status": "backlog",
    "template": null,
    "title": "Second",
    "updated_at": "<time>",
    "worktree": null
  }
]
"#;
