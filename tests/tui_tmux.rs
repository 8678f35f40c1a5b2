//! The real binary in a real terminal: tmux runs the TUI with the fake agent; the test types
//! keys, reads the screen with `capture-pane`, and checks the store through the CLI.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{wait_for, TestRepo};

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
    // Accepting merged the work into main, in the user's (clean) checkout of it.
    assert!(support::git(&repo.root, &["show", "main:hello.txt"]).contains("Hello, world!"));
    assert!(repo.root.join("hello.txt").exists());
    t.wait_screen("Accepted: merged");
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

#[test]
fn a_missing_agent_shows_a_banner_and_the_board_still_works() {
    let repo = TestRepo::new().with_env("AUTOPILOT_CLAUDE_BIN", "/nonexistent/claude");
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    t.wait_screen("AUTOPILOT_CLAUDE_BIN");
    let id = repo.add(&["Still listed", "--ready"]);
    t.wait_screen("Still listed");
    assert_eq!(repo.status(id), "ready", "nothing was claimed");
    t.quit();
}

#[test]
fn root_without_sandbox_shows_what_to_do_before_claiming() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let repo = TestRepo::new().with_env("IS_SANDBOX", "yes");
    let Some(t) = Tmux::start_sized(&repo, "", 200, 40) else {
        return;
    };
    let id = repo.add(&["Would burn", "--ready"]);
    t.wait_screen("IS_SANDBOX=1");
    t.wait_screen("Would burn");
    assert_eq!(repo.status(id), "ready", "nothing was claimed");
    assert!(repo.agent_calls().is_empty());
    t.quit();
}

#[test]
fn two_tuis_a_headless_runner_and_the_cli_share_one_queue() {
    let repo = TestRepo::new();
    let (Some(a), Some(b)) = (
        Tmux::start(&repo, "--no-runner"),
        Tmux::start(&repo, "--no-runner"),
    ) else {
        return;
    };
    a.wait_screen("backlog 0");
    b.wait_screen("backlog 0");
    // the CLI adds; both boards notice without a key press
    let id = repo.add(&["Shared work"]);
    a.wait_screen("Shared work");
    b.wait_screen("Shared work");
    // one TUI hands it off; a headless runner in a third process does it; both see the result
    a.keys(&["H"]);
    wait_for("ready", LIMIT, || {
        (repo.status(id) == "ready").then_some(())
    });
    b.wait_screen("ready 1");
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    a.wait_screen("in review 1");
    b.wait_screen("in review 1");
    a.quit();
    b.quit();
}

#[test]
fn hostile_text_in_titles_and_comments_never_reaches_the_terminal() {
    let repo = TestRepo::new();
    let id = repo.add(&[
        "Evil \u{1b}]0;PWNED\u{7}title \u{1b}]52;c;ZXZpbA==\u{7}end",
        "--body",
        "body \u{1b}[2J\u{1b}[Hstill here",
    ]);
    repo.ok(&[
        "comment",
        &id.to_string(),
        "note \u{1b}]2;PWNED2\u{1b}\\ done",
    ]);
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    let before = t.pane_title();
    t.wait_screen("Evil title end");
    t.keys(&["Enter"]);
    let screen = t.wait_screen("note  done");
    assert!(screen.contains("body still here"), "{screen}");
    let title = t.pane_title();
    assert!(
        !title.contains("PWNED"),
        "the terminal title was changed to {title:?}"
    );
    assert_eq!(title, before);
    t.keys(&["Escape"]);
    t.quit();
}

#[test]
fn quit_and_wait_lets_the_running_agent_finish_its_work() {
    let repo = TestRepo::new().with_env("FAKE_CLAUDE_DELAY", "0.5");
    let id = repo.add(&["Slow [scenario:slow]", "--ready"]);
    let other = repo.add(&["Not started", "--ready"]);
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    t.wait_screen("line 1");
    t.keys(&["q"]);
    t.wait_screen("wait for them to finish");
    t.keys(&["w"]);
    wait_for("the TUI to exit after the run", LIMIT, || {
        (!t.alive()).then_some(())
    });
    assert_eq!(repo.status(id), "in_review", "the running agent finished");
    assert_eq!(
        repo.status(other),
        "ready",
        "nothing new was claimed meanwhile"
    );
}

/// The TUI process running in the pane (the pane's shell's child).
fn tui_pid(t: &Tmux) -> i32 {
    let shell = t.format("#{pane_pid}");
    wait_for("the TUI process", LIMIT, || {
        std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .ok()
            .and_then(|c| c.split_whitespace().next().and_then(|p| p.parse().ok()))
    })
}

