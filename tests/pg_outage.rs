//! A PostgreSQL server restarting under a working runner: every connection it had is cut,
//! the runner connects again with backoff, and its runs finish with nothing lost. The only
//! test in its binary, since it restarts the binary's server.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use autopilot_tui::store::sql::Exec;
use support::{alive, wait_for, TestRepo};

/// Lines stored for each run, by run id.
fn stored_lines(repo: &TestRepo) -> Vec<(i64, i64)> {
    repo.sql()
        .query_map(
            "SELECT r.id, CAST(coalesce(sum(c.lines), 0) AS BIGINT) FROM runs r LEFT JOIN transcript_chunks c ON c.run_id = r.id GROUP BY r.id ORDER BY r.id",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn a_server_restart_mid_run_loses_nothing_and_the_runner_carries_on() {
    let Some(repo) = TestRepo::new_on_postgres() else {
        return;
    };
    let server = support::postgres::server().unwrap();
    if !server.restartable() {
        eprintln!("skipped: AUTOPILOT_TEST_PG_URL names a server these tests cannot restart");
        return;
    }
    let gate = repo.dir.path().join("gate");
    let repo = repo
        .with_env("FAKE_CLAUDE_GATE", &gate.display().to_string())
        .with_env("FAKE_CLAUDE_DELAY", "0.4");
    let ids: Vec<i64> = (0..2)
        .map(|i| repo.add(&[&format!("Slow {i} [scenario:slow]"), "--ready"]))
        .collect();
    let runner = repo.spawn_run(&["--agents", "2"]);
    // Both agents printed their first line and wait at the gate.
    wait_for(
        "both runs' first line stored",
        Duration::from_secs(60),
        || {
            let lines = stored_lines(&repo);
            (lines.len() == 2 && lines.iter().all(|(_, n)| *n >= 1)).then_some(())
        },
    );
    // Open the gate: the agents print a line every 0.4 s while the server goes away.
    std::fs::write(&gate, "").unwrap();
    wait_for("a second line stored", Duration::from_secs(30), || {
        stored_lines(&repo)
            .iter()
            .any(|(_, n)| *n >= 2)
            .then_some(())
    });
    server.restart();
    assert!(alive(runner.id() as i32), "the runner survived the restart");

    for id in &ids {
        wait_for(
            &format!("issue {id} to reach review after the restart"),
            Duration::from_secs(90),
            || (repo.status(*id) == "in_review").then_some(()),
        );
    }
    assert!(alive(runner.id() as i32), "the runner is still working");
    // Every line each agent printed is stored, once.
    let lines = stored_lines(&repo);
    assert_eq!(lines.len(), 2, "one run per issue: {lines:?}");
    for (run, n) in &lines {
        assert_eq!(*n, 7, "run {run} stored all 7 lines of its agent, once");
        assert_eq!(repo.transcript(*run).len(), 7);
    }
    for id in &ids {
        let issue = repo.show(*id);
        assert_eq!(issue["runs"][0]["outcome"], "implemented", "{issue}");
        // The event log is complete: the claim and the move to review.
        let moves: Vec<String> = repo
            .sql()
            .query_map(
                "SELECT data FROM events WHERE issue_id = ?1 AND kind = 'issue.status' ORDER BY id",
                &[id.into()],
                |r| r.get(0),
            )
            .unwrap();
        let chain: Vec<String> = moves
            .iter()
            .map(|d| {
                let v: serde_json::Value = serde_json::from_str(d).unwrap();
                format!(
                    "{}>{}",
                    v["from"].as_str().unwrap(),
                    v["to"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            chain,
            ["ready>in_progress", "in_progress>in_review"],
            "issue {id}"
        );
    }
    let open: i64 = repo
        .sql()
        .query_row(
            "SELECT count(*) FROM runs WHERE ended_at IS NULL",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(open, 0, "no run is left open");

    // The runner said what happened, in its log, without the password.
    let log = std::fs::read_to_string(repo.root.join(".autopilot/logs/autopilot.log")).unwrap();
    assert!(
        log.contains("lost the connection to PostgreSQL") && log.contains("reconnected to"),
        "{log}"
    );
    assert!(!log.contains(&server.password), "the log shows no password");
    let out = runner.wait_after_term();
    assert!(
        !out.contains("lost the connection"),
        "no store error reached the runner's report: {out}"
    );
}
