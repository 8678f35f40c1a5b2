//! The live cost estimate and the per-run cap, end to end with the fake agent: the estimate
//! is stored while a run goes and the reported cost replaces it; a run whose estimate reaches
//! `[budget] per_run_usd` is stopped, kept and parked; Claude Code's own budget stop parks too.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{last_comment, wait_for, TestRepo};

const LIMIT: Duration = Duration::from_secs(60);

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn the_estimate_is_stored_while_a_run_goes_and_the_reported_cost_replaces_it() {
    let repo = TestRepo::new();
    let gate = repo.dir.path().join("gate");
    let repo = repo.with_env("FAKE_CLAUDE_GATE", gate.to_str().unwrap());
    let id = repo.add(&["Costly [scenario:costly]", "--ready"]);
    let runner = repo.spawn_run(&["--once"]);
    // One Sonnet response of 100k input tokens printed in two blocks (output 1, then 50):
    // counted once, with the larger output count.
    let want = (100_000.0 * 3.0 + 50.0 * 15.0) / 1e6;
    let run = wait_for("the estimate of the running run", LIMIT, || {
        let issue = repo.show(id);
        let run = issue["runs"].as_array()?.first()?.clone();
        run["estimate_usd"]
            .as_f64()
            .filter(|e| close(*e, want))
            .map(|_| run)
    });
    assert!(run["cost_usd"].is_null(), "{run}");
    assert!(run["ended_at"].is_null(), "{run}");
    let text = repo.ok(&["show", &id.to_string()]);
    assert!(
        text.contains("~$0.30") && text.contains("(estimate)"),
        "{text}"
    );

    std::fs::write(&gate, "").unwrap();
    let out = runner.wait(LIMIT);
    assert!(out.status.success(), "{out:?}");
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{issue}");
    let run = &issue["runs"][0];
    // The fixture's result reports $0.102688: that is the run's cost from now on.
    assert_eq!(run["cost_usd"].as_f64(), Some(0.102688), "{run}");
    assert!(
        close(issue["cost_usd"].as_f64().unwrap(), 0.102688),
        "{issue}"
    );
    let text = repo.ok(&["show", &id.to_string()]);
    assert!(
        text.contains("$0.1027") && !text.contains("(estimate)"),
        "{text}"
    );
}

#[test]
fn a_run_whose_estimate_reaches_the_cap_is_stopped_kept_and_parked() {
    let repo = TestRepo::with_config("[budget]\nper_run_usd = 1.0\n");
    let id = repo.add(&["Spend [scenario:spend]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked", "{issue}");
    let comment = last_comment(&issue);
    for words in [
        "The run was stopped at its per-run budget",
        "reached the cap of $1.00",
        "[budget] per_run_usd",
        "raise it in autopilot.toml",
    ] {
        assert!(comment.contains(words), "{words:?} in {comment}");
    }
    let run = &issue["runs"][0];
    assert_eq!(run["outcome"], "stopped", "{run}");
    assert!(run["cost_usd"].is_null(), "{run}");
    let estimate = run["estimate_usd"].as_f64().unwrap();
    assert!((1.0..10.0).contains(&estimate), "{run}");
    // The comment names the estimate it stopped at, at or over the cap.
    let named: f64 = comment
        .split("estimated cost ~$")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no estimate in {comment}"));
    assert!(
        (1.0..=estimate + 0.005).contains(&named),
        "{named} vs {estimate}"
    );
    // The run is kept with its transcript and its tokens so far.
    let lines = repo.transcript(run["id"].as_i64().unwrap());
    let text: Vec<String> = lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert!(text.iter().any(|l| l.contains("spending 4")), "{text:?}");
    assert!(run["input_tokens"].as_i64().unwrap() >= 400_000, "{run}");
    // Claude Code was told the cap too.
    let calls = repo.agent_calls();
    let at = calls[0].iter().position(|a| a == "--max-budget-usd");
    assert_eq!(
        at.map(|i| calls[0][i + 1].as_str()),
        Some("1"),
        "{:?}",
        calls[0]
    );
}

#[test]
fn claude_codes_own_budget_stop_parks_the_issue_instead_of_failing_it() {
    let repo = TestRepo::with_config("[budget]\nper_run_usd = 0.5\n");
    let id = repo.add(&["Capped [scenario:budget-stop]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked", "{issue}");
    let run = &issue["runs"][0];
    assert_eq!(run["outcome"], "stopped", "{run}");
    assert_eq!(run["cost_usd"].as_f64(), Some(0.31), "{run}");
    let comment = last_comment(&issue);
    for words in [
        "stopped by Claude Code at its per-run budget",
        "Reached maximum budget ($0.3)",
        "raise per_run_usd under [budget]",
    ] {
        assert!(comment.contains(words), "{words:?} in {comment}");
    }
    assert!(!comment.contains("failed"), "{comment}");
}

#[test]
fn without_a_cap_no_budget_flag_is_passed() {
    let repo = TestRepo::new();
    repo.add(&["Plain", "--ready"]);
    repo.ok(&["run", "--once"]);
    let calls = repo.agent_calls();
    assert!(
        !calls[0].iter().any(|a| a.contains("budget")),
        "{:?}",
        calls[0]
    );
}
