//! Spend in the real binary in a real terminal: a run with the fake agent reports its cost; the
//! card, the header and the stats overlay (`S`) show it, and enter opens the costly issue.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{wait_for, TestRepo};

#[test]
fn a_runs_cost_shows_on_its_card_in_the_header_and_in_the_stats() {
    // The implement fixture reports total_cost_usd 0.102688.
    let repo = TestRepo::new().with_env("TZ", "UTC");
    let id = repo.add(&["Say hello", "--body", "[scenario:implement]", "--ready"]);
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    wait_for("in_review", LIMIT, || {
        (repo.status(id) == "in_review").then_some(())
    });
    t.wait_screen("today $0.10");
    t.keys(&["5"]);
    // The card's head: id, kind, the diff's counts, then what it cost.
    wait_for("the card's spend", LIMIT, || {
        let screen = t.screen();
        let head = screen.lines().find(|l| l.contains("#1 feature"))?;
        head.contains("$0.10").then_some(())
    });
    t.keys(&["S"]);
    let screen = t.wait_screen("most expensive issues");
    assert!(screen.contains("Stats · last 14 days"), "{screen}");
    assert!(screen.contains("spent $0.10"), "{screen}");
    assert!(screen.contains("$0.10 #1"), "{screen}");
    assert!(screen.contains("Say hello"), "{screen}");
    // The chart's bar for today, labelled with its amount.
    assert!(screen.contains("0.10"), "{screen}");
    t.keys(&["Enter"]);
    let screen = t.wait_screen("── Runs (1) ──");
    assert!(!screen.contains("most expensive issues"), "{screen}");
    assert!(screen.contains("Say hello"), "{screen}");
    t.keys(&["Escape"]);
    t.quit();
}
