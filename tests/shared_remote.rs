//! Shared mode through the real binary: two "boxes" (two clones of one bare remote, each with
//! its own `AUTOPILOT_HOST`) share one SQLite file; branches travel through the remote, and
//! either box diffs, accepts and reruns what the other ran. Under
//! `AUTOPILOT_TEST_BACKEND=postgres` the boxes share a PostgreSQL database instead.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{alive, git, last_comment, read_pid, signal, wait_for, TestRepo};

/// Box A, box B, and the bare remote both push to.
struct Boxes {
    a: TestRepo,
    b: TestRepo,
    remote: PathBuf,
}

/// The shared environment of a box: the one database, shared mode, its own name.
fn as_box(repo: TestRepo, db: &str, host: &str) -> TestRepo {
    repo.with_env("AUTOPILOT_DB", db)
        .with_env("AUTOPILOT_SHARED", "1")
        .with_env("AUTOPILOT_HOST", host)
        .with_env("AUTOPILOT_AGENT_ID", host)
}

fn boxes() -> Boxes {
    // The boxes' own remote: not the one a repo on PostgreSQL would get.
    let (a, b, remote) = support::two_clones();
    let db = if support::on_postgres() {
        support::postgres::fresh_database().expect("a PostgreSQL server")
    } else {
        a.dir.path().join("shared.db").display().to_string()
    };
    Boxes {
        a: as_box(a, &db, "box-a"),
        b: as_box(b, &db, "box-b"),
        remote,
    }
}

/// Another handle on a box, with more environment.
trait CloneEnv {
    fn clone_env(&self, vars: &[(&str, &str)]) -> TestRepo;
}

impl CloneEnv for TestRepo {
    fn clone_env(&self, vars: &[(&str, &str)]) -> TestRepo {
        let mut env = self.env.clone();
        for (k, v) in vars {
            env.push((k.to_string(), v.to_string()));
        }
        TestRepo {
            dir: tempfile::tempdir().unwrap(),
            root: self.root.clone(),
            agent_log: self.agent_log.clone(),
            env,
        }
    }
}

/// The commit `rev` names in the bare remote, if any.
fn on_remote(remote: &Path, rev: &str) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--verify", "--quiet", rev])
        .current_dir(remote)
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The hosts that ran issue `id`, oldest first.
fn hosts(x: &Boxes, id: i64) -> Vec<String> {
    use autopilot_tui::store::sql::Exec;
    x.a.sql()
        .query_map(
            "SELECT owner_host FROM runs WHERE issue_id = ?1 ORDER BY id",
            &[id.into()],
            |r| r.get(0),
        )
        .unwrap()
}

/// Adds a ready issue on box A and runs it there; returns its id and branch.
fn run_on_a(x: &Boxes) -> (i64, String) {
    let id = x.a.add(&["Say hello", "--ready"]);
    x.a.ok(&["run", "--once"]);
    let issue = x.a.show(id);
    assert_eq!(issue["status"], "in_review", "{issue}");
    (id, issue["branch"].as_str().unwrap().to_string())
}

#[test]
fn a_run_on_box_a_is_diffed_and_accepted_from_box_b() {
    let x = boxes();
    let (id, branch) = run_on_a(&x);
    let tip = git(&x.a.root, &["rev-parse", &branch]);
    assert_eq!(
        on_remote(&x.remote, &format!("refs/heads/{branch}")).as_deref(),
        Some(tip.as_str()),
        "the branch is on the remote after the run"
    );
    let issue = x.a.show(id);
    assert!(
        last_comment(&issue).contains(&format!("Pushed {branch} to origin.")),
        "{issue}"
    );
    assert_eq!(hosts(&x, id), ["box-a"]);

    // box B never had the branch: diff fetches it
    assert!(support::git(&x.b.root, &["branch", "--list", &branch]).is_empty());
    let diff = x.b.ok(&["diff", &id.to_string()]);
    assert!(
        diff.contains("hello.txt") && diff.contains("+Hello, world!"),
        "{diff}"
    );

    // accept from box B lands on the remote's main
    x.b.ok(&["accept", &id.to_string()]);
    assert_eq!(x.b.status(id), "done");
    let main = on_remote(&x.remote, "refs/heads/main").unwrap();
    let shown = git(&x.remote, &["show", &format!("{main}:hello.txt")]);
    assert!(shown.starts_with("Hello, world!"), "{shown}");
    assert_eq!(
        git(&x.b.root, &["rev-parse", "main"]),
        main,
        "box B's main moved too"
    );
    // box A's own worktree is not box B's to remove
    assert!(
        x.a.root
            .join(".autopilot/worktrees")
            .read_dir()
            .unwrap()
            .count()
            > 0
    );
}

