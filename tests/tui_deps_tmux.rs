//! Dependencies in a real terminal: a ready card held by one says what it waits on, the detail
//! shows the chain both ways, and the editor refuses a cycle with the store's message.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{wait_for, TestRepo};

#[test]
fn a_held_card_says_what_it_waits_on_and_the_detail_shows_the_chain() {
    let repo = TestRepo::new();
    let first = repo.add(&["Schema first"]);
    let held = repo.add(&["Held card", "--ready"]);
    repo.ok(&["depend", &held.to_string(), "--on", &first.to_string()]);
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    t.wait_screen(&format!("⧗ waits on #{first}"));
    // the ready column, its card's detail
    t.keys(&["2", "Enter"]);
    t.wait_screen(&format!("waits on #{first} Schema first · backlog"));

    // from the first issue's detail: it blocks the held one; making it wait on the held one
    // would close a cycle, which the editor shows and keeps
    // (each escape is waited out: an escape and a key typed at once read as alt-key)
    t.keys(&["Escape"]);
    t.wait_screen("enter detail");
    t.keys(&["1", "Enter"]);
    t.wait_screen(&format!("blocks #{held} Held card · ready"));
    t.keys(&["e"]);
    t.wait_screen("Depends on");
    for _ in 0..7 {
        t.keys(&["Tab"]);
    }
    t.text(&held.to_string());
    t.keys(&["C-s"]);
    t.wait_screen(&format!("cycle #{first} → #{held} → #{first}"));
    assert!(t.screen().contains("Depends on"), "the editor stays open");
    t.keys(&["Escape"]);
    let show = repo.show(first);
    assert!(show["depends_on"].as_array().unwrap().is_empty());
    wait_for("the editor to close", LIMIT, || {
        (!t.screen().contains("Depends on")).then_some(())
    });
    t.keys(&["Escape"]);
    t.wait_screen("enter detail");
    t.keys(&["q"]);
    wait_for("the TUI to exit", LIMIT, || (!t.alive()).then_some(()));
}
