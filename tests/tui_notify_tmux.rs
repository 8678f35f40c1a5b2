//! `[notify] osc` in a real terminal: tmux runs the TUI, `pipe-pane` records the bytes it
//! writes, and a blocked issue with a hostile title asks the terminal for a notification.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{wait_for, TestRepo};

/// The notifications in what the TUI wrote: the OSC 9 sequences, wrapped for tmux.
fn notices(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.split("\u{1b}Ptmux;")
        .skip(1)
        .filter_map(|rest| {
            rest.split_once("\u{1b}\\")
                .map(|(inner, _)| inner.to_string())
        })
        .collect()
}

#[test]
fn a_blocked_issue_asks_the_terminal_for_a_notification_through_tmux() {
    let repo =
        TestRepo::with_config("[notify]\nosc = true\n").with_env("TMUX", "/tmp/tmux-test,1,0");
    let id = repo.add(&[
        "Pick a \u{1b}]0;pwned\u{7}cache\u{7}\u{1b}\\ now",
        "--body",
        "[scenario:ask]",
    ]);
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    t.wait_screen("Pick a cache");
    let out = repo.dir.path().join("terminal-bytes");
    t.pipe_output(&out);
    repo.ok(&["move", &id.to_string(), "ready"]);
    let found = wait_for("the notification", LIMIT, || {
        let n = notices(&std::fs::read(&out).unwrap_or_default());
        n.iter().any(|s| s.contains("blocked")).then_some(n)
    });
    let blocked = found.iter().find(|s| s.contains("blocked")).unwrap();
    // the whole OSC 9 inside the passthrough, every ESC doubled, the title without its
    // escape sequences or bells
    assert_eq!(
        blocked,
        &format!("\u{1b}\u{1b}]9;autopilot: #{id} blocked — needs you: Pick a cache now\u{7}")
    );
    t.quit();
}
