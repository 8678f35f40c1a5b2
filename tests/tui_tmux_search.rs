//! The search overlay in the real binary in a real terminal: a run of the fake agent prints a
//! word found nowhere else; `ctrl-f` and the word find it, and enter opens that run's
//! transcript at the line.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{wait_for, TestRepo};

#[test]
fn ctrl_f_finds_a_word_of_a_transcript_and_enter_opens_it_at_the_line() {
    let repo = TestRepo::new();
    let id = repo.add(&["Look around [scenario:search-word]", "--ready"]);
    // Short enough that the run's transcript is longer than the view: opened at the hit, the
    // view starts at the hit's line.
    let Some(t) = Tmux::start_sized(&repo, "", 100, 8) else {
        return;
    };
    wait_for("in_review", LIMIT, || {
        (repo.status(id) == "in_review").then_some(())
    });
    let run = repo.show(id)["runs"][0]["id"].as_i64().unwrap();
    t.keys(&["C-f"]);
    t.wait_screen("type to search titles");
    t.text("zanzibarquux");
    t.wait_screen(&format!("#{id} transcript of run {run}"));
    // The run's toasts ("started", "ready for review") may cover the snippet for their few
    // seconds on so small a screen: wait until it shows whole.
    let screen = t.wait_screen("grep found zanzibarquux in src/lib.rs");
    assert!(screen.contains("1 hit"), "{screen}");
    assert!(
        screen.contains(&format!("#{id} transcript of run {run}")),
        "{screen}"
    );
    // The escape sequences around the word in the agent's output never reach the terminal.
    assert!(!t.pane_title().contains("pwned"), "{}", t.pane_title());
    t.keys(&["Enter"]);
    // The hit's line is the first shown: the run's first lines scrolled away.
    let first_line = |screen: &str| {
        let mut lines = screen
            .lines()
            .skip_while(|l| !l.contains("· transcript of run"));
        lines.nth(1).map(str::to_string)
    };
    let screen = wait_for("the transcript at the hit", LIMIT, || {
        let screen = t.screen();
        let title = format!("#{id} · transcript of run {run}");
        (screen.contains(&title) && !screen.contains("loading…")).then_some(screen)
    });
    assert!(!screen.contains("type to search"), "{screen}");
    assert!(
        first_line(&screen).is_some_and(|l| l.contains("grep found zanzibarquux in src/lib.rs")),
        "{screen}"
    );
    assert!(!screen.contains("● session"), "{screen}");
    // esc goes back to the issue.
    t.keys(&["Escape"]);
    wait_for("the detail", LIMIT, || {
        let screen = t.screen();
        (screen.contains("Look around") && !screen.contains("· transcript of run")).then_some(())
    });
    t.quit();
}