#[test]
fn a_rerun_claimed_by_box_b_continues_from_box_a_branch() {
    let x = boxes();
    let (id, branch) = run_on_a(&x);
    let first = git(&x.a.root, &["rev-parse", &branch]);
    x.b.ok(&["request-changes", &id.to_string(), "Say it twice"]);
    x.b.ok(&["run", "--once"]);
    let issue = x.b.show(id);
    assert_eq!(issue["status"], "in_review", "{issue}");
    assert_eq!(hosts(&x, id), ["box-a", "box-b"]);
    let second = git(&x.b.root, &["rev-parse", &branch]);
    assert_ne!(first, second);
    git(&x.b.root, &["merge-base", "--is-ancestor", &first, &second]);
    assert_eq!(
        on_remote(&x.remote, &format!("refs/heads/{branch}")).as_deref(),
        Some(second.as_str()),
        "box B pushed the continued branch"
    );
    let wt = issue["worktree"].as_str().unwrap();
    assert!(
        Path::new(wt).starts_with(&x.b.root) && Path::new(wt).is_dir(),
        "box B works in a worktree of its own: {wt}"
    );

    // box A's stale local branch catches up on its next rerun instead of diverging
    x.a.ok(&["request-changes", &id.to_string(), "Once more"]);
    x.a.ok(&["run", "--once"]);
    let third = git(&x.a.root, &["rev-parse", &branch]);
    git(&x.a.root, &["merge-base", "--is-ancestor", &second, &third]);
    assert_eq!(x.a.status(id), "in_review");
}

#[test]
fn a_local_branch_that_diverged_from_the_remote_is_an_error_and_nothing_is_lost() {
    let x = boxes();
    let (id, branch) = run_on_a(&x);
    // box B continues on the remote; box A commits on its own copy meanwhile
    x.b.ok(&["request-changes", &id.to_string(), "Again"]);
    x.b.ok(&["run", "--once"]);
    let wt = x.a.root.join(".autopilot/worktrees").join(
        Path::new(x.a.show(id)["worktree"].as_str().unwrap())
            .file_name()
            .unwrap(),
    );
    std::fs::write(wt.join("local.txt"), "mine\n").unwrap();
    git(&wt, &["add", "local.txt"]);
    git(&wt, &["commit", "-q", "-m", "local only"]);
    let local = git(&x.a.root, &["rev-parse", &branch]);
    let err = x.a.fails(&["diff", &id.to_string()]);
    assert!(err.contains("have diverged"), "{err}");
    assert_eq!(
        git(&x.a.root, &["rev-parse", &branch]),
        local,
        "nothing moved"
    );
}

#[test]
fn shared_mode_without_a_pushable_remote_refuses_to_start() {
    // Without the remote a repo on PostgreSQL would be given.
    let repo = TestRepo::on_sqlite().with_env("AUTOPILOT_SHARED", "1");
    let id = repo.add(&["Say hello", "--ready"]);
    let err = repo.fails(&["run", "--once"]);
    assert!(
        err.contains("no remote `origin`") && err.contains("git remote add origin URL"),
        "{err}"
    );
    assert_eq!(repo.status(id), "ready", "nothing was claimed");

    let gone = repo.dir.path().join("no-such-remote.git");
    git(
        &repo.root,
        &["remote", "add", "origin", &gone.display().to_string()],
    );
    let err = repo.fails(&["run", "--once"]);
    assert!(
        err.contains("pushing to `origin` fails") && err.contains("no-such-remote.git"),
        "{err}"
    );
    assert_eq!(repo.status(id), "ready");
}

