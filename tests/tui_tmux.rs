//! The real binary in a real terminal: tmux runs the TUI with the fake agent; the test types
//! keys, reads the screen with `capture-pane`, and checks the store through the CLI.

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{bin, fake_claude, wait_for, TestRepo};

const LIMIT: Duration = Duration::from_secs(30);
static N: AtomicUsize = AtomicUsize::new(0);

/// A private tmux server (its own socket) running the TUI; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(repo: &TestRepo, args: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("tmux not installed; skipping");
            return None;
        }
        let socket = format!(
            "autopilot-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let home = repo.dir.path();
        let script = format!(
            "cd '{root}' && exec env -i PATH=\"$PATH\" TERM=xterm-256color HOME='{home}' \
             AUTOPILOT_CONFIG_HOME='{home}/config' AUTOPILOT_CLAUDE_BIN='{fake}' AUTOPILOT_USER=tester \
             AUTOPILOT_AGENT_ID=test-agent IS_SANDBOX=1 '{bin}' {args}",
            root = repo.root.display(),
            home = home.display(),
            fake = fake_claude().display(),
            bin = bin().display(),
        );
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "120",
                "-y",
                "32",
                &script,
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux new-session failed");
        Some(Tmux { socket })
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn wait_screen(&self, what: &str) -> String {
        wait_for(&format!("{what:?} on screen"), LIMIT, || {
            let s = self.screen();
            s.contains(what).then_some(s)
        })
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", k])
                .status();
            assert!(status.is_ok_and(|s| s.success()), "send-keys {k}");
        }
    }

    fn text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-l", text])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "send-keys -l");
    }

    fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session"])
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn create_hand_off_watch_and_accept_from_the_keyboard() {
    let repo = TestRepo::new();
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    t.wait_screen("backlog 0");
    t.keys(&["n"]);
    t.wait_screen("New issue");
    t.text("Say hello");
    t.keys(&["Enter"]);
    t.text("[scenario:implement] write hello.txt");
    t.keys(&["C-s"]);
    t.wait_screen("Say hello");
    assert_eq!(repo.status(1), "backlog");
    t.keys(&["H"]);
    // The agent's live lines in its pane, then the card in review.
    t.wait_screen("I'll create hello.txt.");
    wait_for("in_review", LIMIT, || {
        (repo.status(1) == "in_review").then_some(())
    });
    t.wait_screen("in review 1");
    t.keys(&["5", "a"]);
    wait_for("done", LIMIT, || (repo.status(1) == "done").then_some(()));
    t.wait_screen("done 1");
    t.keys(&["q"]);
    wait_for("the TUI to exit", LIMIT, || (!t.alive()).then_some(()));
}

#[test]
fn answer_a_blocked_question_from_the_inbox() {
    let repo = TestRepo::new();
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    t.wait_screen("backlog 0");
    // Added by another process: the board must notice without a key press.
    let id = repo.add(&["Pick a name", "--body", "[scenario:ask]", "--ready"]);
    wait_for("blocked", LIMIT, || {
        (repo.status(id) == "blocked").then_some(())
    });
    t.wait_screen("inbox 1");
    t.keys(&["i"]);
    t.wait_screen("Inbox");
    t.keys(&["Enter"]);
    t.wait_screen(&format!("Answer #{id}"));
    t.text("ANSWER: yes-please");
    t.keys(&["C-s"]);
    wait_for("the rerun to reach review", LIMIT, || {
        (repo.status(id) == "in_review").then_some(())
    });
    let answer = std::fs::read_to_string(
        repo.root
            .join(format!(".autopilot/worktrees/issue-{id}/answer.txt")),
    )
    .unwrap_or_default();
    assert!(
        answer.contains("ANSWER: yes-please"),
        "answer.txt: {answer:?}"
    );
    t.keys(&["q"]);
    wait_for("the TUI to exit", LIMIT, || (!t.alive()).then_some(()));
}
