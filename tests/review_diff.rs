//! `diff ID [--stat]` through the real binary, on a real repository after a fake-agent run.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use support::{git, TestRepo};

/// A repository whose issue #1 went to review through the fake agent (it adds hello.txt),
/// with one more commit on the issue branch holding a rename, a binary file, a mode change
/// and a line full of escape sequences; and an uncommitted change on top.
fn reviewed() -> (TestRepo, PathBuf) {
    let repo = TestRepo::new();
    for (name, text) in [
        ("old name.txt", "kept\nkept\nkept\n"),
        ("run.sh", "echo hi\n"),
    ] {
        std::fs::write(repo.root.join(name), text).unwrap();
    }
    git(&repo.root, &["add", "."]);
    git(&repo.root, &["commit", "-qm", "more files"]);
    let id = repo.add(&["Say hello", "--body", "[scenario:implement]", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    let wt = PathBuf::from(repo.show(id)["worktree"].as_str().unwrap());
    git(&wt, &["mv", "old name.txt", "new name.txt"]);
    std::fs::write(wt.join("logo.png"), [0u8, 1, 2, 0, 255, 0, 7]).unwrap();
    std::fs::set_permissions(wt.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        wt.join("evil.txt"),
        "title \u{1b}]0;pwned\u{7}here \u{1b}[2J\u{1b}]52;c;ZXZpbA==\u{7}end\n",
    )
    .unwrap();
    git(&wt, &["add", "."]);
    git(&wt, &["commit", "-qm", "by hand"]);
    std::fs::write(wt.join("hello.txt"), "uncommitted\n").unwrap();
    std::fs::write(wt.join("untracked.txt"), "nope\n").unwrap();
    // The base moves on: that change is not the issue's.
    std::fs::write(repo.root.join("base-only.txt"), "x\n").unwrap();
    git(&repo.root, &["add", "."]);
    git(&repo.root, &["commit", "-qm", "base moves on"]);
    (repo, wt)
}

#[test]
fn diff_and_stat_show_the_branch_against_its_merge_base() {
    let (repo, _wt) = reviewed();
    let stat = repo.ok(&["diff", "1", "--stat"]);
    let lines: Vec<&str> = stat.lines().collect();
    assert_eq!(lines.len(), 6, "{stat}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with(" evil.txt ") && l.contains("|   1 +")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with(" hello.txt ") && l.contains("|   1 +")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with(" logo.png ") && l.ends_with("Bin")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with(" old name.txt → new name.txt ") && l.ends_with("|   0")));
    assert!(lines.iter().any(|l| l.starts_with(" run.sh ")));
    assert_eq!(lines[5], " 5 files changed, 2 insertions(+)");
    for absent in ["base-only", "untracked", "uncommitted"] {
        assert!(!stat.contains(absent), "{absent} in {stat}");
    }

    let out = repo.run(&["diff", "1"]);
    assert!(out.status.success());
    let raw = out.stdout;
    // Not a terminal: no colour, and nothing from the content reaches stdout raw.
    assert!(!raw.contains(&0x1b), "an escape byte got through");
    assert!(!raw.contains(&0x07), "a bell got through");
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with(&stat), "the stat comes first:\n{text}");
    assert!(text.contains("+title here end\n"), "{text}");
    assert!(text.contains("renamed from old name.txt\n"), "{text}");
    assert!(text.contains("mode 100644 → 100755\n"), "{text}");
    assert!(
        text.contains("Binary file logo.png differs (not shown)\n"),
        "{text}"
    );
    assert!(text.contains("+++ b/hello.txt\n"), "{text}");
    assert!(text.contains("+Hello, world!"), "{text}");
    assert!(!text.contains("uncommitted") && !text.contains("base-only"));

    // The stat the runner stored when it moved the issue to review: hello.txt alone.
    assert_eq!(
        repo.show(1)["diff"],
        serde_json::json!({"files": 1, "added": 1, "removed": 0})
    );
}

#[test]
fn colour_is_for_terminals_only_and_no_color_turns_it_off() {
    // A pipe gets none (above); on a terminal (`script` gives one, where it exists) colour is
    // on unless NO_COLOR is set.
    let (repo, _wt) = reviewed();
    let Ok(script) = which_script() else {
        return;
    };
    let run = |no_color: bool| {
        let out = std::process::Command::new(&script)
            .args([
                "-qec",
                &format!("{} diff 1", support::bin().display()),
                "/dev/null",
            ])
            .current_dir(&repo.root)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(repo.env_vars())
            .envs(no_color.then_some(("NO_COLOR", "1")))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = run(false);
    assert!(coloured.contains("\u{1b}[32m+Hello"), "{coloured:?}");
    // The content's own escape sequences are still gone: only our colour codes remain.
    assert!(coloured.contains("+title here end"), "{coloured:?}");
    assert!(!coloured.contains("pwned") && !coloured.contains("\u{1b}]"));
    let plain = run(true);
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
    assert!(plain.contains("+Hello"), "{plain:?}");
}

fn which_script() -> Result<PathBuf, ()> {
    let ok = std::process::Command::new("script")
        .args(["-qec", "true", "/dev/null"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Ok(PathBuf::from("script"))
    } else {
        Err(())
    }
}

#[test]
fn unknown_unstarted_deleted_and_baseless_issues_are_refused_clearly() {
    let (repo, wt) = reviewed();
    let err = repo.fails(&["diff", "99"]);
    assert!(err.contains("#99") || err.contains("99"), "{err}");
    let backlog = repo.add(&["Not started"]);
    let err = repo.fails(&["diff", &backlog.to_string()]);
    assert!(
        err.contains(&format!("#{backlog} has no branch yet")),
        "{err}"
    );

    // The base is deleted.
    git(&repo.root, &["branch", "side"]);
    repo.ok(&["edit", "1", "--base", "side"]);
    git(&repo.root, &["branch", "-D", "side"]);
    let err = repo.fails(&["diff", "1", "--stat"]);
    assert!(
        err.contains("#1: its base branch side does not exist"),
        "{err}"
    );
    repo.ok(&["edit", "1", "--base", "main"]);
    repo.ok(&["diff", "1", "--stat"]);

    // The branch is deleted.
    let branch = repo.show(1)["branch"].as_str().unwrap().to_string();
    git(
        &repo.root,
        &["worktree", "remove", "--force", wt.to_str().unwrap()],
    );
    git(&repo.root, &["branch", "-D", &branch]);
    let err = repo.fails(&["diff", "1"]);
    assert!(
        err.contains(&format!("#1: its branch {branch} does not exist any more")),
        "{err}"
    );
}

/// The real binary in tmux at 80×24: `D` on the card in review opens its diff, `G` goes to
/// its end, esc comes back to the board.
#[test]
fn d_on_a_reviewed_card_shows_the_diff_in_a_real_terminal() {
    use support::tmux::{Tmux, LIMIT};
    if !support::tmux::available() {
        return;
    }
    let (repo, _wt) = reviewed();
    let Some(t) = Tmux::start_sized(&repo, "--no-runner", 80, 24) else {
        return;
    };
    t.wait_screen("in review 1");
    // The card carries the stat the runner stored.
    t.keys(&["5"]);
    t.wait_screen("+1 −0");
    t.keys(&["D"]);
    t.wait_screen("5 files changed, +2 −0");
    let screen = t.wait_screen("+title here end");
    assert!(!screen.contains("pwned"), "{screen}");
    // 25 rows on 20: the end (run.sh's mode change) is below until G.
    assert!(!screen.contains("mode 100644"), "{screen}");
    t.keys(&["G"]);
    t.wait_screen("mode 100644 → 100755");
    t.keys(&["Escape"]);
    t.wait_screen("in review 1");
    support::wait_for("the diff to close", LIMIT, || {
        (!t.screen().contains("files changed")).then_some(())
    });
    t.keys(&["q"]);
    support::wait_for("the TUI to exit", LIMIT, || (!t.alive()).then_some(()));
}
