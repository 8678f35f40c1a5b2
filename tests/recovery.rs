//! Getting the queue going again through the real binary: a rate limit's hold that is bounded
//! and lifted by `resume`, and `stop` on an issue whose runner was killed.

#![allow(clippy::unwrap_used)]

mod support;

use autopilot_tui::domain::{format_millis, now_millis};
use support::{last_comment, TestRepo};

fn db(repo: &TestRepo) -> rusqlite::Connection {
    rusqlite::Connection::open(repo.db()).unwrap()
}

fn setting(repo: &TestRepo, key: &str) -> Option<String> {
    db(repo)
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .ok()
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