#[test]
fn sigterm_and_sighup_leave_the_terminal_as_the_shell_had_it() {
    for signal in ["TERM", "HUP"] {
        let repo = TestRepo::new();
        repo.add(&["Visible card"]);
        let Some(t) = Tmux::start_in_shell(&repo, "") else {
            return;
        };
        t.wait_screen("Visible card");
        assert_eq!(
            t.format("#{alternate_on}"),
            "1",
            "the TUI uses the alternate screen"
        );
        let pid = tui_pid(&t);
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let screen = t.wait_screen("EXITED:");
        assert_eq!(
            t.format("#{alternate_on}"),
            "0",
            "SIG{signal}: alternate screen left"
        );
        assert_eq!(
            t.format("#{cursor_flag}"),
            "1",
            "SIG{signal}: cursor shown again"
        );
        assert!(
            !screen.contains("Visible card"),
            "SIG{signal}: the board is gone: {screen}"
        );
    }
}

#[test]
fn closing_the_terminal_under_a_running_agent_hands_the_issue_back() {
    // A dropped SSH session: the pty closes under the TUI, so the last frame's writes fail
    // before (or as) SIGHUP arrives. The agent must still be stopped and the issue handed
    // back, not left in progress until a restart or its lease expires.
    let repo = TestRepo::new();
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    let tui = tui_pid_of_pane(&t);
    t.wait_screen("Hangs");
    let child = wait_for("the agent's child process", LIMIT, || {
        support::read_pid(&repo.agent_log.join("child.pid"))
    });
    assert_eq!(repo.status(id), "in_progress");
    drop(t);
    wait_for("the TUI to exit", LIMIT, || {
        (!support::alive(tui)).then_some(())
    });
    let issue = repo.show(id);
    assert_eq!(
        issue["status"],
        "ready",
        "{}",
        support::last_comment(&issue)
    );
    assert_eq!(issue["runs"][0]["outcome"], "interrupted");
    assert!(!support::alive(child), "the agent's child was stopped too");
}

/// The TUI started directly as the pane's command.
fn tui_pid_of_pane(t: &Tmux) -> i32 {
    wait_for("the pane's process", LIMIT, || {
        t.format("#{pane_pid}").parse().ok()
    })
}

#[test]
fn the_keys_overlay_finds_and_runs_a_key() {
    let repo = TestRepo::new();
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    t.wait_screen("backlog 0");
    t.keys(&["?"]);
    t.wait_screen("j/k select");
    t.keys(&["/"]);
    t.text("pause");
    t.wait_screen("pause / resume claiming");
    t.keys(&["Enter", "Enter"]);
    t.wait_screen("paused");
    // stored, under the user's name
    let store = autopilot_tui::store::Store::open(&repo.db()).unwrap();
    wait_for("the pause to be stored", LIMIT, || {
        store.pause_state().unwrap().paused.then_some(())
    });
    let actor: String = rusqlite::Connection::open(repo.db())
        .unwrap()
        .query_row(
            "SELECT actor FROM events WHERE kind = 'setting.changed' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(actor, "human:tester");
    t.quit();
}

#[test]
fn ctrl_z_suspends_to_the_shell_and_fg_brings_the_board_back() {
    let repo = TestRepo::new();
    repo.add(&["Visible card"]);
    let Some((t, bin)) = Tmux::start_interactive(&repo) else {
        return;
    };
    t.wait_screen("$");
    t.text(&format!("'{bin}'"));
    t.keys(&["Enter"]);
    t.wait_screen("Visible card");
    t.keys(&["C-z"]);
    t.wait_screen("Stopped");
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "suspended: the shell's screen is back"
    );
    t.text("fg");
    t.keys(&["Enter"]);
    t.wait_screen("Visible card");
    assert_eq!(t.format("#{alternate_on}"), "1");
    t.keys(&["q"]);
    t.wait_screen("$ ");
    wait_for("the shell's screen", LIMIT, || {
        (t.format("#{alternate_on}") == "0").then_some(())
    });
}

#[test]
fn x_stops_an_agent_that_another_process_runs() {
    let repo = TestRepo::new();
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    let runner = repo.spawn_run(&[]);
    wait_for("the claim", LIMIT, || {
        (repo.status(id) == "in_progress").then_some(())
    });
    // this TUI runs its own runner too, but the agent belongs to the headless one
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    t.wait_screen("Hangs");
    t.keys(&["3", "x"]);
    wait_for("the issue to be parked", LIMIT, || {
        (repo.status(id) == "blocked").then_some(())
    });
    let last = support::last_comment(&repo.show(id));
    assert!(last.contains("stopped by tester"), "{last}");
    t.quit();
    support::signal(runner.id(), "TERM");
    runner.wait(LIMIT);
}
