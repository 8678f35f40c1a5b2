//! Many build boxes on one queue, for real: two "boxes" (two clones of one bare remote, each
//! with its own `AUTOPILOT_HOST`) share one PostgreSQL database on a throwaway server. Their
//! runners claim every issue exactly once between them, either box reviews what the other
//! ran, a TUI on one box sees the other's add at once, and a box whose runner dies hands its
//! claim over through the lease without the other box touching its processes.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::tmux::Tmux;
use support::{alive, git, signal, wait_for, TestRepo};

/// Box A, box B, the bare remote both push to, and their database.
struct Boxes {
    a: TestRepo,
    b: TestRepo,
    remote: PathBuf,
    url: String,
}

impl Boxes {
    /// A connection to the shared database, to look at what the boxes did.
    fn db(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    /// How many issues are in `status`.
    fn count(&self, status: &str) -> i64 {
        self.db()
            .query_one("SELECT count(*) FROM issues WHERE status = $1", &[&status])
            .unwrap()
            .get(0)
    }

    /// The hosts that ran issue `id`, oldest first.
    fn hosts(&self, id: i64) -> Vec<String> {
        self.db()
            .query(
                "SELECT owner_host FROM runs WHERE issue_id = $1 ORDER BY id",
                &[&id],
            )
            .unwrap()
            .iter()
            .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default())
            .collect()
    }
}

/// The environment of a box: the one database, its own name. No `AUTOPILOT_SHARED`: a
/// PostgreSQL store is shared mode by itself.
fn as_box(repo: TestRepo, url: &str, host: &str) -> TestRepo {
    repo.with_env("AUTOPILOT_DB", url)
        .with_env("AUTOPILOT_HOST", host)
        .with_env("AUTOPILOT_AGENT_ID", host)
}

/// Two boxes on a fresh database; `None` (the test skips) when there is no PostgreSQL server.
fn boxes(extra: &[(&str, &str)]) -> Option<Boxes> {
    let url = support::postgres::fresh_database()?;
    let (mut a, mut b, remote) = support::two_clones();
    for (k, v) in extra {
        a = a.with_env(k, v);
        b = b.with_env(k, v);
    }
    Some(Boxes {
        a: as_box(a, &url, "box-a"),
        b: as_box(b, &url, "box-b"),
        remote,
        url,
    })
}

/// Every branch the bare remote has, by name.
fn remote_branches(remote: &Path) -> Vec<String> {
    git(remote, &["ls-remote", "--heads", "."])
        .lines()
        .filter_map(|l| l.split_once("refs/heads/").map(|(_, b)| b.to_string()))
        .collect()
}

