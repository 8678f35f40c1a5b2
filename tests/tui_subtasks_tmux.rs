//! Subtasks in a real terminal: `P` on a card runs the planner through the TUI's runner, the
//! toast names the new subtasks and the parent's card shows their progress.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{wait_for, TestRepo};

#[test]
fn p_splits_the_selected_card_and_its_card_counts_the_subtasks() {
    let repo = TestRepo::new();
    let id = repo.add(&["Config loading"]);
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    t.wait_screen("Config loading");
    t.keys(&["P"]);
    t.wait_screen(&format!("#{id} split into #2, #3, #4 (in backlog)"));
    t.wait_screen(&format!("#{id} feature 0/3 done"));
    let children = wait_for("the subtasks", LIMIT, || {
        let c = repo.show(id)["children"].clone();
        (c.as_array().map(Vec::len) == Some(3)).then_some(c)
    });
    assert_eq!(children, serde_json::json!([2, 3, 4]));
    assert_eq!(repo.show(id)["runs"][0]["role"], "plan");
    // Nothing was handed off: the subtasks wait in backlog.
    assert_eq!(repo.status(2), "backlog");
    t.keys(&["q"]);
    wait_for("the TUI to exit", LIMIT, || (!t.alive()).then_some(()));
}
