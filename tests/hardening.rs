//! The ways a hostile agent, a long thread or a busy database used to stall the queue or
//! misplace work: real binaries, real git repositories, real SQLite files.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::{alive, git, last_comment, read_pid, wait_output, TestRepo};

/// The repo with a shell command as its agent instead of the fake Claude.
fn command_agent(repo: TestRepo, script: &str) -> TestRepo {
    repo.with_env("AUTOPILOT_CLAUDE_BIN", "")
        .with_env("AUTOPILOT_AGENT_COMMAND", script)
}

/// A 2 MB answer, unique enough to find whole in a prompt.
fn huge_answer() -> String {
    let mut text = String::from("ANSWER: huge\n");
    for i in 0..40_000 {
        text.push_str(&format!("line {i:06} of a very long answer\n"));
    }
    text.push_str("END-OF-ANSWER");
    assert!(text.len() > 1_300_000);
    text
}

#[test]
fn a_thread_over_128_kib_still_starts_a_run_with_the_answer_whole() {
    let repo = TestRepo::new();
    let id = repo.add(&["Pick a database [scenario:ask]", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "blocked");
    let answer = huge_answer();
    repo.ok_with_stdin(&["comment", &id.to_string(), "-"], answer.as_bytes());
    // A second long answer makes the thread over 2 MB; the older one is shortened.
    let again = answer.replace("huge", "again");
    repo.ok_with_stdin(&["comment", &id.to_string(), "-"], again.as_bytes());
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let prompt = repo.agent_prompts().pop().unwrap();
    assert!(
        prompt.contains(&answer) && prompt.contains(&again),
        "the newest human comments go in whole"
    );
    assert!(prompt.contains("Which database should the cache use"));
}

#[test]
fn a_command_agent_gets_a_long_prompt_on_stdin_and_in_a_private_file() {
    let repo = TestRepo::new();
    let home = repo.dir.path().display().to_string();
    let script = format!(
        "cat > '{home}/stdin.txt'; cp \"$AUTOPILOT_PROMPT_FILE\" '{home}/file.txt'; \
         stat -c %a \"$AUTOPILOT_PROMPT_FILE\" > '{home}/mode.txt'; \
         printf %s \"${{AUTOPILOT_PROMPT-unset}}\" > '{home}/env.txt'; \
         echo \"$AUTOPILOT_PROMPT_FILE\" > '{home}/path.txt'; date +%s%N >> out.txt; echo done"
    );
    let repo = command_agent(repo, &script);
    let id = repo.add(&["Small first", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    let read = |f: &str| std::fs::read_to_string(repo.dir.path().join(f)).unwrap();
    assert!(read("stdin.txt").contains("Title: Small first"));
    assert_eq!(read("stdin.txt"), read("file.txt"));
    assert_eq!(
        read("env.txt"),
        read("stdin.txt"),
        "a small prompt is in the environment too"
    );
    assert_eq!(read("mode.txt").trim(), "600");
    assert!(
        !std::path::Path::new(read("path.txt").trim()).exists(),
        "the prompt file goes with the run"
    );

    let review = "more ".repeat(60_000);
    repo.ok_with_stdin(
        &["request-changes", &id.to_string(), "-"],
        review.as_bytes(),
    );
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    let stdin = read("stdin.txt");
    assert!(stdin.len() > 300_000 && stdin.contains(review.trim_end()));
    assert_eq!(stdin, read("file.txt"));
    assert_eq!(
        read("env.txt"),
        "unset",
        "too long for one environment string"
    );
}

#[test]
fn a_run_ends_when_the_agent_exits_and_what_it_left_running_is_killed() {
    let repo = TestRepo::new();
    let home = repo.dir.path().display().to_string();
    // Both background children hold stdout open; the second escapes the process group.
    let script = format!(
        "echo x > f; sleep 300 & echo $! > '{home}/bg.pid'; \
         setsid sleep 301 & echo $! > '{home}/setsid.pid'; echo done"
    );
    let repo = command_agent(repo, &script).with_env("AUTOPILOT_STALL_MINUTES", "10");
    let id = repo.add(&["Leave a child behind", "--ready"]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(issue["runs"][0]["outcome"], "implemented");
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(git(&repo.root, &["show", &format!("{branch}:f")]), "x");
    for f in ["bg.pid", "setsid.pid"] {
        let pid = read_pid(&repo.dir.path().join(f)).unwrap();
        assert!(!alive(pid), "{f}: process {pid} outlived the run");
    }
    let log = repo.ok(&["log", &id.to_string()]);
    assert!(log.contains("done"), "{log}");
}

#[test]
fn transcript_lines_survive_a_database_locked_past_the_timeout() {
    let repo = TestRepo::new();
    let gate = repo.dir.path().join("gate");
    let repo = repo
        .with_env("AUTOPILOT_LOCK_TIMEOUT_MS", "300")
        .with_env("FAKE_CLAUDE_GATE", gate.to_str().unwrap())
        .with_env("FAKE_CLAUDE_DELAY", "0.01");
    let id = repo.add(&["Slow work [scenario:slow]", "--ready"]);
    let mut runner = repo
        .cmd(&["run", "--once"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    let stderr = runner.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines_tx.send(line);
        }
    });
    support::wait_for(
        "the first line to be stored",
        Duration::from_secs(30),
        || (repo.transcript(1).len() == 1).then_some(()),
    );
    // Another process takes the write lock and keeps it past the timeout while the agent
    // prints the rest and exits.
    let blocker = rusqlite::Connection::open(repo.db()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    std::fs::write(&gate, "").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok(line) if line.contains("agent output of run") => break,
            Ok(line) => seen.push(line),
            Err(e) => panic!("the runner never reported the refused write ({e}); it said {seen:?}"),
        }
    }
    blocker.execute_batch("COMMIT").unwrap();
    let out = wait_output(runner, Duration::from_secs(60));
    assert!(out.status.success());
    assert_eq!(repo.status(id), "in_review");
    let lines = repo.transcript(1);
    assert_eq!(lines.len(), 7, "every line is stored once the lock is gone");
    for line in &lines {
        let text = String::from_utf8_lossy(line);
        assert!(
            serde_json::from_str::<serde_json::Value>(&text).is_ok(),
            "an agent line, not a marker: {text}"
        );
    }
    assert!(String::from_utf8_lossy(&lines[6]).contains("\"type\":\"result\""));
}

/// The system comment that closed the newest run.
#[test]
fn log_shows_a_command_agents_output_as_its_pane_did_even_when_it_looks_like_claudes() {
    // Read as Claude's stream, these lines would become a session line and a failed result:
    // a command agent prints text, and `log` renders it with the adapter that ran it.
    let script = r#"echo '{"type":"system","subtype":"init","session_id":"s-1"}'; \
         echo '{"type":"result","subtype":"success","is_error":true}'; echo x > f; echo done"#;
    let repo = command_agent(TestRepo::new(), script);
    let id = repo.add(&["Prints JSON", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    let log = repo.ok(&["log", &id.to_string()]);
    assert_eq!(
        log,
        "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-1\"}\n\
         {\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true}\ndone\n"
    );
    // Claude's output renders without Claude installed: reading never starts the agent.
    let claude = TestRepo::new();
    let id = claude.add(&["Plain", "--ready"]);
    claude.ok(&["run", "--once"]);
    let shown = claude.ok(&["log", &id.to_string()]);
    assert!(shown.contains("● session"), "{shown}");
    let missing = claude.with_env("AUTOPILOT_CLAUDE_BIN", "/nonexistent/claude");
    assert_eq!(missing.ok(&["log", &id.to_string()]), shown);
}

fn note(repo: &TestRepo, id: i64) -> String {
    last_comment(&repo.show(id))
}

#[test]
fn work_left_on_a_detached_head_is_brought_back_onto_the_issue_branch() {
    let repo = command_agent(
        TestRepo::new(),
        "git checkout -q --detach && echo x > f && echo done",
    );
    let id = repo.add(&["Detach", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(git(&repo.root, &["show", &format!("{branch}:f")]), "x");
    let wt = issue["worktree"].as_str().unwrap();
    assert_eq!(
        git(std::path::Path::new(wt), &["symbolic-ref", "HEAD"]),
        format!("refs/heads/{branch}")
    );
    let text = note(&repo, id);
    assert!(
        text.contains("detached HEAD") && text.contains("brought back onto"),
        "{text}"
    );
}

#[test]
fn commits_the_agent_made_on_a_branch_of_its_own_are_kept_and_reported() {
    let repo = command_agent(
        TestRepo::new(),
        "git checkout -q -b side && echo y > g && git add g && \
         git -c user.name=agent -c user.email=a@b commit -qm 'agent commit' && echo z > h && echo done",
    );
    let id = repo.add(&["Own commits", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let branch = issue["branch"].as_str().unwrap();
    let log = git(
        &repo.root,
        &["log", "--format=%s", &format!("main..{branch}")],
    );
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(log.lines().nth(1) == Some("agent commit"), "{log}");
    assert_eq!(git(&repo.root, &["show", &format!("{branch}:h")]), "z");
    let text = note(&repo, id);
    assert!(
        text.contains("1 commit(s) of its own") && text.contains("branch side"),
        "{text}"
    );
}

#[test]
fn work_left_on_an_unrelated_branch_is_not_committed_and_says_where_it_is() {
    let repo = TestRepo::new();
    git(&repo.root, &["checkout", "-q", "-b", "other"]);
    std::fs::write(repo.root.join("other.txt"), "other\n").unwrap();
    git(&repo.root, &["add", "other.txt"]);
    git(&repo.root, &["commit", "-qm", "other work"]);
    git(&repo.root, &["checkout", "-q", "main"]);
    let other_tip = git(&repo.root, &["rev-parse", "other"]);
    let repo = command_agent(repo, "git checkout -q other && echo w > f && echo done");
    let id = repo.add(&["Wander off", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["rev-parse", branch]),
        git(&repo.root, &["rev-parse", "main"])
    );
    assert_eq!(
        git(&repo.root, &["rev-parse", "other"]),
        other_tip,
        "nothing committed there"
    );
    let text = note(&repo, id);
    assert!(
        text.contains("branch other")
            && text.contains("Nothing was committed")
            && !text.contains("Committed"),
        "{text}"
    );
}

#[test]
fn a_fresh_database_never_reuses_a_branch_or_worktree_it_did_not_create() {
    let repo = TestRepo::new();
    let first = repo.add(&["Say hello", "--ready"]);
    repo.ok(&["run", "--once"]);
    let old_branch = repo.show(first)["branch"].as_str().unwrap().to_string();
    let old_tip = git(&repo.root, &["rev-parse", &old_branch]);

    // The database is moved aside; its worktree stays.
    std::fs::rename(repo.db(), repo.dir.path().join("old.db")).unwrap();
    let id = repo.add(&["Say hello", "--ready"]);
    assert_eq!(id, first, "a new database numbers from 1 again");
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let branch = issue["branch"].as_str().unwrap().to_string();
    assert_eq!(branch, format!("{old_branch}-2"));
    assert!(issue["worktree"]
        .as_str()
        .unwrap()
        .ends_with(&format!("issue-{id}-2")));
    assert_eq!(
        git(&repo.root, &["rev-parse", &old_branch]),
        old_tip,
        "the old branch is untouched"
    );
    assert_eq!(
        git(
            &repo.root,
            &["rev-list", "--count", &format!("main..{branch}")]
        ),
        "1"
    );

    // All of .autopilot/ is deleted: the branches stay, so the next name is taken too.
    std::fs::remove_dir_all(repo.root.join(".autopilot")).unwrap();
    repo.add(&["Say hello", "--ready"]);
    repo.ok(&["run", "--once"]);
    let third = repo.show(1);
    assert_eq!(third["status"], "in_review", "{}", last_comment(&third));
    assert_eq!(third["branch"], format!("{old_branch}-3"));
    assert_eq!(git(&repo.root, &["rev-parse", &old_branch]), old_tip);
}

#[test]
fn a_renamed_base_is_named_with_the_command_that_fixes_it() {
    let repo = TestRepo::new();
    let id = repo.add(&["Say hello", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.show(id)["base"], "main");
    git(&repo.root, &["branch", "-m", "main", "trunk"]);
    repo.ok(&["request-changes", &id.to_string(), "again please"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "blocked");
    let text = note(&repo, id);
    assert!(
        text.contains("\"main\"")
            && text.contains(&format!("autopilot-tui edit {id} --base BRANCH")),
        "{text}"
    );
    let err = repo.fails(&["edit", &id.to_string(), "--base", "nope"]);
    assert!(err.contains("\"nope\" is not a branch"), "{err}");
    assert_eq!(
        repo.show(id)["base"],
        "main",
        "a refused edit changes nothing"
    );
    repo.ok(&["edit", &id.to_string(), "--base", "trunk"]);
    repo.ok(&["comment", &id.to_string(), "base fixed"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(issue["base"], "trunk");
}
