//! Getting the queue going again through the real binary: a rate limit's hold that is bounded
//! and lifted by `resume`, and `stop` on an issue whose runner was killed.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use autopilot_tui::domain::{format_millis, now_millis};
use autopilot_tui::store::sql::Exec;
use support::{alive, last_comment, read_pid, signal, wait_for, TestRepo};

/// A settings row, read on the queue's backend.
fn setting(repo: &TestRepo, key: &str) -> Option<String> {
    repo.sql()
        .query_opt(
            "SELECT value FROM settings WHERE key = ?1",
            &[key.into()],
            |r| r.get(0),
        )
        .unwrap()
}

/// Agent runs so far (`doctor` asks the fake agent for its version too).
fn agent_runs(repo: &TestRepo) -> usize {
    repo.agent_calls()
        .iter()
        .filter(|args| !args.iter().any(|a| a == "--version"))
        .count()
}

const DAY_MS: i64 = 24 * 3_600_000;

#[test]
fn a_usage_limit_resetting_in_2286_holds_a_day_and_resume_lifts_the_hold() {
    // The fake agent's usage-limit message says it resets at 9999999999 (the year 2286).
    let repo = TestRepo::new();
    let id = repo.add(&["Limited [scenario:usage-limit-once]", "--ready"]);
    let before = now_millis();
    repo.ok(&["run", "--once"]);
    let after = now_millis();
    assert_eq!(repo.status(id), "ready", "not counted as a failure");
    let until: i64 = setting(&repo, "paused_until").unwrap().parse().unwrap();
    assert!(
        (before + DAY_MS..=after + DAY_MS).contains(&until),
        "the hold ends a day from now, not in 2286: {}",
        format_millis(until)
    );
    let reason = setting(&repo, "pause_reason").unwrap();
    assert!(
        reason.contains("2286-11-20") && reason.contains("more than 24 hours away"),
        "the reason says the reset time was cut: {reason}"
    );
    let comment = last_comment(&repo.show(id));
    assert!(comment.contains("more than 24 hours away"), "{comment}");

    // doctor shows the hold with its end and its reason, and how to lift it
    let out = repo.run(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("held until {}", format_millis(until)))
            && text.contains(&reason)
            && text.contains("autopilot-tui resume"),
        "{text}"
    );
    // while held nothing is claimed
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "ready");
    assert_eq!(agent_runs(&repo), 1);

    // resume lifts the hold: the next pass claims at once
    assert_eq!(repo.ok(&["resume"]), "claiming resumed\n");
    assert_eq!(setting(&repo, "paused_until"), None);
    let text = String::from_utf8_lossy(&repo.run(&["doctor"]).stdout).into_owned();
    assert!(!text.contains("held until"), "{text}");
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    assert_eq!(agent_runs(&repo), 2);
}

#[test]
fn stop_after_the_runner_was_killed_parks_the_issue_at_once_and_kills_its_agent() {
    let repo = TestRepo::new();
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    let runner = repo.spawn_run(&[]);
    let child = wait_for("the agent's child", Duration::from_secs(30), || {
        read_pid(&repo.agent_log.join("child.pid"))
    });
    let agent = wait_for("the agent's pid", Duration::from_secs(30), || {
        read_pid(&repo.agent_log.join("agent.pid"))
    });
    let runner_pid = runner.id();
    signal(runner_pid, "KILL");
    runner.wait(Duration::from_secs(10));
    assert!(
        alive(agent) && alive(child),
        "kill -9 leaves the agent behind"
    );
    assert_eq!(repo.status(id), "in_progress");

    // doctor sees the issue nobody works on any more
    let out = repo.run(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!("✗ #{id}: in_progress, but no runner works on it"))
            && text.contains(&format!("process {runner_pid}"))
            && text.contains(&format!("autopilot-tui stop {id}")),
        "{text}"
    );

    // no runner is left to see a request: stop recovers the issue itself, at once
    let out = repo.ok(&["stop", &id.to_string()]);
    assert!(
        out.contains("is blocked") && out.contains("is gone"),
        "{out}"
    );
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(issue["claimed_by"], serde_json::Value::Null);
    assert_eq!(issue["runs"][0]["outcome"], "interrupted");
    assert!(issue["runs"][0]["ended_at"].is_string());
    let comment = &issue["comments"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(comment["author_kind"], "system");
    let body = comment["body"].as_str().unwrap();
    assert!(
        body.contains(&format!("process {runner_pid}")) && body.contains("Stopped by tester"),
        "{body}"
    );
    assert!(!alive(agent), "the orphaned agent was killed");
    assert!(!alive(child), "and its child with it");
    // doctor is content again
    let out = repo.run(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
}