#[test]
fn shared_false_cannot_switch_a_postgres_store_off() {
    let repo = TestRepo::on_sqlite()
        .with_env("AUTOPILOT_SHARED", "0")
        .with_env("AUTOPILOT_DB", "postgres://u@127.0.0.1:1/none");
    let err = repo.fails(&["list"]);
    assert!(err.contains("cannot turn shared mode off"), "{err}");
}

#[test]
fn a_branch_deleted_on_the_remote_is_a_clear_error_and_the_issue_stays_in_review() {
    let x = boxes();
    let (id, branch) = run_on_a(&x);
    git(&x.remote, &["branch", "-q", "-D", &branch]);
    let err = x.b.fails(&["diff", &id.to_string()]);
    assert!(
        err.contains(&format!("the branch {branch} is not on the remote origin")),
        "{err}"
    );
    let err = x.b.fails(&["accept", &id.to_string()]);
    assert!(err.contains("is not on the remote origin"), "{err}");
    assert_eq!(x.b.status(id), "in_review");
    // the box that ran it still has the work, and accepting there pushes it
    x.a.ok(&["accept", &id.to_string()]);
    let main = on_remote(&x.remote, "refs/heads/main").unwrap();
    assert!(git(&x.remote, &["show", &format!("{main}:hello.txt")]).starts_with("Hello"));
}

