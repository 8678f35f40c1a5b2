//! Scheduled and repeating issues (`--at`, `--every`) with the real binary and the fake agent.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{wait_for, TestRepo};

const DAY_MS: i64 = 24 * 3_600_000;

fn millis(rfc3339: &serde_json::Value) -> i64 {
    let text = rfc3339
        .as_str()
        .unwrap_or_else(|| panic!("a time: {rfc3339}"));
    text.parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .as_millisecond()
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[test]
fn an_issue_scheduled_for_later_is_not_claimed_until_its_time_is_cleared() {
    let repo = TestRepo::new();
    let later = repo.add(&[
        "Later",
        "--body",
        "Create hello.txt",
        "--ready",
        "--at",
        "+1h",
    ]);
    let before = now_ms();
    let shown = repo.show(later);
    let at = millis(&shown["not_before"]);
    assert!(
        (before + 3_590_000..=before + 3_600_000).contains(&at),
        "{shown}"
    );
    let plain = repo.add(&["Now", "--body", "Create hello.txt", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(plain), "in_review");
    assert_eq!(repo.status(later), "ready", "not before its time");
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(later), "ready");
    let text = repo.ok(&["show", &later.to_string()]);
    assert!(text.contains("not before: "), "{text}");

    repo.ok(&["edit", &later.to_string(), "--at", ""]);
    assert!(repo.show(later)["not_before"].is_null());
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(later), "in_review");
}

#[test]
fn a_running_runner_claims_a_scheduled_issue_soon_after_its_time_without_a_shorter_poll() {
    // The default poll (15 s): the claim must come from the nap being capped by the time.
    let repo = TestRepo::new();
    let id = repo.add(&[
        "Soon",
        "--body",
        "Create hello.txt",
        "--ready",
        "--at",
        "+3s",
    ]);
    let at = millis(&repo.show(id)["not_before"]);
    let _runner = repo.spawn_run(&["--agents", "1"]);
    wait_for(
        "the scheduled issue is claimed",
        Duration::from_secs(14),
        || (repo.status(id) != "ready").then_some(()),
    );
    let claimed = now_ms();
    assert!(claimed >= at, "claimed {} ms before its time", at - claimed);
    assert!(
        claimed - at < 3_000,
        "claimed {} ms after its time (the poll is 15 s)",
        claimed - at
    );
}

#[test]
fn a_repeating_issue_accepted_queues_its_next_occurrence_linked_to_it() {
    let repo = TestRepo::new();
    let id = repo.add(&[
        "Daily",
        "--body",
        "Create hello.txt",
        "--ready",
        "--every",
        "1d",
    ]);
    assert_eq!(repo.show(id)["repeats_every"], "1d");
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    let done_at = now_ms();
    repo.ok(&["move", &id.to_string(), "done"]);

    let list: serde_json::Value =
        serde_json::from_str(&repo.ok(&["list", "--json"])).expect("json");
    let copies: Vec<&serde_json::Value> = list
        .as_array()
        .expect("array")
        .iter()
        .filter(|i| i["previous"] == id)
        .collect();
    assert_eq!(copies.len(), 1, "{list}");
    let copy = copies[0]["id"].as_i64().expect("id");
    let shown = repo.show(copy);
    assert_eq!(shown["title"], "Daily");
    assert_eq!(shown["status"], "ready");
    assert_eq!(shown["repeats_every"], "1d");
    let at = millis(&shown["not_before"]);
    assert!(
        (done_at + DAY_MS..=now_ms() + DAY_MS).contains(&at),
        "{shown}"
    );
    let thread = shown["comments"].to_string();
    assert!(
        thread.contains(&format!("Repeats #{id} (every 1d)")),
        "{thread}"
    );
    // Not claimed before its time; stopping the repetition keeps the copy but no more.
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(copy), "ready");
    repo.ok(&["edit", &copy.to_string(), "--every", "none"]);
    assert!(repo.show(copy)["repeats_every"].is_null());
}

#[test]
fn bad_times_and_durations_are_refused_naming_the_accepted_forms() {
    let repo = TestRepo::new();
    for bad in ["tomorrow", "+2", "2026-12-24", "+1y"] {
        let err = repo.fails(&["add", "T", "--at", bad]);
        assert!(
            err.contains("not a time") && err.contains("RFC 3339") && err.contains("+2h"),
            "{bad}: {err}"
        );
    }
    for bad in ["daily", "10s", "0m"] {
        let err = repo.fails(&["add", "T", "--every", bad]);
        assert!(
            err.contains("--every") && err.contains("1d"),
            "{bad}: {err}"
        );
    }
    let id = repo.add(&["Kept"]);
    let err = repo.fails(&["edit", &id.to_string(), "--at", "soon"]);
    assert!(err.contains("nothing was changed"), "{err}");
    let list: serde_json::Value =
        serde_json::from_str(&repo.ok(&["list", "--json"])).expect("json");
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "nothing was added: {list}"
    );
    // A time in the past is accepted: claimable at once.
    let past = repo.add(&[
        "Past",
        "--body",
        "Create hello.txt",
        "--ready",
        "--at",
        "2020-01-01T00:00:00Z",
    ]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(past), "in_review");
}
