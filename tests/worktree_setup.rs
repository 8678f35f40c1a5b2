//! `[worktree] copy` and `[worktree] setup` through the real binary: a real git repo, the fake
//! agent, files copied into each new worktree and a setup command run there before the agent.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use serde_json::Value;
use support::{git, last_comment, pairs, run_roles, TestRepo};

fn worktree(issue: &Value) -> PathBuf {
    PathBuf::from(issue["worktree"].as_str().unwrap())
}

fn comments(issue: &Value) -> String {
    issue["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n---\n")
}

fn transcript_text(repo: &TestRepo, run_id: i64) -> String {
    repo.transcript(run_id)
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn copied_files_reach_the_worktree_and_are_never_committed() {
    let repo = TestRepo::with_config(
        "[worktree]\ncopy = [\".env\", \"config/local.toml\", \"missing.txt\", \"link\", \"deps\", \"README.md\"]\n",
    );
    let root = &repo.root;
    std::fs::write(root.join(".env"), "TOKEN=local\n").unwrap();
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::write(root.join("config/local.toml"), "debug = true\n").unwrap();
    std::fs::create_dir_all(root.join("deps/inner")).unwrap();
    std::fs::write(root.join("deps/inner/lib.txt"), "lib\n").unwrap();
    let outside = repo.dir.path().join("outside-secret");
    std::fs::write(&outside, "not yours\n").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("deps/escape")).unwrap();
    std::fs::write(root.join("README.md"), "# changed in main only\n").unwrap();

    let id = repo.add(&["Say hello", "--ready"]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let wt = worktree(&issue);
    assert_eq!(
        std::fs::read_to_string(wt.join(".env")).unwrap(),
        "TOKEN=local\n"
    );
    assert_eq!(
        std::fs::read_to_string(wt.join("config/local.toml")).unwrap(),
        "debug = true\n"
    );
    assert_eq!(
        std::fs::read_to_string(wt.join("deps/inner/lib.txt")).unwrap(),
        "lib\n"
    );
    // symlinks out of the repository are never followed; a tracked file stays as checked out
    assert!(wt.join("link").symlink_metadata().is_err());
    assert!(wt.join("deps/escape").symlink_metadata().is_err());
    assert_eq!(
        std::fs::read_to_string(wt.join("README.md")).unwrap(),
        "# test repo\n"
    );
    // nothing copied shows in the worktree's status, nor in the runner's commit
    assert_eq!(
        git(&wt, &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    let branch = issue["branch"].as_str().unwrap();
    let files = git(root, &["show", "--name-only", "--format=", branch]);
    assert_eq!(files, "hello.txt");
    // what was not copied is said in the thread, and the run went on
    let thread = comments(&issue);
    assert!(
        thread.contains("`missing.txt` was not copied: it does not exist"),
        "{thread}"
    );
    assert!(
        thread.contains("`link` was not copied: it leads outside the repository"),
        "{thread}"
    );
    assert!(
        thread.contains("`deps` was copied without the 1 symlink(s)"),
        "{thread}"
    );
    assert!(
        thread.contains("`README.md` was not copied: the new worktree has it already"),
        "{thread}"
    );
}

#[test]
fn a_copy_path_leaving_the_repository_is_refused_when_the_configuration_is_read() {
    for bad in ["../secrets", "/etc/passwd"] {
        let repo = TestRepo::with_config(&format!("[worktree]\ncopy = [\"{bad}\"]\n"));
        let err = repo.fails(&["list"]);
        assert!(
            err.contains("[worktree] copy") && err.contains(bad),
            "{err}"
        );
    }
}

#[test]
fn setup_runs_once_in_a_new_worktree_before_the_agent_and_its_output_is_kept() {
    let repo = TestRepo::with_config(
        "[worktree]\ncopy = [\".env\"]\nsetup = '''echo setting-up-now; test -f .env && echo ran >> \"$SETUP_COUNT\"'''\n",
    );
    let count = repo.dir.path().join("setup-count");
    let repo = repo.with_env("SETUP_COUNT", &count.display().to_string());
    std::fs::write(repo.root.join(".env"), "A=1\n").unwrap();
    let id = repo.add(&["Ask first", "--body", "[scenario:ask]", "--ready"]);
    assert!(repo.run(&["run", "--once"]).status.success());
    assert_eq!(repo.status(id), "blocked");
    // the human answers; the rerun reuses the worktree and does not set it up again
    repo.ok(&["comment", &id.to_string(), "ANSWER: redis"]);
    assert!(repo.run(&["run", "--once"]).status.success());
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        run_roles(&issue),
        pairs(&[
            ("setup", "passed"),
            ("implement", "blocked"),
            ("implement", "implemented")
        ])
    );
    // it ran after the copy, once
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "ran\n");
    let setup_run = issue["runs"][0]["id"].as_i64().unwrap();
    assert!(transcript_text(&repo, setup_run).contains("setting-up-now"));
    let log = String::from_utf8_lossy(
        &repo
            .run(&["log", &id.to_string(), "--run", &setup_run.to_string()])
            .stdout,
    )
    .into_owned();
    assert!(log.contains("setting-up-now"), "{log}");
}

#[test]
fn a_failing_setup_blocks_with_its_output_and_runs_again_on_the_rerun() {
    let repo = TestRepo::with_config(
        "[worktree]\nsetup = '''echo broken-setup-output; echo token sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789; test -e \"$SETUP_FLAG\" || exit 4'''\n",
    );
    let flag = repo.dir.path().join("setup-may-pass");
    let repo = repo.with_env("SETUP_FLAG", &flag.display().to_string());
    let id = repo.add(&["Say hello", "--ready"]);
    assert!(repo.run(&["run", "--once"]).status.success());
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(run_roles(&issue), pairs(&[("setup", "failed")]));
    let comment = last_comment(&issue);
    assert!(comment.contains("exited with status 4"), "{comment}");
    assert!(comment.contains("broken-setup-output"), "{comment}");
    assert!(
        !comment.contains("abcdefghijklmnop"),
        "the secret is redacted: {comment}"
    );
    assert!(repo.agent_prompts().is_empty(), "the agent never started");
    // fixed: the rerun sets the worktree up again before the agent
    std::fs::write(&flag, "").unwrap();
    repo.ok(&["comment", &id.to_string(), "fixed the setup"]);
    assert!(repo.run(&["run", "--once"]).status.success());
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        run_roles(&issue),
        pairs(&[
            ("setup", "failed"),
            ("setup", "passed"),
            ("implement", "implemented")
        ])
    );
}

#[test]
fn a_hanging_setup_times_out_and_blocks() {
    let repo = TestRepo::with_config(
        "[worktree]\nsetup = 'echo waiting; sleep 1000'\nsetup_timeout_seconds = 1\n",
    );
    let id = repo.add(&["Say hello", "--ready"]);
    assert!(repo.run(&["run", "--once"]).status.success());
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(run_roles(&issue), pairs(&[("setup", "failed")]));
    let comment = last_comment(&issue);
    assert!(
        comment.contains("timed out after") && comment.contains("[worktree] setup_timeout_seconds"),
        "{comment}"
    );
    assert!(comment.contains("waiting"), "{comment}");
    assert!(repo.agent_prompts().is_empty(), "the agent never started");
}
