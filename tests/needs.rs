//! Structured questions through the real binary: an agent's `NEEDS:` lines, `answer` and its
//! refusals (which change nothing), and a secret answer that reaches the next run's
//! environment but no comment, event, transcript or byte of the database.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::process::Stdio;

use support::{last_comment, TestRepo};

const SECRET: &str = "zebra-Secret-9931-quartz";

/// A command agent: without `$DB_PASS` it asks for the database, listing its fields (and a
/// refused one); with it, it records what it got outside the worktree, echoes it (the
/// transcript must not keep it) and does the work.
const AGENT: &str = r#"#!/bin/sh
if [ -z "${DB_PASS:-}" ]; then
  echo "Looking at the config"
  echo "BLOCKED: Which database should I use?"
  echo "NEEDS: DB_URL — the staging database URL"
  echo "NEEDS: DB_PASS (secret) — its password"
  echo "NEEDS: LD_PRELOAD — not a field"
  exit 0
fi
printf '%s' "$DB_PASS" > "$AGENT_DIR/seen-pass"
printf '%s' "${DB_URL-unset}" > "$AGENT_DIR/seen-url"
echo "connecting with $DB_PASS"
echo "connecting with $DB_PASS" >&2
echo connected > db.txt
echo "Connected"
"#;

fn repo_with_agent() -> (TestRepo, std::path::PathBuf) {
    let base = TestRepo::new();
    let dir = base.dir.path().join("agent-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let script = base.dir.path().join("agent.sh");
    std::fs::write(&script, AGENT).unwrap();
    let repo = base
        .with_env("AUTOPILOT_CLAUDE_BIN", "")
        .with_env(
            "AUTOPILOT_AGENT_COMMAND",
            &format!("sh '{}'", script.display()),
        )
        .with_env("AGENT_DIR", &dir.display().to_string());
    (repo, dir)
}

/// Runs `answer` with `stdin`; its output.
fn answer(repo: &TestRepo, args: &[&str], stdin: &str) -> std::process::Output {
    let mut cmd = repo.cmd(&[&["answer"], args].concat());
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    support::wait_output(child, std::time::Duration::from_secs(60))
}

/// Every byte of the database, its WAL and shared memory, as they are on disk.
fn db_bytes(repo: &TestRepo) -> Vec<u8> {
    let db = repo.db();
    ["", "-wal", "-shm"]
        .iter()
        .flat_map(|s| std::fs::read(format!("{}{s}", db.display())).unwrap_or_default())
        .collect()
}

fn holds(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_secret_answer_reaches_the_next_run_only_and_never_the_database() {
    let (repo, dir) = repo_with_agent();
    let id = repo.add(&["Connect the database", "--ready"]);
    let other = repo.add(&["Not blocked"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked", "{}", last_comment(&issue));
    assert!(last_comment(&issue).contains("NEEDS: DB_PASS (secret)"));
    // `show --json` (and the API's GET) lists the open question's fields, never a value.
    assert_eq!(
        issue["needs"],
        serde_json::json!([
            {"name": "DB_URL", "description": "the staging database URL", "secret": false},
            {"name": "DB_PASS", "description": "its password", "secret": true},
        ])
    );

    let listed = repo.ok(&["answer", &id.to_string()]);
    assert!(
        listed.contains("DB_URL  the staging database URL"),
        "{listed}"
    );
    assert!(
        listed.contains("DB_PASS (secret)  its password"),
        "{listed}"
    );
    assert!(
        !listed.contains("LD_PRELOAD"),
        "a refused name is no field: {listed}"
    );

    // Every refusal says why and changes nothing.
    let before = repo.show(id);
    let sid = id.to_string();
    for (args, says) in [
        (vec![sid.as_str(), "DB_URL=pg://x"], "also needs DB_PASS"),
        (vec![sid.as_str(), "DB_URL"], "is not NAME=VALUE"),
        (
            vec![sid.as_str(), "DB_URL=pg://x", "DB_PASS=p", "COLOUR=red"],
            "no field \"COLOUR\"",
        ),
        (
            vec![sid.as_str(), "PATH=/tmp", "DB_PASS=p"],
            "PATH is refused",
        ),
        (
            vec![sid.as_str(), "DB_URL=pg://x", "DB_PASS=-"],
            "empty value",
        ),
    ] {
        let out = answer(&repo, &args, "");
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(err.contains("nothing was answered"), "{err}");
    }
    let err = repo.fails(&["answer", &other.to_string(), "DB_URL=x"]);
    assert!(err.contains("not blocked"), "{err}");
    assert_eq!(repo.show(id), before, "refusals changed nothing");

    let out = answer(
        &repo,
        &[&sid, "DB_URL=pg://staging/app", "DB_PASS=-"],
        &format!("{SECRET}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issue = repo.show(id);
    assert_eq!(issue["status"], "ready");
    let thread = last_comment(&issue);
    assert!(thread.contains("- DB_URL: pg://staging/app"), "{thread}");
    assert!(thread.contains("- DB_PASS: provided (secret"), "{thread}");
    assert!(!thread.contains(SECRET), "{thread}");
    assert!(
        holds(&db_bytes(&repo), SECRET),
        "until a claim takes it, the secret waits in the database (this check can see it)"
    );

    repo.ok(&["run", "--once"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("seen-pass")).unwrap(),
        SECRET
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("seen-url")).unwrap(),
        "unset",
        "ordinary fields are in the thread, not the environment"
    );
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let shown = repo.ok(&["show", &sid, "--json"]);
    assert!(!shown.contains(SECRET), "{shown}");
    let log = repo.ok(&["log", &sid, "--raw"]);
    assert!(log.contains("connecting with [REDACTED:answer]"), "{log}");
    assert!(!log.contains(SECRET), "{log}");
    let runs = issue["runs"].as_array().unwrap();
    let last_run = runs.last().unwrap()["id"].as_i64().unwrap();
    assert!(repo.transcript(last_run).iter().all(|l| !holds(l, SECRET)));
    let bytes = db_bytes(&repo);
    assert!(!bytes.is_empty());
    assert!(!holds(&bytes, SECRET), "the database files hold the secret");

    // The secret went with that claim: the next run of the issue does not get it.
    std::fs::remove_file(dir.join("seen-pass")).unwrap();
    repo.ok(&["request-changes", &sid, "once more"]);
    repo.ok(&["run", "--once"]);
    assert!(
        !dir.join("seen-pass").exists(),
        "a later run got the secret"
    );
}
