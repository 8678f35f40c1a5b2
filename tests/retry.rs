//! Failure classes and `[runner] retry` through the real binary and the fake agent: each
//! failed run's class in `show` and `stats`, `same` and `analyze` retries on the same claim,
//! their bound, the classes never retried, and the settings refused.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{failures, last_comment, pairs, read_pid, run_roles, thread, wait_for, TestRepo};

#[test]
fn a_crash_is_classified_shown_and_counted_and_blocks_without_a_retry_policy() {
    let repo = TestRepo::new();
    let id = repo.add(&["Crashes [scenario:crash-always]", "--ready"]);
    let budget = repo.add(&["Spends [scenario:budget-stop]", "--ready"]);
    let idle = repo.add(&["Idle [scenario:nochange]", "--ready"]);
    for _ in 0..3 {
        repo.ok(&["run", "--once"]);
    }
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(failures(&issue), ["crash"], "no retry by default");
    assert!(last_comment(&issue).contains("exited with status 3"));
    assert_eq!(failures(&repo.show(budget)), ["budget"]);
    assert_eq!(failures(&repo.show(idle)), ["no_changes"]);
    let text = repo.ok(&["show", &id.to_string()]);
    assert!(text.contains("failed (crash)"), "{text}");
    let stats: serde_json::Value = serde_json::from_str(&repo.ok(&["stats", "--json"])).unwrap();
    assert_eq!(
        stats["failures"],
        serde_json::json!({"budget": 1, "crash": 1, "no_changes": 1})
    );
    let text = repo.ok(&["stats"]);
    assert!(
        text.contains("failures    budget 1 · crash 1 · no_changes 1"),
        "{text}"
    );
}

