//! Reliability through the real binary: crashes, stops, pauses, limits, several processes on
//! one queue, and hostile output.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Child, Stdio};
use std::time::Duration;

use autopilot_tui::store::sql::{Exec, Value};
use support::{alive, git, last_comment, read_pid, signal, wait_for, wait_output, TestRepo};

/// The one number `sql` answers, on the queue's backend.
fn number(repo: &TestRepo, sql: &str, params: &[Value]) -> i64 {
    repo.sql().query_row(sql, params, |r| r.get(0)).unwrap()
}

/// The SQL reading a field of an event's JSON details, on the queue's backend.
fn detail(repo: &TestRepo, field: &str) -> String {
    if repo.is_postgres() {
        format!("(data::json ->> '{field}')")
    } else {
        format!("json_extract(data, '$.{field}')")
    }
}

/// Processes whose environment names one of this repo's runs (orphaned agents).
fn agent_processes_of(repo: &TestRepo) -> Vec<i32> {
    let log = format!("FAKE_CLAUDE_LOG={}", repo.agent_log.display());
    autopilot_tui::runner::process::pids_with_env(|vars| {
        vars.contains(&log.as_bytes()) && vars.iter().any(|v| v.starts_with(b"AUTOPILOT_RUN="))
    })
}

#[test]
fn stop_from_another_process_kills_the_agent_tree_and_parks_the_issue() {
    let repo = TestRepo::new();
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    let runner = repo.spawn_run(&[]);
    let child = wait_for("the agent's child", Duration::from_secs(30), || {
        read_pid(&repo.agent_log.join("child.pid"))
    });
    let out = repo.ok(&["stop", &id.to_string()]);
    assert!(out.contains("asked the runner"), "{out}");
    wait_for("the issue to be parked", Duration::from_secs(30), || {
        (repo.status(id) == "blocked").then_some(())
    });
    assert!(
        !alive(child),
        "the agent's child process was killed with its group"
    );
    let issue = repo.show(id);
    assert_eq!(issue["runs"][0]["outcome"], "stopped");
    assert!(
        last_comment(&issue).contains("stopped by tester"),
        "{}",
        last_comment(&issue)
    );
    assert_eq!(
        issue["runs"][0]["transcript_lines"], 2,
        "the partial transcript is kept: {issue:#}"
    );
    assert!(repo
        .root
        .join(format!(".autopilot/worktrees/issue-{id}"))
        .is_dir());
    // stopping something that is not running says so
    let err = repo.fails(&["stop", &id.to_string()]);
    assert!(err.contains("not in_progress"), "{err}");
    signal(runner.id(), "TERM");
    let out = runner.wait(Duration::from_secs(30));
    assert!(out.status.success());
}

