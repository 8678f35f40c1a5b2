//! `[budget]` in the TUI, through tmux: the header names the daily budget's hold and `p` lifts
//! it for the day; the editor sets an issue's own cap.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{wait_for, TestRepo};

fn setting(repo: &TestRepo, key: &str) -> Option<String> {
    rusqlite::Connection::open(repo.db())
        .unwrap()
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .ok()
}

#[test]
fn the_header_names_the_daily_budget_hold_and_p_lifts_it_for_the_day() {
    let repo = TestRepo::with_config("[budget]\ndaily_usd = 0.10\n").with_env("TZ", "UTC");
    repo.add(&["Spends", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert!(setting(&repo, "paused_until").is_some(), "held");
    let Some(t) = Tmux::start_sized(&repo, "--no-runner", 220, 32) else {
        return;
    };
    t.wait_screen(
        "⏸ held until 00:00 UTC — daily budget $0.10 reached: $0.10 spent today; claiming resumes at local midnight (00:00) or on `resume`",
    );
    t.keys(&["p"]);
    wait_for("the hold lifted for the day", LIMIT, || {
        setting(&repo, "budget_override_until")
    });
    wait_for("the header without the hold", LIMIT, || {
        (!t.screen().contains("held until")).then_some(())
    });
    t.quit();
}

#[test]
fn the_editor_sets_an_issue_s_own_cap() {
    let repo = TestRepo::new();
    let id = repo.add(&["Capped card"]);
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    t.wait_screen("Capped card");
    t.keys(&["e"]);
    t.wait_screen(&format!("Edit #{id}"));
    t.wait_screen("Budget $");
    for _ in 0..6 {
        t.keys(&["Tab"]);
    }
    t.text("2.5");
    t.keys(&["C-s"]);
    wait_for("the cap stored", LIMIT, || {
        (repo.show(id)["budget_usd"] == 2.5).then_some(())
    });
    t.quit();
}