#[test]
fn same_retries_a_crash_on_the_same_claim_and_the_issue_reaches_review() {
    let repo = TestRepo::with_config("[runner]\nretry = \"same\"\nmax_retries = 1\n");
    let id = repo.add(&["Crashes once [scenario:crash-once]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{issue:#}");
    assert_eq!(
        run_roles(&issue),
        pairs(&[("implement", "failed"), ("implement", "implemented")])
    );
    assert_eq!(failures(&issue), ["crash", "null"]);
    let notes = thread(&issue);
    assert!(
        notes[0].starts_with("Retry 1/1 after crash: the agent exited with status 3."),
        "{notes:?}"
    );
    assert!(
        !notes.iter().any(|n| n.contains("hand it back to ready")),
        "the retried failure did not block: {notes:?}"
    );
    assert_eq!(repo.agent_calls().len(), 2);
}

#[test]
fn retries_are_bounded_then_the_issue_blocks_with_each_class_recorded() {
    let repo = TestRepo::with_config("[runner]\nretry = \"same\"\nmax_retries = 2\n");
    let id = repo.add(&["Always crashes [scenario:crash-always]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(failures(&issue), ["crash", "crash", "crash"]);
    let notes = thread(&issue);
    assert!(notes[0].starts_with("Retry 1/2 after crash"), "{notes:?}");
    assert!(notes[1].starts_with("Retry 2/2 after crash"), "{notes:?}");
    assert!(
        notes[2].starts_with("The run failed: the agent exited with status 3"),
        "{notes:?}"
    );
    assert_eq!(notes.len(), 3);
}

#[test]
fn a_stall_is_retried_with_a_fresh_stop_and_a_timeout_is_classified() {
    let repo = TestRepo::with_config("[runner]\nretry = \"same\"\nretry_on = [\"stalled\"]\n")
        .with_env("AUTOPILOT_STALL_MINUTES", "0.02");
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    // The retry ran a whole second attempt (not stopped at once by the first stall's stop).
    assert_eq!(failures(&issue), ["stalled", "stalled"]);
    assert!(thread(&issue)[0].starts_with("Retry 1/1 after stalled: stopped as stalled"));

    let slow = TestRepo::new()
        .with_env("AUTOPILOT_MAX_RUN_MINUTES", "0.02")
        .with_env("FAKE_CLAUDE_DELAY", "0.6");
    let id = slow.add(&["Slow [scenario:slow]", "--ready"]);
    slow.ok(&["run", "--once"]);
    assert_eq!(failures(&slow.show(id)), ["timeout"]);
}

#[test]
fn a_stopped_run_is_never_retried() {
    let repo = TestRepo::with_config("[runner]\nretry = \"same\"\nmax_retries = 3\n");
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    let runner = repo.spawn_run(&[]);
    wait_for("the agent", Duration::from_secs(30), || {
        read_pid(&repo.agent_log.join("child.pid"))
    });
    repo.ok(&["stop", &id.to_string()]);
    wait_for("the issue to be parked", Duration::from_secs(30), || {
        (repo.status(id) == "blocked").then_some(())
    });
    support::signal(runner.id(), "TERM");
    runner.wait(Duration::from_secs(30));
    let issue = repo.show(id);
    assert_eq!(failures(&issue), ["stopped"]);
    assert!(!thread(&issue).iter().any(|n| n.starts_with("Retry")));
}

#[test]
fn analyze_diagnoses_the_failed_run_and_its_diagnosis_reaches_the_next_prompt() {
    let repo = TestRepo::with_config(
        "[runner]\nretry = \"analyze\"\nanalyze_model = \"claude-haiku-4-5\"\n",
    );
    let id = repo.add(&["Crashes once [scenario:crash-once]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{issue:#}");
    assert_eq!(
        run_roles(&issue),
        pairs(&[
            ("implement", "failed"),
            ("analyze", "analyzed"),
            ("implement", "implemented")
        ])
    );
    let analyst = &issue["runs"][1];
    assert_eq!(analyst["cost_usd"], 0.02, "the analyst's run has its cost");
    let calls = repo.agent_calls();
    let model = calls[1].iter().position(|a| a == "--model").unwrap();
    assert_eq!(calls[1][model + 1], "claude-haiku-4-5");
    assert!(
        calls[1].iter().any(|a| a == "plan"),
        "read-only: {:?}",
        calls[1]
    );
    let prompts = repo.agent_prompts();
    assert!(prompts[1].contains("How the run failed: the agent exited with status 3"));
    assert!(
        prompts[1].contains("Segmentation fault (simulated crash 1)"),
        "the stderr tail: {}",
        prompts[1]
    );
    assert!(
        prompts[1].contains("The end of the run's transcript:\n```\nI'll create hello.txt."),
        "the transcript's tail: {}",
        prompts[1]
    );
    let last = &prompts[2];
    assert!(
        last.contains("What went wrong last time (diagnosis by run 2):"),
        "{last}"
    );
    assert!(last.contains("DIAGNOSIS-SAYS the agent crashed"), "{last}");
    let notes = thread(&issue);
    assert!(notes[0].starts_with("Retry 1/1 after crash"), "{notes:?}");
    assert!(notes[0].contains("with a diagnosis"), "{notes:?}");
    assert!(
        notes[1].starts_with("Diagnosis by run 2 (analyze):\nDIAGNOSIS-SAYS"),
        "{notes:?}"
    );
}

#[test]
fn a_failed_analysis_still_retries_as_it_was() {
    let repo = TestRepo::with_config("[runner]\nretry = \"analyze\"\n");
    let id = repo.add(&["Crashes [scenario:analyze-crash]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(
        run_roles(&issue),
        pairs(&[
            ("implement", "failed"),
            ("analyze", "failed"),
            ("implement", "failed")
        ])
    );
    assert!(thread(&issue)[1].starts_with("No diagnosis from run 2 (analyze)"));
    assert!(!repo.agent_prompts()[2].contains("What went wrong last time"));
}

#[test]
fn retry_settings_that_cannot_work_are_refused() {
    for (toml, says) in [
        (
            "retry_on = [\"stopped\"]",
            "[runner] retry_on: stopped is never retried",
        ),
        (
            "retry_on = [\"budget\"]",
            "[runner] retry_on: budget is never retried",
        ),
        (
            "retry_on = [\"sometimes\"]",
            "[runner] retry_on: unknown failure class \"sometimes\"",
        ),
        (
            "retry = \"twice\"",
            "[runner] retry: unknown retry mode \"twice\"",
        ),
        (
            "max_retries = 9",
            "[runner] max_retries = 9: at most 5 retries",
        ),
    ] {
        let repo = TestRepo::with_config(&format!("[runner]\n{toml}\n"));
        let err = repo.fails(&["run", "--once"]);
        assert!(err.contains(says), "{toml}: {err}");
    }
}

#[test]
fn a_failing_check_is_classed_checks_failed_and_left_to_the_fix_loop() {
    let repo = TestRepo::with_config(
        "[runner]\nretry = \"same\"\n[checks]\ncommands = [\"false\"]\nfix_attempts = 0\n",
    );
    let id = repo.add(&["Checked", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(
        run_roles(&issue),
        pairs(&[("implement", "implemented"), ("check", "failed")])
    );
    assert_eq!(failures(&issue), ["null", "checks_failed"]);
}

#[test]
fn a_rate_limit_is_classed_and_left_to_the_queues_hold() {
    let repo = TestRepo::with_config("[runner]\nretry = \"same\"\nretry_on = [\"api_error\"]\n")
        .with_env("AUTOPILOT_RATE_LIMIT_BACKOFF_SECONDS", "300");
    let id = repo.add(&["Limited [scenario:rate-limit-once]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "ready", "handed back, not retried");
    assert_eq!(failures(&issue), ["rate_limit"]);
    assert_eq!(repo.agent_calls().len(), 1);
}