#[test]
fn pause_is_stored_survives_restarts_and_resume_claims_again() {
    let repo = TestRepo::new();
    let id = repo.add(&["Waits", "--ready"]);
    repo.ok(&["pause"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "ready");
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "ready", "still paused after a restart");
    repo.ok(&["resume"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
}

#[test]
fn a_rate_limit_pauses_the_whole_queue_and_resumes_by_itself() {
    let repo = TestRepo::new().with_env("AUTOPILOT_RATE_LIMIT_BACKOFF_SECONDS", "2");
    let first = repo.add(&[
        "Limited [scenario:rate-limit-once]",
        "--ready",
        "--priority",
        "5",
    ]);
    let second = repo.add(&["Next", "--ready"]);
    // --once stops when the queue is held: the second issue is not tried meanwhile
    repo.ok(&["run", "--once"]);
    let issue = repo.show(first);
    assert_eq!(issue["status"], "ready", "not counted as a failure");
    assert_eq!(issue["runs"][0]["outcome"], "interrupted");
    assert!(
        last_comment(&issue).contains("rate"),
        "{}",
        last_comment(&issue)
    );
    assert_eq!(repo.status(second), "ready");
    assert_eq!(
        repo.agent_calls().len(),
        1,
        "the queue paused instead of trying the next issue"
    );
    let held = number(
        &repo,
        "SELECT count(*) FROM events WHERE kind = 'queue.held'",
        &[],
    );
    assert_eq!(held, 1);
    // a long-running runner waits out the hold and carries on without help
    let runner = repo.spawn_run(&[]);
    wait_for(
        "both issues to reach review",
        Duration::from_secs(60),
        || (repo.status(first) == "in_review" && repo.status(second) == "in_review").then_some(()),
    );
    signal(runner.id(), "TERM");
    runner.wait(Duration::from_secs(30));
    assert_eq!(repo.agent_calls().len(), 3);
}

#[test]
fn a_stalled_agent_is_stopped_with_the_reason() {
    let repo = TestRepo::new().with_env("AUTOPILOT_STALL_MINUTES", "0.02");
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(issue["runs"][0]["outcome"], "stopped");
    assert!(
        last_comment(&issue).contains("stalled: no output for 1 seconds"),
        "{}",
        last_comment(&issue)
    );
    let child = read_pid(&repo.agent_log.join("child.pid")).unwrap();
    assert!(!alive(child));
}

#[test]
fn a_run_over_its_wall_clock_limit_is_stopped() {
    let repo = TestRepo::new()
        .with_env("AUTOPILOT_MAX_RUN_MINUTES", "0.02")
        .with_env("FAKE_CLAUDE_DELAY", "0.6");
    let id = repo.add(&["Slow [scenario:slow]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert!(
        last_comment(&issue).contains("longer than its limit of 1 seconds"),
        "{}",
        last_comment(&issue)
    );
}

#[test]
fn kill_dash_nine_mid_run_recovers_at_restart_without_orphans() {
    let repo = TestRepo::new();
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    let runner = repo.spawn_run(&[]);
    let child = wait_for("the agent's child", Duration::from_secs(30), || {
        read_pid(&repo.agent_log.join("child.pid"))
    });
    // kill only once both lines the agent printed are acknowledged (committed)
    wait_for(
        "the agent's two lines to be stored",
        Duration::from_secs(30),
        || {
            let n = number(
                &repo,
                "SELECT CAST(coalesce(sum(lines), 0) AS BIGINT) FROM transcript_chunks",
                &[],
            );
            (n == 2).then_some(())
        },
    );
    signal(runner.id(), "KILL");
    runner.wait(Duration::from_secs(10));
    assert!(alive(child), "kill -9 leaves the agent's group behind");
    assert_eq!(repo.status(id), "in_progress");
    // the lease has not expired, but the owner is gone: a restart recovers at once
    repo.ok(&["pause"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "ready");
    assert_eq!(issue["runs"][0]["outcome"], "interrupted");
    assert!(
        last_comment(&issue).contains("is gone"),
        "{}",
        last_comment(&issue)
    );
    assert!(!alive(child), "the orphaned agent was killed at restart");
    assert_eq!(
        issue["runs"][0]["transcript_lines"], 2,
        "acknowledged output survived the crash"
    );
}

#[test]
fn random_kills_never_break_the_invariants() {
    let repo = TestRepo::new().with_env("FAKE_CLAUDE_DELAY", "0.05");
    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[runner]\nmax_interruptions = 1000\n",
    )
    .unwrap();
    let total = 12;
    for i in 0..total {
        repo.add(&[&format!("Issue {i} [scenario:slow]"), "--ready"]);
    }
    // deterministic pseudo-random kill points
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..10 {
        let runner = repo.spawn_run(&["--agents", "2"]);
        // wait for some progress (a new run) before killing at a random extra delay
        let runs_before = number(&repo, "SELECT count(*) FROM runs", &[]);
        wait_for("a run to start", Duration::from_secs(30), || {
            let n = number(&repo, "SELECT count(*) FROM runs", &[]);
            let left = number(
                &repo,
                "SELECT count(*) FROM issues WHERE status != 'in_review'",
                &[],
            );
            (n > runs_before || left == 0).then_some(())
        });
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(seed % 700));
        signal(runner.id(), "KILL");
        runner.wait(Duration::from_secs(10));
        // right after the crash: whatever is in progress still holds a claim and a lease
        let unleased = number(
            &repo,
            "SELECT count(*) FROM issues WHERE status = 'in_progress' AND (lease_until IS NULL OR claimed_by IS NULL)",
            &[],
        );
        assert_eq!(
            unleased, 0,
            "round {round}: an issue in progress without a lease"
        );
    }
    // a final clean pass finishes the work
    repo.ok(&["run", "--once", "--agents", "2"]);
    let conn = repo.sql();
    // every issue is in review exactly once, nothing is in progress, no run is open
    let statuses: Vec<(i64, String)> = conn
        .query_map("SELECT id, status FROM issues ORDER BY id", &[], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(statuses.len(), total);
    assert!(
        statuses.iter().all(|(_, s)| s == "in_review"),
        "{statuses:?}"
    );
    let open = number(
        &repo,
        "SELECT count(*) FROM runs WHERE ended_at IS NULL",
        &[],
    );
    assert_eq!(open, 0, "no run stays open without a live owner");
    // every status change has its event: replaying the log gives the current status
    let (from, to) = (detail(&repo, "from"), detail(&repo, "to"));
    for (id, status) in &statuses {
        let last_to: String = conn
            .query_row(
                &format!("SELECT {to} FROM events WHERE issue_id = ?1 AND kind = 'issue.status' ORDER BY id DESC LIMIT 1"),
                &[id.into()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(&last_to, status, "issue {id}");
        let moves: Vec<(String, String)> = conn
            .query_map(
                &format!("SELECT {from}, {to} FROM events WHERE issue_id = ?1 AND kind = 'issue.status' ORDER BY id"),
                &[id.into()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        for pair in moves.windows(2) {
            assert_eq!(
                pair[0].1, pair[1].0,
                "issue {id}: the event log is a chain: {moves:?}"
            );
        }
    }
    let interrupted = number(
        &repo,
        "SELECT count(*) FROM runs WHERE outcome = 'interrupted'",
        &[],
    );
    assert!(interrupted > 0, "the kills did land mid-run");
    assert!(
        agent_processes_of(&repo).is_empty(),
        "no orphaned agent survives: {:?}",
        agent_processes_of(&repo)
    );
    // each issue's branch has exactly the commits its successful runs made
    for (id, _) in &statuses {
        let implemented = number(
            &repo,
            "SELECT count(*) FROM runs WHERE issue_id = ?1 AND outcome = 'implemented'",
            &[id.into()],
        );
        assert_eq!(implemented, 1, "issue {id} was implemented exactly once");
    }
}

#[test]
fn four_processes_of_four_slots_share_500_issues() {
    let repo = TestRepo::new();
    // bulk-create through the CLI's store in one process for speed
    let ids: Vec<i64> = (0..500).collect();
    let mut child = repo
        .cmd(&["add", "seed"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child.wait().unwrap();
    let mut conn = repo.sql();
    conn.transaction(|tx| {
        for i in &ids[1..] {
            let id: i64 = tx.query_row(
                "INSERT INTO issues (title, body, kind, status, priority, created_at, updated_at) VALUES (?1, '', 'chore', 'ready', 0, 0, 0) RETURNING id",
                &[format!("bulk {i}").into()],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO events (ts, kind, issue_id, actor, data) VALUES (0, 'issue.created', ?1, 'human:test', '{}')",
                &[id.into()],
            )?;
        }
        tx.execute(
            "UPDATE issues SET status = 'ready' WHERE title = 'seed'",
            &[],
        )
        .map(|_| ())
    })
    .unwrap();
    let runners: Vec<Child> = (0..4)
        .map(|p| {
            repo.cmd(&["run", "--once", "--agents", "4", "--allow-second-runner"])
                .env("AUTOPILOT_AGENT_ID", format!("p{p}"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for r in runners {
        let out = wait_output(r, Duration::from_secs(600));
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{err}");
        assert!(
            !err.contains("locked"),
            "no 'database is locked' reaches the user: {err}"
        );
    }
    let to = detail(&repo, "to");
    let claims: Vec<i64> = conn
        .query_map(
            &format!("SELECT count(*) FROM events WHERE kind = 'issue.status' AND {to} = 'in_progress' GROUP BY issue_id"),
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(claims.len(), 500);
    assert!(claims.iter().all(|n| *n == 1));
    let in_review = number(
        &repo,
        "SELECT count(*) FROM issues WHERE status = 'in_review'",
        &[],
    );
    assert_eq!(in_review, 500);
    let processes = number(
        &repo,
        "SELECT count(DISTINCT substr(actor, 1, 8)) FROM events WHERE kind = 'run.started'",
        &[],
    );
    assert!(processes >= 2, "several processes took part");
    let branches = git(&repo.root, &["branch", "--list", "autopilot/*"]);
    assert_eq!(branches.lines().count(), 500);
}

#[test]
fn a_giant_transcript_is_capped_with_a_marker_and_the_run_still_completes() {
    let repo = TestRepo::new()
        .with_env("AUTOPILOT_TRANSCRIPT_CAP_MB", "1")
        .with_env("FAKE_CLAUDE_FLOOD_LINES", "20000");
    let id = repo.add(&["Flood [scenario:flood]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let run_id = issue["runs"][0]["id"].as_i64().unwrap();
    let lines = repo.transcript(run_id);
    let bytes: usize = lines.iter().map(Vec::len).sum();
    assert!(bytes <= (1 << 20) + 4096, "stored {bytes} bytes");
    let marker = lines
        .iter()
        .filter(|l| l.starts_with(b"[autopilot: transcript cap of 1 MiB reached"))
        .count();
    assert_eq!(marker, 1);
    let last = lines.last().cloned().unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&last).contains("\"total_cost_usd\""),
        "the result line is kept past the cap"
    );
}

#[test]
fn an_index_lock_in_the_worktree_parks_the_issue_and_keeps_the_changes() {
    let repo = TestRepo::new();
    let id = repo.add(&["Ask [scenario:ask]", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "blocked");
    let wt = repo.root.join(format!(".autopilot/worktrees/issue-{id}"));
    let gitdir = git(&wt, &["rev-parse", "--absolute-git-dir"]);
    std::fs::write(std::path::Path::new(&gitdir).join("index.lock"), "").unwrap();
    repo.ok(&["comment", &id.to_string(), "ANSWER: locked"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    let body = last_comment(&issue);
    assert!(
        body.contains("index.lock") && body.contains("could not commit"),
        "{body}"
    );
    assert!(
        std::fs::read_to_string(wt.join("answer.txt"))
            .unwrap()
            .starts_with("ANSWER: locked"),
        "the agent's work is still there"
    );
}

#[test]
fn doctor_and_gc() {
    let repo = TestRepo::new();
    let out = repo.run(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("✓ git") && text.contains("✓ agent") && text.contains("✓ database"),
        "{text}"
    );
    // A command agent is found on PATH; it has no --version to ask (`sh --version` fails).
    let command = TestRepo::new()
        .with_env("AUTOPILOT_CLAUDE_BIN", "")
        .with_env("AUTOPILOT_AGENT_COMMAND", "cat");
    let out = command.run(&["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("✓ agent") && text.contains("(command agent)"),
        "{text}"
    );
    let broken = TestRepo::new().with_env("AUTOPILOT_CLAUDE_BIN", "/nonexistent/claude");
    let out = broken.run(&["doctor"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("✗ agent"));

    // Accepting removes clean worktrees itself, except with the `none` policy, which leaves
    // them (and the branches) to gc.
    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[merge]\npolicy = \"none\"\n",
    )
    .unwrap();
    let clean = repo.add(&["Clean", "--ready"]);
    let dirty = repo.add(&["Dirty", "--ready"]);
    repo.ok(&["run", "--once"]);
    for id in [clean, dirty] {
        repo.ok(&["move", &id.to_string(), "done"]);
    }
    let dirty_wt = repo
        .root
        .join(format!(".autopilot/worktrees/issue-{dirty}"));
    std::fs::write(dirty_wt.join("uncommitted.txt"), "keep me").unwrap();
    let out = repo.ok(&["gc"]);
    assert!(out.contains("1 worktree(s) removed, 1 kept"), "{out}");
    assert!(out.contains("uncommitted changes"), "{out}");
    assert!(!repo
        .root
        .join(format!(".autopilot/worktrees/issue-{clean}"))
        .exists());
    assert!(dirty_wt.join("uncommitted.txt").exists());
    // the branches stay
    assert!(git(
        &repo.root,
        &["branch", "--list", &format!("autopilot/issue-{clean}-*")]
    )
    .contains("clean"));
}

#[test]
fn a_50_mb_line_is_capped_and_memory_stays_bounded() {
    let repo = TestRepo::new();
    let id = repo.add(&["Huge [scenario:huge-line]", "--ready"]);
    let runner = repo.spawn_run(&[]);
    wait_for("the run to finish", Duration::from_secs(60), || {
        (repo.status(id) == "in_review").then_some(())
    });
    let status = std::fs::read_to_string(format!("/proc/{}/status", runner.id())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    signal(runner.id(), "TERM");
    runner.wait(Duration::from_secs(30));
    // a 50 MB line never sits whole in memory: the reader keeps at most 16 MiB of it
    eprintln!("peak RSS of the runner: {peak_kb} kB");
    assert!(peak_kb < 128 * 1024, "peak RSS {peak_kb} kB");
    let run_id = repo.show(id)["runs"][0]["id"].as_i64().unwrap();
    let line = repo.transcript(run_id).swap_remove(1);
    let marker = b"[autopilot: 35651584 bytes of this line dropped; lines are capped at 16 MiB]";
    assert!(
        line.ends_with(marker),
        "{:?}",
        String::from_utf8_lossy(&line[line.len().saturating_sub(120)..])
    );
    assert_eq!(line.len(), (16 << 20) + "…".len() + marker.len());
}
