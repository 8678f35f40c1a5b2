//! Mission control over processes: a TUI attached to the database (no runner of its own)
//! streams the panes of a headless runner's agents from the stored transcripts, stops one of
//! them through the store, and quits leaving the others running; a second headless runner on
//! the same database refuses, naming the first.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{wait_for, TestRepo};

#[test]
fn an_attached_tui_streams_stops_and_leaves_a_headless_runners_agents() {
    // The gate is open from the start: each agent prints its first lines, then sleeps.
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    std::fs::write(&gate, "").unwrap();
    let repo = TestRepo::new()
        .with_env("FAKE_CLAUDE_GATE", &gate.display().to_string())
        .with_env("FAKE_CLAUDE_DELAY", "600");
    let a = repo.add(&["First far [scenario:slow]", "--ready"]);
    let b = repo.add(&["Second far [scenario:slow]", "--ready"]);
    let Some(t) = Tmux::start_sized(&repo, "attach", 200, 50) else {
        return;
    };
    t.wait_screen("attached (no runner)");

    let runner = repo.spawn_run(&["--agents", "2"]);
    let label = format!("pid {}@", runner.id());
    // Both panes appear, say who runs them, and stream what the agents print.
    let screen = wait_for("two remote panes with their lines", LIMIT, || {
        let s = t.screen();
        (s.matches(&label).count() == 2 && s.matches("line 1").count() == 2).then_some(s)
    });
    assert!(screen.contains("2 running elsewhere"), "{screen}");

    // A second headless runner on the database refuses, naming the first.
    let err = repo.fails(&["run", "--once"]);
    assert!(err.contains(&label), "{err}");
    assert!(err.contains("--allow-second-runner"), "{err}");

    // `x` on the first pane stops its agent through the other process.
    t.keys(&["Tab"]);
    t.keys(&["x"]);
    let (stopped, left) = wait_for("one agent stopped", LIMIT, || {
        match (repo.status(a).as_str(), repo.status(b).as_str()) {
            ("in_progress", "in_progress") => None,
            (_, "in_progress") => Some((a, b)),
            ("in_progress", _) => Some((b, a)),
            _ => panic!("both agents stopped"),
        }
    });
    assert_ne!(
        repo.status(stopped),
        "ready",
        "a stopped issue is not claimed again"
    );
    t.wait_screen("1 running elsewhere");

    // Quitting asks nothing about agents this process does not run, and stops none of them.
    t.keys(&["q"]);
    wait_for("the TUI to exit", LIMIT, || (!t.alive()).then_some(()));
    assert!(support::alive(runner.id() as i32), "the runner still runs");
    assert_eq!(repo.status(left), "in_progress");
}
