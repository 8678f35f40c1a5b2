//! The fleet list in a real terminal: the binary runs 32 fake agents, and the screen stays
//! usable at 80×24 and at 200×50.

mod support;

use std::time::Duration;

use support::tmux::Tmux;
use support::{wait_for, TestRepo};

/// Starting 32 agents (a worktree each) takes a while on a busy machine.
const START: Duration = Duration::from_secs(120);

#[test]
fn thirty_two_agents_show_as_a_fleet_list_at_80x24_and_200x50() {
    // Each agent prints its first line, then sleeps long between the next ones: all of them
    // run for the whole test.
    let repo = TestRepo::new().with_env("FAKE_CLAUDE_DELAY", "60");
    let ids: Vec<i64> = (0..32)
        .map(|i| repo.add(&[&format!("Fleet task {i} [scenario:slow]"), "--ready"]))
        .collect();
    let Some(t) = Tmux::start_sized(&repo, "--agents 32", 80, 24) else {
        return;
    };
    let screen = wait_for("32 agents in the fleet list", START, || {
        let s = t.screen();
        s.contains("agents 32 · 32 running").then_some(s)
    });
    let lines: Vec<&str> = screen.lines().collect();
    let agent_rows = |lines: &[&str]| {
        lines
            .iter()
            .filter(|l| {
                let l = l.trim_start_matches(['▶', ' ']);
                ids.iter().any(|id| l.starts_with(&format!("#{id} ")))
            })
            .count()
    };
    assert!(
        agent_rows(&lines) >= 4,
        "a page of agent lines at 80×24:\n{screen}"
    );
    // The panes take the focus; the selected agent's pane shows its output.
    t.keys(&["Tab"]);
    let screen = wait_for("the first agent's output in its pane", START, || {
        let s = t.screen();
        let body = s
            .lines()
            .any(|l| l.starts_with('│') && l.contains("line 1"));
        (body && s.contains("▶ #")).then_some(s)
    });
    let first = selected(&screen);
    t.keys(&["j"]);
    let screen = wait_for("the next agent selected", START, || {
        let s = t.screen();
        (selected(&s) != first).then_some(s)
    });
    let second = selected(&screen);
    assert!(
        screen.contains(&format!("┌ {second} ")),
        "the pane follows the selection:\n{screen}"
    );
    // Wider and taller: the list and the pane sit side by side and show more agents, and
    // the selected agent's output shows beside the list once it has printed.
    t.resize(200, 50);
    let screen = wait_for("the fleet list and the pane at 200×50", START, || {
        let s = t.screen();
        let lines: Vec<&str> = s.lines().collect();
        let beside = lines
            .iter()
            .any(|l| l.trim_start_matches(['▶', ' ']).starts_with('#') && l.contains("│line 1"));
        (t.format("#{pane_width}") == "200" && agent_rows(&lines) >= 20 && beside).then_some(s)
    });
    assert!(
        screen.contains(&format!("▶ {second} ")) && screen.contains(&format!("┌ {second} ")),
        "the selected agent's line and its pane:\n{screen}"
    );
    t.keys(&["q", "s"]);
    wait_for("the TUI to exit", START, || (!t.alive()).then_some(()));
}

/// The `#id` of the selected fleet line.
fn selected(screen: &str) -> String {
    screen
        .lines()
        .find_map(|l| l.strip_prefix("▶ "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}
