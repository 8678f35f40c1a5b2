//! Accept lands the work: every `[merge] policy` against real git repositories, the user's
//! checkout never half-merged or silently changed, conflicts that change nothing and go back
//! to the agent, clean-up, and accepts that race or come too early.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use support::{git, wait_for, wait_output, TestRepo};

/// An issue run to review by the fake agent: its id, branch and worktree.
fn reviewed(repo: &TestRepo, title: &str, body: &str) -> (i64, String, PathBuf) {
    let id = repo.add(&[title, "--body", body, "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{issue}");
    (
        id,
        issue["branch"].as_str().unwrap().to_string(),
        PathBuf::from(issue["worktree"].as_str().unwrap()),
    )
}

fn sha(dir: &Path, rev: &str) -> String {
    git(dir, &["rev-parse", rev])
}

fn has_ref(dir: &Path, name: &str) -> bool {
    std::process::Command::new("git")
        .args(["rev-parse", "--verify", "--quiet", name])
        .current_dir(dir)
        .output()
        .unwrap()
        .status
        .success()
}

/// Commits `content` to `file` on the branch checked out in `dir`.
fn commit_file(dir: &Path, file: &str, content: &str) -> String {
    std::fs::write(dir.join(file), content).unwrap();
    git(dir, &["add", file]);
    git(dir, &["commit", "-q", "-m", &format!("change {file}")]);
    sha(dir, "HEAD")
}

fn comments(repo: &TestRepo, id: i64) -> Vec<(String, String)> {
    repo.show(id)["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["author"].as_str().unwrap().to_string(),
                c["body"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn policy_repo(policy: &str) -> TestRepo {
    TestRepo::new().with_env("AUTOPILOT_MERGE_POLICY", policy)
}

#[test]
fn each_policy_lands_the_work_on_the_base() {
    for policy in ["merge", "squash", "rebase", "ff-only"] {
        let repo = policy_repo(policy);
        let (id, branch, wt) = reviewed(&repo, "Say hello", "[scenario:implement]");
        let tip = sha(&repo.root, &branch);
        // The base moves on after the run (except for ff-only, which needs it not to).
        let moved = (policy != "ff-only").then(|| commit_file(&repo.root, "other.txt", "x\n"));
        let before = sha(&repo.root, "main");
        let out = repo.ok(&["accept", &id.to_string()]);
        assert!(out.contains(&format!("#{id} is done")), "{policy}: {out}");
        assert_eq!(repo.status(id), "done", "{policy}");
        let main = sha(&repo.root, "main");
        let hello = git(&repo.root, &["show", "main:hello.txt"]);
        assert!(hello.contains("Hello, world!"), "{policy}: {hello}");
        assert!(git(&repo.root, &["log", "--format=%s", "main"]).contains("initial"));
        let parents = git(&repo.root, &["rev-list", "--parents", "-1", "main"]);
        let parents: Vec<&str> = parents.split(' ').skip(1).collect();
        let subject = git(&repo.root, &["log", "-1", "--format=%s", "main"]);
        match policy {
            "merge" => {
                assert_eq!(parents, [before.as_str(), tip.as_str()], "a --no-ff merge");
                assert_eq!(subject, format!("Merge #{id} Say hello"));
            }
            "squash" => {
                assert_eq!(parents, [before.as_str()], "one commit on the base");
                assert_eq!(subject, format!("#{id} Say hello"));
                let body = git(&repo.root, &["log", "-1", "--format=%b", "main"]);
                assert!(body.contains("Implemented hello.txt."), "{body}");
            }
            "rebase" => {
                let merges = git(&repo.root, &["rev-list", "--merges", "main"]);
                assert!(merges.is_empty(), "a rebase keeps history linear");
                assert_eq!(parents, [before.as_str()]);
                let author = git(&repo.root, &["log", "-1", "--format=%an", "main"]);
                assert_eq!(author, "autopilot agent", "the agent's commit, replayed");
                assert!(moved.is_some_and(|m| {
                    git(&repo.root, &["merge-base", "--is-ancestor", &m, "main"]).is_empty()
                }));
            }
            _ => assert_eq!(main, tip, "fast-forwarded to the branch"),
        }
        // The checkout of main (the main worktree) follows, clean; the issue's worktree is
        // removed and its branch deleted; the comment names the new commit.
        assert!(repo.root.join("hello.txt").exists(), "{policy}");
        assert_eq!(git(&repo.root, &["status", "--porcelain"]), "", "{policy}");
        assert!(!wt.exists(), "{policy}: worktree removed");
        assert!(
            !has_ref(&repo.root, &format!("refs/heads/{branch}")),
            "{policy}"
        );
        let all = comments(&repo, id);
        assert!(
            all.iter()
                .any(|(_, b)| b.contains(&main[..10]) && b.contains("Accepted: merged")),
            "{policy}: {all:?}"
        );
        assert!(
            all.iter().any(|(_, b)| b.contains("removed the worktree")
                && b.contains(&format!("deleted the branch {branch}"))),
            "{all:?}"
        );
    }
}

#[test]
fn policy_none_marks_done_and_touches_no_git() {
    let repo = policy_repo("none");
    let (id, branch, wt) = reviewed(&repo, "Say hello", "[scenario:implement]");
    let main = sha(&repo.root, "main");
    repo.ok(&["move", &id.to_string(), "done"]);
    assert_eq!(repo.status(id), "done");
    assert_eq!(sha(&repo.root, "main"), main);
    assert!(wt.exists() && has_ref(&repo.root, &format!("refs/heads/{branch}")));
}

#[test]
fn a_dirty_checkout_of_the_base_is_refused_naming_the_files() {
    let repo = TestRepo::new();
    let (id, branch, wt) = reviewed(&repo, "Say hello", "[scenario:implement]");
    let main = sha(&repo.root, "main");
    std::fs::write(repo.root.join("README.md"), "my own edit\n").unwrap();
    let err = repo.fails(&["accept", &id.to_string()]);
    assert!(
        err.contains("README.md")
            && err.contains("uncommitted changes")
            && err.contains("stays in review"),
        "{err}"
    );
    assert_eq!(repo.status(id), "in_review");
    assert_eq!(sha(&repo.root, "main"), main);
    assert_eq!(
        std::fs::read_to_string(repo.root.join("README.md")).unwrap(),
        "my own edit\n"
    );
    assert!(wt.exists() && has_ref(&repo.root, &format!("refs/heads/{branch}")));
    // `move ID done` is the same path, with the same refusal.
    let err = repo.fails(&["move", &id.to_string(), "done"]);
    assert!(err.contains("README.md"), "{err}");
}

#[test]
fn a_base_checked_out_nowhere_is_merged_without_touching_any_worktree() {
    let repo = TestRepo::new();
    let (id, _, _) = reviewed(&repo, "Say hello", "[scenario:implement]");
    // The user moved on to another branch, with work of their own in progress.
    git(&repo.root, &["switch", "-q", "-c", "side"]);
    std::fs::write(repo.root.join("README.md"), "edited on side\n").unwrap();
    std::fs::write(repo.root.join("scratch.txt"), "untracked\n").unwrap();
    let status = git(&repo.root, &["status", "--porcelain"]);
    let main = sha(&repo.root, "main");
    repo.ok(&["accept", &id.to_string()]);
    assert_eq!(repo.status(id), "done");
    assert_eq!(git(&repo.root, &["rev-parse", "main^1"]), main);
    assert!(git(&repo.root, &["show", "main:hello.txt"]).contains("Hello"));
    assert_eq!(git(&repo.root, &["branch", "--show-current"]), "side");
    assert_eq!(git(&repo.root, &["status", "--porcelain"]), status);
    assert!(!repo.root.join("hello.txt").exists());
}

#[test]
fn a_conflict_leaves_everything_as_it_was_and_lists_the_files() {
    let repo = TestRepo::new();
    let (id, branch, wt) = reviewed(&repo, "Say hello", "[scenario:implement]");
    commit_file(&repo.root, "hello.txt", "main's own hello\n");
    let (main, tip) = (sha(&repo.root, "main"), sha(&repo.root, &branch));
    let wt_status = git(&wt, &["status", "--porcelain"]);
    let out = repo.run(&["accept", &id.to_string()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("conflicts") && err.contains("hello.txt"),
        "{err}"
    );
    assert_eq!(repo.status(id), "in_review");
    assert_eq!(sha(&repo.root, "main"), main, "base unchanged");
    assert_eq!(sha(&repo.root, &branch), tip, "branch unchanged");
    assert!(!has_ref(&repo.root, "MERGE_HEAD") && !has_ref(&wt, "MERGE_HEAD"));
    assert_eq!(git(&repo.root, &["status", "--porcelain"]), "");
    assert_eq!(git(&wt, &["status", "--porcelain"]), wt_status);
    assert_eq!(
        std::fs::read_to_string(repo.root.join("hello.txt")).unwrap(),
        "main's own hello\n"
    );
    let all = comments(&repo, id);
    let (author, body) = all.last().unwrap();
    assert_eq!(author, "autopilot merge");
    assert!(
        body.contains("- hello.txt") && body.contains("Nothing was changed"),
        "{body}"
    );
}

#[test]
fn after_a_conflict_requested_changes_send_it_to_the_agent_to_resolve() {
    let repo = TestRepo::new();
    let (id, branch, _) = reviewed(&repo, "Say hello", "[scenario:resolve]");
    commit_file(&repo.root, "hello.txt", "main's own hello\n");
    repo.fails(&["accept", &id.to_string()]);
    repo.ok(&[
        "request-changes",
        &id.to_string(),
        "Merge main and resolve the conflict",
    ]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review", "{:?}", comments(&repo, id));
    let prompt = repo.agent_prompts().pop().unwrap();
    assert!(
        prompt.contains("Merge conflicts to resolve first") && prompt.contains("- hello.txt"),
        "{prompt}"
    );
    // The branch now contains main, resolved: both sides kept, no markers.
    git(
        &repo.root,
        &["merge-base", "--is-ancestor", "main", &branch],
    );
    let resolved = git(&repo.root, &["show", &format!("{branch}:hello.txt")]);
    assert!(resolved.contains("main's own hello") && resolved.contains("Hello, world!"));
    assert!(
        !resolved.contains("<<<<<<<") && !resolved.contains(">>>>>>>"),
        "{resolved}"
    );
    repo.ok(&["accept", &id.to_string()]);
    assert_eq!(repo.status(id), "done");
    assert_eq!(git(&repo.root, &["show", "main:hello.txt"]), resolved);
}

#[test]
fn a_rerun_without_a_conflicting_accept_still_parks_on_a_conflict() {
    // The flag is the accept's conflict comment: a plain rerun keeps today's behaviour.
    let repo = TestRepo::new();
    let (id, branch, _) = reviewed(&repo, "Say hello", "[scenario:resolve]");
    commit_file(&repo.root, "hello.txt", "main's own hello\n");
    let tip = sha(&repo.root, &branch);
    repo.ok(&["request-changes", &id.to_string(), "more"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "blocked");
    assert_eq!(sha(&repo.root, &branch), tip);
}

#[test]
fn a_dirty_worktree_is_kept_with_its_branch_and_said_so() {
    let repo = TestRepo::new();
    let (id, branch, wt) = reviewed(&repo, "Say hello", "[scenario:implement]");
    std::fs::write(wt.join("notes.txt"), "mine\n").unwrap();
    let out = repo.ok(&["accept", &id.to_string()]);
    assert_eq!(repo.status(id), "done");
    assert!(git(&repo.root, &["show", "main:hello.txt"]).contains("Hello"));
    assert!(wt.join("notes.txt").exists());
    assert!(has_ref(&repo.root, &format!("refs/heads/{branch}")));
    assert!(
        out.contains("kept the worktree") && out.contains("notes.txt"),
        "{out}"
    );
    let (_, last) = comments(&repo, id).pop().unwrap();
    assert!(
        last.contains("kept the worktree") && last.contains("kept the branch"),
        "{last}"
    );
}

#[test]
fn two_accepts_at_once_one_wins_and_the_other_says_why() {
    let repo = TestRepo::new();
    let (id, _, _) = reviewed(&repo, "Say hello", "[scenario:implement]");
    let spawn = || {
        repo.cmd(&["accept", &id.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outs = [
        wait_output(a, Duration::from_secs(60)),
        wait_output(b, Duration::from_secs(60)),
    ];
    let wins = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(wins, 1, "{outs:?}");
    let loser = outs.iter().find(|o| !o.status.success()).unwrap();
    let err = String::from_utf8_lossy(&loser.stderr);
    assert!(err.contains("done already"), "{err}");
    assert_eq!(
        git(&repo.root, &["rev-list", "--merges", "--count", "main"]),
        "1"
    );
    assert_eq!(repo.status(id), "done");
}

#[test]
fn accepting_while_the_agent_runs_is_refused() {
    let gate = tempfile::tempdir().unwrap();
    let repo =
        TestRepo::new().with_env("FAKE_CLAUDE_GATE", gate.path().join("go").to_str().unwrap());
    let id = repo.add(&["Slow", "--body", "[scenario:slow]", "--ready"]);
    let _runner = repo.spawn_run(&[]);
    wait_for("the claim", Duration::from_secs(60), || {
        (repo.status(id) == "in_progress").then_some(())
    });
    let err = repo.fails(&["accept", &id.to_string()]);
    assert!(err.contains("an agent is working on it"), "{err}");
    assert_eq!(repo.status(id), "in_progress");
}

#[test]
fn ff_only_refuses_clearly_when_the_base_moved_on() {
    let repo = policy_repo("ff-only");
    let (id, branch, _) = reviewed(&repo, "Say hello", "[scenario:implement]");
    let main = commit_file(&repo.root, "other.txt", "x\n");
    let err = repo.fails(&["accept", &id.to_string()]);
    assert!(
        err.contains("cannot be fast-forwarded") && err.contains("1 commit"),
        "{err}"
    );
    assert_eq!(repo.status(id), "in_review");
    assert_eq!(sha(&repo.root, "main"), main);
    assert!(has_ref(&repo.root, &format!("refs/heads/{branch}")));
}

#[test]
fn nothing_to_merge_a_missing_branch_and_a_deleted_worktree() {
    let repo = TestRepo::new();
    // Merged by hand already: accepting has nothing to merge and says so.
    let (id, branch, _) = reviewed(&repo, "Say hello", "[scenario:implement]");
    git(
        &repo.root,
        &["merge", "-q", "--no-ff", "-m", "by hand", &branch],
    );
    let main = sha(&repo.root, "main");
    let out = repo.ok(&["accept", &id.to_string()]);
    assert!(out.contains("nothing to merge"), "{out}");
    assert_eq!(sha(&repo.root, "main"), main);
    assert_eq!(repo.status(id), "done");

    // A branch deleted by hand: refused, then accepted without merging on request.
    let (id, branch, wt) = reviewed(&repo, "Other", "[scenario:implement]");
    git(&repo.root, &["worktree", "remove", wt.to_str().unwrap()]);
    git(&repo.root, &["branch", "-q", "-D", &branch]);
    let err = repo.fails(&["accept", &id.to_string()]);
    assert!(
        err.contains("does not exist") && err.contains(&branch),
        "{err}"
    );
    assert_eq!(repo.status(id), "in_review");
    repo.ok(&["accept", &id.to_string(), "--no-merge"]);
    assert_eq!(repo.status(id), "done");

    // A worktree deleted by hand: the branch still merges; the comment says it was gone.
    let (id, _, wt) = reviewed(&repo, "Third", "[scenario:implement]");
    std::fs::remove_dir_all(&wt).unwrap();
    let out = repo.ok(&["accept", &id.to_string()]);
    assert!(out.contains("already gone"), "{out}");
    assert_eq!(repo.status(id), "done");
    assert_eq!(git(&repo.root, &["status", "--porcelain"]), "");
}

#[test]
fn push_sends_the_merged_base_to_origin_and_a_failed_push_keeps_the_merge() {
    let repo = TestRepo::new();
    std::fs::write(repo.root.join("autopilot.toml"), "[merge]\npush = true\n").unwrap();
    git(&repo.root, &["add", "autopilot.toml"]);
    git(&repo.root, &["commit", "-q", "-m", "config"]);
    // No origin yet: the push fails, the merge stays, the comment says so.
    let (id, _, _) = reviewed(&repo, "First", "[scenario:implement]");
    let out = repo.ok(&["accept", &id.to_string()]);
    assert!(
        out.contains("could not push main (the merge stays)"),
        "{out}"
    );
    assert_eq!(repo.status(id), "done");
    assert!(git(&repo.root, &["show", "main:hello.txt"]).contains("Hello"));
    // With an origin, the merged base is pushed.
    let origin = repo.dir.path().join("origin.git");
    git(
        repo.dir.path(),
        &["init", "-q", "--bare", origin.to_str().unwrap()],
    );
    git(
        &repo.root,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    let (id, _, _) = reviewed(&repo, "Second", "[scenario:implement]");
    let out = repo.ok(&["accept", &id.to_string()]);
    assert!(out.contains("pushed main to origin"), "{out}");
    assert_eq!(sha(&origin, "main"), sha(&repo.root, "main"));
}
