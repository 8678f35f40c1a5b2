//! A split in a real terminal is a run like a slot's: its planner's output streams into a pane
//! of its own, `x` stops it, and quitting mid-plan closes its run before the TUI exits.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{alive, read_pid, wait_for, TestRepo};

/// Starts the TUI on a `plan-hang` issue, presses `P` and waits for the planner's output in
/// its pane; returns the TUI, the issue and the planner's pid.
fn planning() -> Option<(TestRepo, Tmux, i64, i32)> {
    let repo = TestRepo::new();
    let id = repo.add(&["Plan forever", "--body", "[scenario:plan-hang]"]);
    let t = Tmux::start(&repo, "")?;
    t.wait_screen("Plan forever");
    t.keys(&["P"]);
    let screen = t.wait_screen("Reading the issue to plan it");
    assert!(screen.contains("plan: Plan forever"), "{screen}");
    let planner = repo.agent_log.join("planner.pid");
    let pid = wait_for("the planner's pid", LIMIT, || read_pid(&planner));
    Some((repo, t, id, pid))
}

#[test]
fn the_planner_streams_into_its_pane_and_x_stops_it() {
    let Some((repo, t, id, pid)) = planning() else {
        return;
    };
    // The card stays in backlog; its running pane is what `x` stops.
    t.keys(&["x"]);
    t.wait_screen(&format!("#{id} not split: the planner was stopped by"));
    let run = wait_for("the planner's run to end", LIMIT, || {
        let run = repo.show(id)["runs"][0].clone();
        (!run["ended_at"].is_null()).then_some(run)
    });
    assert_eq!(run["outcome"], "stopped", "{run}");
    assert_eq!(repo.status(id), "backlog");
    wait_for("the planner to be gone", LIMIT, || {
        (!alive(pid)).then_some(())
    });
    t.quit();
}

#[test]
fn quitting_mid_plan_stops_the_planner_and_closes_its_run() {
    let Some((repo, t, id, pid)) = planning() else {
        return;
    };
    t.keys(&["q"]);
    t.wait_screen("stop them now");
    t.keys(&["s"]);
    wait_for("the TUI to exit", LIMIT, || (!t.alive()).then_some(()));
    let run = &repo.show(id)["runs"][0];
    assert_eq!(run["outcome"], "stopped", "{run}");
    assert!(!run["ended_at"].is_null(), "{run}");
    assert!(!alive(pid), "the planner outlived the TUI");
}

#[test]
fn an_issue_whose_agent_runs_here_is_not_planned_over_it() {
    let repo = TestRepo::new();
    let id = repo.add(&["Busy [scenario:hang]", "--ready"]);
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    wait_for("the agent to run", LIMIT, || {
        (repo.status(id) == "in_progress").then_some(())
    });
    // Its card, in the in-progress column.
    t.keys(&["3", "P"]);
    t.wait_screen(&format!("#{id} not split: #{id} has an agent running here"));
    assert_eq!(repo.show(id)["runs"].as_array().unwrap().len(), 1);
    t.keys(&["q"]);
    t.wait_screen("stop them now");
    t.keys(&["s"]);
    wait_for("the TUI to exit", LIMIT, || (!t.alive()).then_some(()));
}
