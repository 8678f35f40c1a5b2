//! `[notify] command` through the real binary: a real git repo, the fake agent, and a notify
//! command (a shell script) that writes its environment to files.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{alive, read_pid, TestRepo};

/// A script that writes each variable it is given to `$NOTIFY_DIR/<issue>-<event>/<name>`.
const RECORD: &str = r#"#!/bin/sh
d="$NOTIFY_DIR/$AUTOPILOT_ISSUE_ID-$AUTOPILOT_EVENT"
mkdir -p "$d"
printf '%s' "$AUTOPILOT_EVENT" > "$d/event"
printf '%s' "$AUTOPILOT_ISSUE_ID" > "$d/id"
printf '%s' "$AUTOPILOT_ISSUE_TITLE" > "$d/title"
printf '%s' "$AUTOPILOT_QUESTION" > "$d/question"
echo "notified $AUTOPILOT_EVENT"
"#;

/// A repo whose `[notify]` runs `command` (after `timeout`), with `$NOTIFY_DIR` set and the
/// recording script at `$NOTIFY_DIR/../record.sh`.
fn repo_with_notify(command: &str, extra: &str) -> (TestRepo, std::path::PathBuf) {
    let repo = TestRepo::with_config(&format!("[notify]\ncommand = '''{command}'''\n{extra}\n"));
    let dir = repo.dir.path().join("notices");
    std::fs::create_dir_all(&dir).unwrap();
    let script = repo.dir.path().join("record.sh");
    std::fs::write(&script, RECORD).unwrap();
    let repo = repo.with_env("NOTIFY_DIR", &dir.display().to_string());
    (repo, dir)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn log(repo: &TestRepo) -> String {
    std::fs::read_to_string(repo.root.join(".autopilot/logs/autopilot.log")).unwrap_or_default()
}

#[test]
fn the_command_fires_on_blocked_review_and_failure_with_the_issue_in_its_environment() {
    let (repo, dir) = repo_with_notify(&format!("sh {}/record.sh", "$NOTIFY_DIR/.."), "");
    let asked = repo.add(&[
        "Pick a \u{1b}]0;pwned\u{7}cache\u{1b}[2J",
        "--body",
        "[scenario:ask]",
        "--ready",
    ]);
    let done = repo.add(&["Say hello", "--ready"]);
    let failed = repo.add(&["Break", "--body", "[scenario:fail]", "--ready"]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(repo.status(asked), "blocked");
    assert_eq!(repo.status(done), "in_review");
    assert_eq!(repo.status(failed), "blocked");

    let blocked = dir.join(format!("{asked}-blocked"));
    assert_eq!(read(&blocked, "event"), "blocked");
    assert_eq!(read(&blocked, "id"), asked.to_string());
    // the hostile title arrives without its escape sequences
    assert_eq!(read(&blocked, "title"), "Pick a cache");
    assert!(
        read(&blocked, "question")
            .contains("Which database should the cache use, Redis or Postgres?"),
        "{}",
        read(&blocked, "question")
    );
    let review = dir.join(format!("{done}-in_review"));
    assert_eq!(read(&review, "title"), "Say hello");
    let fail = dir.join(format!("{failed}-failed"));
    assert_eq!(read(&fail, "event"), "failed");
    assert!(!read(&fail, "question").is_empty());
    // one notice per move, and none for what needs nobody
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    // what the command printed is in the log
    assert!(log(&repo).contains("notified in_review"), "{}", log(&repo));
}

#[test]
fn a_hanging_command_is_killed_at_its_timeout_and_the_runner_goes_on() {
    let (repo, dir) = repo_with_notify(
        r#"sleep 1000 & echo $! > "$NOTIFY_DIR/pid-$AUTOPILOT_ISSUE_ID"; wait"#,
        "timeout_seconds = 1",
    );
    let a = repo.add(&["First", "--ready"]);
    let b = repo.add(&["Second", "--ready"]);
    let started = Instant::now();
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // both issues moved: the second did not wait for the first one's notice
    assert_eq!(repo.status(a), "in_review");
    assert_eq!(repo.status(b), "in_review");
    assert!(started.elapsed() < Duration::from_secs(60));
    for id in [a, b] {
        let pid = read_pid(&dir.join(format!("pid-{id}"))).unwrap();
        assert!(
            !alive(pid),
            "the notify command's child {pid} outlived its timeout"
        );
    }
    assert!(
        log(&repo).contains("[notify] command killed after 1 s"),
        "{}",
        log(&repo)
    );
}

#[test]
fn a_failing_command_is_logged_and_nothing_breaks() {
    let (repo, _dir) = repo_with_notify("echo boom-$AUTOPILOT_EVENT >&2; exit 3", "");
    let id = repo.add(&["Say hello", "--ready"]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(repo.status(id), "in_review");
    let log = log(&repo);
    assert!(log.contains("[notify] command failed"), "{log}");
    assert!(log.contains("boom-in_review"), "{log}");
}

#[test]
fn an_empty_notify_command_is_refused_with_the_setting_named() {
    let repo = TestRepo::with_config("[notify]\ncommand = \"  \"\n");
    let err = repo.fails(&["list"]);
    assert!(err.contains("[notify] command"), "{err}");
}

#[test]
fn an_issue_parked_over_its_cap_notifies_budget_with_the_reason() {
    let (repo, dir) = repo_with_notify(
        &format!("sh {}/record.sh", "$NOTIFY_DIR/.."),
        "[budget]\nper_issue_usd = 0.10",
    );
    let id = repo.add(&["Costly", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    repo.ok(&["request-changes", &id.to_string(), "once more"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "blocked");
    let budget = dir.join(format!("{id}-budget"));
    assert_eq!(read(&budget, "event"), "budget");
    assert!(
        read(&budget, "question").starts_with("Not run again: this issue has spent $0.10"),
        "{}",
        read(&budget, "question")
    );
}