#[test]
fn two_runners_on_two_boxes_work_eighty_issues_exactly_once_and_push_every_branch() {
    let Some(x) = boxes(&[]) else { return };
    let ids: Vec<i64> = (0..80)
        .map(|i| x.a.add(&[&format!("Task {i}"), "--ready"]))
        .collect();
    let a = x.a.spawn_run(&["--agents", "4"]);
    let b = x.b.spawn_run(&["--agents", "4"]);
    wait_for("every issue in review", Duration::from_secs(400), || {
        (x.count("in_review") == 80).then_some(())
    });
    // Each runner stops cleanly when asked, as at the end of a shift.
    for (runner, host) in [(a, "box-a"), (b, "box-b")] {
        signal(runner.id(), "TERM");
        let out = runner.wait(Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains("panicked"),
            "{host}'s runner: {}\n{stderr}",
            out.status
        );
    }

    let mut db = x.db();
    // One implement run per issue, and nothing else ran.
    let runs: Vec<(i64, String, String)> = db
        .query(
            "SELECT issue_id, role, COALESCE(owner_host, '') FROM runs ORDER BY issue_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(runs.len(), 80, "{runs:?}");
    let ran: Vec<i64> = runs.iter().map(|r| r.0).collect();
    assert_eq!(ran, ids, "each issue ran once");
    assert!(runs.iter().all(|r| r.1 == "implement"), "{runs:?}");
    let on = |host: &str| runs.iter().filter(|r| r.2 == host).count();
    assert!(
        on("box-a") > 0 && on("box-b") > 0 && on("box-a") + on("box-b") == 80,
        "both boxes did work: box-a {}, box-b {}",
        on("box-a"),
        on("box-b")
    );

    // Each issue claimed once in the event log.
    let claims: Vec<(i64, i64)> = db
        .query(
            "SELECT issue_id, count(*) FROM events \
             WHERE kind = 'issue.status' AND data LIKE '%\"claimed_by\"%' \
             GROUP BY issue_id ORDER BY issue_id",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        claims,
        ids.iter().map(|id| (*id, 1)).collect::<Vec<_>>(),
        "every issue claimed exactly once"
    );

    // Every branch reached the remote.
    let branches: Vec<String> = db
        .query("SELECT branch FROM issues ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get::<_, Option<String>>(0).unwrap_or_default())
        .collect();
    let pushed = remote_branches(&x.remote);
    for branch in &branches {
        assert!(
            !branch.is_empty() && pushed.contains(branch),
            "{branch:?} is not on the remote: {pushed:?}"
        );
    }
}

#[test]
fn box_b_diffs_and_accepts_what_box_a_ran() {
    let Some(x) = boxes(&[]) else { return };
    let id = x.a.add(&["Say hello", "--ready"]);
    x.a.ok(&["run", "--once"]);
    let issue = x.a.show(id);
    assert_eq!(issue["status"], "in_review", "{issue}");
    assert_eq!(x.hosts(id), ["box-a"]);
    let branch = issue["branch"].as_str().unwrap();
    assert!(
        git(&x.b.root, &["branch", "--list", branch]).is_empty(),
        "box B never had the branch"
    );

    let diff = x.b.ok(&["diff", &id.to_string()]);
    assert!(
        diff.contains("hello.txt") && diff.contains("+Hello, world!"),
        "{diff}"
    );
    x.b.ok(&["accept", &id.to_string()]);
    assert_eq!(x.b.status(id), "done");
    assert_eq!(x.a.status(id), "done", "box A sees it done too");
    let main = git(&x.remote, &["rev-parse", "refs/heads/main"]);
    let shown = git(&x.remote, &["show", &format!("{main}:hello.txt")]);
    assert!(shown.starts_with("Hello, world!"), "{shown}");
    assert_eq!(git(&x.b.root, &["rev-parse", "main"]), main);
}

#[test]
fn a_tui_on_box_a_shows_an_add_on_box_b_within_two_seconds() {
    let Some(x) = boxes(&[]) else { return };
    x.a.add(&["Already here"]);
    let Some(t) = Tmux::start(&x.a, "--no-runner") else {
        return;
    };
    t.wait_screen("Already here");
    let title = "Arrived from box B";
    x.b.add(&[title, "--ready"]);
    let added = Instant::now();
    let limit = Duration::from_secs(2);
    loop {
        let screen = t.screen();
        if screen.contains(title) {
            break;
        }
        assert!(
            added.elapsed() < limit,
            "box A's TUI did not show box B's add within {limit:?}:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    t.quit();
}

#[test]
fn box_b_takes_over_box_a_claim_after_the_lease_without_killing_box_a_agent() {
    let Some(x) = boxes(&[("AUTOPILOT_LEASE_SECONDS", "3")]) else {
        return;
    };
    // Box A's agent waits on a gate that never opens; box B's is open from the start.
    let closed = x.a.dir.path().join("never");
    let open = x.b.dir.path().join("open");
    std::fs::write(&open, "").unwrap();
    let a = x.a.clone_with("FAKE_CLAUDE_GATE", &closed);
    let b = x.b.clone_with("FAKE_CLAUDE_GATE", &open);
    let id = a.add(&["Slow [scenario:slow]", "--ready"]);
    let runner = a.spawn_run(&[]);
    let agent = wait_for("box A's agent", Duration::from_secs(60), || {
        x.db()
            .query_opt(
                "SELECT agent_pid FROM runs WHERE issue_id = $1 AND owner_host = 'box-a' \
                 AND agent_pid IS NOT NULL",
                &[&id],
            )
            .unwrap()
            .map(|r| r.get::<_, i64>(0))
    });
    signal(runner.id(), "KILL");
    runner.wait(Duration::from_secs(10));
    let agent = i32::try_from(agent).unwrap();
    assert!(alive(agent), "box A's agent outlives its runner");

    let other = b.spawn_run(&[]);
    let issue = wait_for("box B's run of it", Duration::from_secs(90), || {
        let issue = b.show(id);
        (issue["status"] == "in_review").then_some(issue)
    });
    drop(other);
    assert_eq!(x.hosts(id), ["box-a", "box-b"]);
    let claimed: Vec<i64> = x
        .db()
        .query(
            "SELECT ts FROM events WHERE issue_id = $1 AND kind = 'issue.status' \
             AND data LIKE '%\"claimed_by\"%' ORDER BY id",
            &[&id],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(claimed.len(), 2, "claimed by A, then by B: {claimed:?}");
    assert!(
        claimed[1] - claimed[0] >= 3000,
        "box B claimed it only after the lease: {claimed:?}"
    );
    let branch = issue["branch"].as_str().unwrap();
    assert!(remote_branches(&x.remote).iter().any(|b| b == branch));
    assert!(alive(agent), "box B did not kill box A's agent");
    signal(agent as u32, "KILL");
}

/// Another handle on a box, with one more variable.
trait CloneWith {
    fn clone_with(&self, key: &str, value: &Path) -> TestRepo;
}

impl CloneWith for TestRepo {
    fn clone_with(&self, key: &str, value: &Path) -> TestRepo {
        let mut env = self.env.clone();
        env.push((key.to_string(), value.display().to_string()));
        TestRepo {
            dir: tempfile::tempdir().unwrap(),
            root: self.root.clone(),
            agent_log: self.agent_log.clone(),
            env,
        }
    }
}
