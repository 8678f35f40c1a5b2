//! Taking over in a real terminal: tmux runs the TUI with stand-in programs for `$SHELL`,
//! `$EDITOR` and claude (scripts that record where and how they ran); the test checks that
//! they got the terminal and every key, that the board comes back drawn and answering keys,
//! and what they changed through the CLI and git.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use support::tmux::{Tmux, LIMIT};
use support::{wait_for, TestRepo};

/// An executable script in the test's temp dir (outside the repository).
fn script(repo: &TestRepo, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = repo.dir.path().join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A directory where the stand-ins leave their marks.
fn marks(repo: &TestRepo) -> PathBuf {
    let dir = repo.dir.path().join("marks");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn wait_file(path: &Path) -> String {
    wait_for(&format!("{}", path.display()), LIMIT, || read(path))
}

/// An issue the fake agent implemented: in review, with a worktree and a session.
fn reviewed(repo: &TestRepo, title: &str) -> i64 {
    let id = repo.add(&[title, "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    id
}

fn same_dir(a: &str, b: &str) -> bool {
    let canon = |p: &str| std::fs::canonicalize(p.trim()).ok();
    canon(a).is_some() && canon(a) == canon(b)
}

#[test]
fn s_opens_the_shell_in_the_worktree_with_every_key_and_the_board_comes_back() {
    let repo = TestRepo::new();
    let m = marks(&repo);
    // Reads one line the user types, then waits to be let go, so the test can look at the
    // terminal while it runs.
    let shell = script(
        &repo,
        "shell",
        &format!(
            "pwd > {m}/cwd\necho \"$AUTOPILOT_ISSUE_ID\" > {m}/issue\nIFS= read -r line\nprintf '%s' \"$line\" > {m}/typed\nwhile [ ! -e {m}/release ]; do sleep 0.05; done",
            m = m.display()
        ),
    );
    let repo = repo.with_env("SHELL", &shell.display().to_string());
    let id = reviewed(&repo, "Look around");
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    // At 120 columns the review column is off screen until it is focused.
    t.wait_screen("in review 1");
    t.keys(&["5"]);
    t.wait_screen("Look around");
    t.keys(&["s"]);
    let cwd = wait_file(&m.join("cwd"));
    let worktree = repo.show(id)["worktree"].as_str().unwrap().to_string();
    assert!(same_dir(&cwd, &worktree), "{cwd} is not {worktree}");
    assert_eq!(read(&m.join("issue")).unwrap().trim(), id.to_string());
    wait_for("the shell's screen", LIMIT, || {
        (t.format("#{alternate_on}") == "0").then_some(())
    });
    t.wait_screen("a shell in the worktree of");
    // Keys the board would take (n: new issue, q: quit) reach the shell.
    t.text("nq");
    t.keys(&["Enter"]);
    assert_eq!(wait_file(&m.join("typed")), "nq");
    std::fs::write(m.join("release"), "").unwrap();
    t.wait_screen("back from the shell");
    t.wait_screen("Look around");
    assert_eq!(t.format("#{alternate_on}"), "1");
    assert!(t.alive());
    // Still answering keys.
    t.keys(&["?"]);
    t.wait_screen("j/k select");
    t.keys(&["Escape"]);
    t.quit();
}

#[test]
fn s_without_a_worktree_says_so_and_runs_nothing() {
    let repo = TestRepo::new();
    let m = marks(&repo);
    let shell = script(&repo, "shell", &format!("touch {}/ran", m.display()));
    let repo = repo.with_env("SHELL", &shell.display().to_string());
    repo.add(&["Never ran"]);
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    t.wait_screen("Never ran");
    t.keys(&["s"]);
    t.wait_screen("has no worktree");
    // C has nothing to continue either.
    t.keys(&["C"]);
    t.wait_screen("no agent session");
    assert!(!m.join("ran").exists());
    assert_eq!(t.format("#{alternate_on}"), "1");
    t.quit();
}

#[test]
fn e_edits_the_body_in_the_editor_and_a_failing_editor_saves_nothing() {
    let repo = TestRepo::new();
    // Rewrites the file, unless the body asks it to fail (after writing: nothing may count).
    let editor = script(
        &repo,
        "editor",
        "if grep -q 'fail-me' \"$1\"; then printf 'lost\\n' > \"$1\"; exit 1; fi\nprintf 'Edited by hand.\\n\\nSecond line.\\n' > \"$1\"",
    );
    let repo = repo.with_env("EDITOR", &editor.display().to_string());
    let good = repo.add(&["Good edit", "--body", "old body"]);
    // In another column, so each is the first card of its own.
    let bad = repo.add(&["Bad edit", "--body", "please fail-me", "--ready"]);
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    t.wait_screen("Bad edit");
    t.keys(&["1", "E"]);
    wait_for("the edited body", LIMIT, || {
        (repo.show(good)["body"] == "Edited by hand.\n\nSecond line.").then_some(())
    });
    t.wait_screen(&format!("#{good} saved"));
    assert_eq!(t.format("#{alternate_on}"), "1");
    t.keys(&["2", "E"]);
    t.wait_screen("nothing saved");
    assert_eq!(repo.show(bad)["body"], "please fail-me");
    assert_eq!(t.format("#{alternate_on}"), "1");
    t.quit();
}

#[test]
fn c_continues_the_session_in_the_worktree_and_commits_what_changed() {
    let repo = TestRepo::new();
    let m = marks(&repo);
    let claude = script(
        &repo,
        "claude",
        &format!(
            "printf '%s\\n' \"$@\" > {m}/args\npwd > {m}/cwd\nprintf 'by hand\\n' > human.txt",
            m = m.display()
        ),
    );
    let id = reviewed(&repo, "Continue me");
    let session = repo.show(id)["session_id"].as_str().unwrap().to_string();
    let branch = repo.show(id)["branch"].as_str().unwrap().to_string();
    let worktree = repo.show(id)["worktree"].as_str().unwrap().to_string();
    let repo = repo.with_env("AUTOPILOT_CLAUDE_BIN", &claude.display().to_string());
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    // At 120 columns the review column is off screen until it is focused.
    t.wait_screen("in review 1");
    t.keys(&["5"]);
    t.wait_screen("Continue me");
    t.keys(&["C"]);
    let comment = wait_for("the session's commit", LIMIT, || {
        let c = support::last_comment(&repo.show(id));
        c.contains("were committed as").then_some(c)
    });
    let args: Vec<String> = read(&m.join("args"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(args[..2], ["--resume".to_string(), session], "{args:?}");
    assert!(
        args.windows(2)
            .any(|w| w == ["--permission-mode", "bypassPermissions"]),
        "{args:?}"
    );
    assert!(
        !args.iter().any(|a| a == "-p" || a.contains("stream-json")),
        "{args:?}"
    );
    assert!(same_dir(&read(&m.join("cwd")).unwrap(), &worktree));
    // Committed on the issue branch, as the comment says, and the worktree is clean.
    let sha = support::git(&repo.root, &["rev-parse", "--short=10", &branch]);
    assert!(comment.contains(&sha), "{comment} / {sha}");
    assert_eq!(
        support::git(&repo.root, &["show", &format!("{branch}:human.txt")]),
        "by hand"
    );
    assert!(support::git(Path::new(&worktree), &["status", "--porcelain"]).is_empty());
    t.wait_screen(&format!("committed the session as {sha}"));
    assert_eq!(t.format("#{alternate_on}"), "1");
    assert_eq!(repo.status(id), "in_review");
    t.quit();
}

#[test]
fn c_is_refused_while_an_agent_runs_on_the_issue() {
    let repo = TestRepo::new();
    let m = marks(&repo);
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    let runner = repo.spawn_run(&[]);
    wait_for("the claim", LIMIT, || {
        (repo.status(id) == "in_progress").then_some(())
    });
    let claude = script(&repo, "claude", &format!("touch {}/ran", m.display()));
    let repo = repo.with_env("AUTOPILOT_CLAUDE_BIN", &claude.display().to_string());
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    t.wait_screen("Hangs");
    t.keys(&["3", "C"]);
    t.wait_screen("has an agent working on it");
    assert!(!m.join("ran").exists());
    t.quit();
    drop(runner);
}

#[test]
fn r_after_an_accept_conflicted_offers_to_send_the_conflict_to_the_agent() {
    let repo = TestRepo::new();
    let id = reviewed(&repo, "Say hello");
    // main moves on in the same file: accepting conflicts.
    std::fs::write(repo.root.join("hello.txt"), "Hello from main\n").unwrap();
    support::git(&repo.root, &["add", "hello.txt"]);
    support::git(&repo.root, &["commit", "-q", "-m", "main's hello"]);
    let err = repo.fails(&["accept", &id.to_string()]);
    assert!(err.contains("hello.txt"), "{err}");
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    // At 120 columns the review column is off screen until it is focused.
    t.wait_screen("in review 1");
    t.keys(&["5"]);
    t.wait_screen("Say hello");
    t.keys(&["R"]);
    t.wait_screen(&format!("Request changes on #{id}"));
    t.wait_screen("Merge main into the branch");
    t.wait_screen("- hello.txt");
    t.keys(&["C-s"]);
    wait_for("the request", LIMIT, || {
        (repo.status(id) == "ready").then_some(())
    });
    let last = support::last_comment(&repo.show(id));
    assert!(
        last.contains("resolve the conflicts in:\n- hello.txt"),
        "{last}"
    );
    t.quit();
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

/// A program that leaves the terminal's keys alone (ctrl-c signals it and the board alike):
/// it marks that it started, then waits to be let go.
fn waiting_shell(repo: TestRepo, m: &Path) -> TestRepo {
    let shell = script(
        &repo,
        "shell",
        &format!(
            "touch {m}/started\nwhile [ ! -e {m}/release ]; do sleep 0.05; done",
            m = m.display()
        ),
    );
    repo.with_env("SHELL", &shell.display().to_string())
}

#[test]
fn ctrl_c_in_the_program_is_the_programs_and_does_not_quit_the_board() {
    let repo = TestRepo::new();
    let m = marks(&repo);
    let repo = waiting_shell(repo, &m);
    reviewed(&repo, "Interrupt me");
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    t.wait_screen("in review 1");
    t.keys(&["5", "s"]);
    wait_file(&m.join("started"));
    t.keys(&["C-c"]);
    t.wait_screen("back from the shell");
    // The board stayed: it still answers keys.
    t.keys(&["?"]);
    t.wait_screen("j/k select");
    t.keys(&["Escape"]);
    assert_eq!(t.format("#{alternate_on}"), "1");
    t.quit();
}

#[test]
fn ended_while_a_program_has_the_terminal_the_terminal_is_left_as_the_shell_had_it() {
    let repo = TestRepo::new();
    let m = marks(&repo);
    let repo = waiting_shell(repo, &m);
    reviewed(&repo, "Terminate me");
    let Some(t) = Tmux::start_in_shell(&repo, "--no-runner") else {
        return;
    };
    t.wait_screen("in review 1");
    t.keys(&["5", "s"]);
    wait_file(&m.join("started"));
    let pid = tui_pid(&t);
    assert!(support::signal(pid as u32, "TERM"));
    t.wait_screen("EXITED:");
    assert_eq!(t.format("#{alternate_on}"), "0");
    assert_eq!(t.format("#{cursor_flag}"), "1");
    std::fs::write(m.join("release"), "").unwrap();
}
