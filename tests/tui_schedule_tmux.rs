//! The issue editor's schedule fields in a real terminal: a bad value is refused inline with
//! everything typed kept, a good one is saved as `add --at` / `--every` would save it, and the
//! card says when the issue may start.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{wait_for, TestRepo};

#[test]
fn the_editor_schedules_a_repeating_issue_and_refuses_a_bad_period_keeping_the_rest() {
    let repo = TestRepo::new();
    let Some(t) = Tmux::start_sized(&repo, "--no-runner", 100, 30) else {
        return;
    };
    t.wait_screen("backlog 0");
    t.keys(&["n"]);
    t.wait_screen("Start at");
    t.text("Nightly report");
    tab_to_start(&t);
    t.text("+30m");
    t.keys(&["Tab"]);
    t.text("daily");
    t.keys(&["C-s"]);
    let screen = t.wait_screen("repeat: \"daily\" is not a duration (30m, 12h, 1d, 1w)");
    assert!(
        screen.contains("Nightly report") && screen.contains("+30m"),
        "nothing typed was lost:\n{screen}"
    );
    assert!(ids(&repo).is_empty(), "nothing was saved");
    for _ in 0.."daily".len() {
        t.keys(&["BSpace"]);
    }
    t.text("1d");
    t.keys(&["C-s"]);
    wait_for("the editor to close", LIMIT, || {
        (!t.screen().contains("Start at")).then_some(())
    });
    let ids = wait_for("the issue to be saved", LIMIT, || {
        Some(ids(&repo)).filter(|l| !l.is_empty())
    });
    let issue = repo.show(ids[0]);
    assert_eq!(issue["title"], "Nightly report");
    assert_eq!(issue["repeats_every"], "1d");
    assert!(issue["not_before"].is_string(), "{issue}");
    // The card says when it may start.
    wait_for("the card's schedule", LIMIT, || {
        let s = t.screen();
        (s.contains("in 30m") || s.contains("in 29m")).then_some(())
    });

    // Editing it shows the schedule as saved; emptying the start clears it.
    t.keys(&["1", "Enter"]);
    t.wait_screen("Nightly report");
    t.keys(&["e"]);
    t.wait_screen("Start at");
    assert!(t.screen().contains("1d"));
    tab_to_start(&t);
    for _ in 0..30 {
        t.keys(&["BSpace"]);
    }
    t.keys(&["C-s"]);
    wait_for("the start to be cleared", LIMIT, || {
        repo.show(ids[0])["not_before"].is_null().then_some(())
    });
    assert_eq!(repo.show(ids[0])["repeats_every"], "1d");
    t.quit();
}

/// The ids of every issue, as `list --json` gives them.
fn ids(repo: &TestRepo) -> Vec<i64> {
    let list: serde_json::Value = serde_json::from_str(&repo.ok(&["list", "--json"])).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

/// From the title to the start field: body, kind, priority, model, effort, budget, depends
/// on, agent, template, start.
fn tab_to_start(t: &Tmux) {
    for _ in 0..10 {
        t.keys(&["Tab"]);
    }
}
