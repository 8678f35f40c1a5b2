//! Archive and delete in a real terminal: `A` takes a done card off the board, `X` asks before
//! deleting a backlog card, and "no" keeps it.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{wait_for, TestRepo};

#[test]
fn a_done_card_is_archived_and_a_backlog_card_deleted_after_asking() {
    let repo = TestRepo::new();
    let shipped = repo.add(&["Shipped card", "--ready"]);
    repo.ok(&["run", "--once"]);
    repo.ok(&["accept", &shipped.to_string(), "--no-merge"]);
    let typo = repo.add(&["Typo card"]);
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    t.wait_screen("Typo card");
    t.wait_screen("6 done 1");

    // the done column's card (the column strip counts it)
    t.keys(&["6"]);
    t.wait_screen("Shipped card");
    t.keys(&["A"]);
    t.wait_screen(&format!("#{shipped} archived"));
    t.wait_screen("6 done 0");
    wait_for("the archived card to leave the board", LIMIT, || {
        (!t.screen().contains("Shipped card")).then_some(())
    });
    assert_eq!(repo.show(shipped)["archived"], true);
    // still reachable: the notification opens its detail, which says so
    t.keys(&["o"]);
    t.wait_screen("done · feature · priority 0 · archived (off the board)");
    t.keys(&["Escape"]);
    t.wait_screen("enter detail");

    // the backlog card: no keeps it, yes deletes it
    t.keys(&["1", "X"]);
    t.wait_screen(&format!("Delete #{typo} and its comments for good?"));
    t.keys(&["n"]);
    t.wait_screen(&format!("#{typo} kept"));
    assert_eq!(repo.status(typo), "backlog");
    t.keys(&["X"]);
    t.wait_screen(&format!("Delete #{typo} and its comments for good?"));
    t.keys(&["y"]);
    t.wait_screen(&format!("#{typo} deleted: Typo card"));
    let out = repo.fails(&["show", &typo.to_string()]);
    assert!(out.contains("not found"), "{out}");
    t.keys(&["q"]);
    wait_for("the TUI to exit", LIMIT, || (!t.alive()).then_some(()));
}