/// A remote hook that refuses pushes to main: `times` refusals, then accepts.
fn refuse_main(remote: &Path, times: usize) {
    let hook = remote.join("hooks/pre-receive");
    let count = remote.join("refusals");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nwhile read old new ref; do\n  [ \"$ref\" = refs/heads/main ] || continue\n  n=$(cat '{c}' 2>/dev/null || echo 0)\n  if [ \"$n\" -lt {times} ]; then echo $((n + 1)) > '{c}'; echo 'simulated: rejected, fetch first' >&2; exit 1; fi\ndone\n",
            c = count.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn accept_retries_a_refused_base_push_once_then_keeps_the_issue_in_review() {
    let x = boxes();
    let (id, _) = run_on_a(&x);
    // box A lands other work on main meanwhile: box B's accept fetches main first
    std::fs::write(x.a.root.join("other.txt"), "other\n").unwrap();
    git(&x.a.root, &["add", "other.txt"]);
    git(&x.a.root, &["commit", "-q", "-m", "other work"]);
    git(&x.a.root, &["push", "-q", "origin", "main"]);
    let b_main = git(&x.b.root, &["rev-parse", "main"]);

    refuse_main(&x.remote, 2);
    let err = x.b.fails(&["accept", &id.to_string()]);
    assert!(
        err.contains("stays in review") && err.contains("pushing the merged main to origin failed"),
        "{err}"
    );
    assert_eq!(x.b.status(id), "in_review");
    assert_eq!(
        std::fs::read_to_string(x.remote.join("refusals"))
            .unwrap()
            .trim(),
        "2",
        "tried twice"
    );
    let remote_main = on_remote(&x.remote, "refs/heads/main").unwrap();
    assert_ne!(
        git(&x.b.root, &["rev-parse", "main"]),
        b_main,
        "main was fetched"
    );
    assert_eq!(
        git(&x.b.root, &["rev-parse", "main"]),
        remote_main,
        "but not merged locally"
    );

    std::fs::remove_file(x.remote.join("refusals")).unwrap();
    refuse_main(&x.remote, 1);
    x.b.ok(&["accept", &id.to_string()]);
    assert_eq!(x.b.status(id), "done");
    let main = on_remote(&x.remote, "refs/heads/main").unwrap();
    for file in ["hello.txt", "other.txt"] {
        git(&x.remote, &["cat-file", "-e", &format!("{main}:{file}")]);
    }
}

#[test]
fn box_b_does_not_recover_or_kill_box_a_live_run() {
    let x = boxes();
    let id = x.a.add(&["Hangs [scenario:hang]", "--ready"]);
    let runner = x.a.spawn_run(&[]);
    let agent = wait_for("box A's agent", Duration::from_secs(30), || {
        read_pid(&x.a.agent_log.join("agent.pid"))
    });
    // box A's runner dies: its run looks dead only to box A
    signal(runner.id(), "KILL");
    runner.wait(Duration::from_secs(10));
    assert!(alive(agent));
    // box B starts a runner: recovery there judges only box B's processes
    let b = x.b.spawn_run(&[]);
    let other = x.b.add(&["Say hello", "--ready"]);
    wait_for("box B's run", Duration::from_secs(60), || {
        (x.b.status(other) == "in_review").then_some(())
    });
    drop(b);
    let issue = x.a.show(id);
    assert_eq!(issue["status"], "in_progress", "{issue}");
    assert!(issue["runs"][0]["ended_at"].is_null(), "{issue}");
    assert!(alive(agent), "box A's agent was not killed by box B");
    let child = read_pid(&x.a.agent_log.join("child.pid"));
    for pid in std::iter::once(agent).chain(child) {
        signal(pid as u32, "KILL");
    }
}

#[test]
fn box_b_takes_over_a_dead_box_claim_after_the_lease_and_starts_the_unpushed_branch_again() {
    let x = boxes();
    let gate = x.a.dir.path().join("gate");
    let vars = [
        ("FAKE_CLAUDE_GATE", gate.to_str().unwrap()),
        ("AUTOPILOT_LEASE_SECONDS", "3"),
    ];
    let (a, b) = (x.a.clone_env(&vars), x.b.clone_env(&vars));
    let id = a.add(&["Slow [scenario:slow]", "--ready"]);
    let runner = a.spawn_run(&[]);
    // The agent starts once box A recorded the branch (the run row comes before it).
    wait_for("box A's agent", Duration::from_secs(30), || {
        (!a.agent_calls().is_empty()).then_some(())
    });
    // Killed once its agent is working (its first line stored): by then the issue's branch
    // is recorded, so box B reruns a branch it cannot find (a run row alone comes earlier).
    wait_for("box A's agent at work", Duration::from_secs(30), || {
        (a.show(id)["runs"][0]["transcript_lines"].as_i64() >= Some(1)).then_some(())
    });
    assert_eq!(hosts(&x, id), ["box-a"]);
    signal(runner.id(), "KILL");
    runner.wait(Duration::from_secs(10));
    std::fs::write(&gate, "").unwrap();
    // box B's reaper hands the claim back after the lease; the branch never reached the remote
    let other = b.spawn_run(&[]);
    let issue = wait_for("box B's run of it", Duration::from_secs(60), || {
        let issue = b.show(id);
        (issue["status"] == "in_review").then_some(issue)
    });
    drop(other);
    assert_eq!(hosts(&x, id), ["box-a", "box-b"]);
    let branch = issue["branch"].as_str().unwrap();
    assert!(
        support::thread(&issue)
            .iter()
            .any(|c| c.contains("is neither on this box nor on the remote origin")),
        "{issue}"
    );
    assert!(on_remote(&x.remote, &format!("refs/heads/{branch}")).is_some());
}

#[test]
fn a_refused_branch_push_is_said_on_the_issue_and_the_work_stays() {
    let x = boxes();
    let hook = x.remote.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'simulated: no pushes today' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let id = x.a.add(&["Say hello", "--ready"]);
    x.a.ok(&["run", "--once"]);
    let issue = x.a.show(id);
    assert_eq!(issue["status"], "in_review");
    let note = last_comment(&issue);
    assert!(
        note.contains("Push / pull request failed") && note.contains("simulated: no pushes today"),
        "{note}"
    );
    let branch = issue["branch"].as_str().unwrap();
    git(
        &x.a.root,
        &["cat-file", "-e", &format!("{branch}:hello.txt")],
    );
    assert!(on_remote(&x.remote, &format!("refs/heads/{branch}")).is_none());
}
