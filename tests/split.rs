//! `split` under the runner's rules, end to end with the fake agent: the planner is started
//! without the tools that change anything (an implementer keeps them), the daily budget's hold
//! and the issue's cap refuse a split before anything runs, the per-run cap stops the planner,
//! and an interrupted `split` closes its run.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::{read_pid, signal, wait_for, wait_output, TestRepo};

const LIMIT: Duration = Duration::from_secs(30);
const READ_ONLY: &str = "--disallowedTools=AskUserQuestion,Edit,Write,MultiEdit,NotebookEdit,Bash";

#[test]
fn the_planner_goes_without_the_tools_that_change_things_and_an_implementer_keeps_them() {
    let repo = TestRepo::new();
    let p = repo.add(&["Config loading"]);
    repo.ok(&["split", &p.to_string()]);
    repo.add(&["Say hello", "--ready"]);
    repo.ok(&["run", "--once"]);
    let calls = repo.agent_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let (planner, implementer) = (&calls[0], &calls[1]);
    assert!(planner.iter().any(|a| a == READ_ONLY), "{planner:?}");
    let mode = |args: &[String]| {
        let at = args.iter().position(|a| a == "--permission-mode").unwrap();
        args[at + 1].clone()
    };
    assert_eq!(mode(planner), "plan");
    assert_eq!(mode(implementer), "bypassPermissions");
    assert!(
        !implementer
            .iter()
            .any(|a| a.contains("Write") || a.contains("Bash")),
        "{implementer:?}"
    );
    assert!(
        implementer
            .iter()
            .any(|a| a == "--disallowedTools=AskUserQuestion"),
        "{implementer:?}"
    );
}

#[test]
fn the_daily_budget_hold_refuses_a_split_and_runs_nothing() {
    // Each planner answer costs $0.02: the first split spends today's budget.
    let repo = TestRepo::with_config("[budget]\ndaily_usd = 0.01\n").with_env("TZ", "UTC");
    let a = repo.add(&["First"]);
    let b = repo.add(&["Second"]);
    repo.ok(&["split", &a.to_string()]);
    let err = repo.fails(&["split", &b.to_string()]);
    assert!(
        err.contains("daily budget $0.01 reached: $0.02 spent today")
            && err.contains("nothing was run"),
        "{err}"
    );
    let second = repo.show(b);
    assert_eq!(second["runs"], serde_json::json!([]), "{second}");
    assert_eq!(second["children"], serde_json::json!([]));
    assert_eq!(repo.agent_calls().len(), 1);
    // The hold is the queue's, as a claim would have stored it.
    let doctor = repo.ok(&["doctor"]);
    assert!(doctor.contains("daily budget $0.01 reached"), "{doctor}");
    // While the stored hold lasts, a split is refused by it; `resume` lifts it for the day.
    let err = repo.fails(&["split", &b.to_string()]);
    assert!(err.contains("daily budget $0.01 reached"), "{err}");
    repo.ok(&["resume"]);
    repo.ok(&["split", &b.to_string()]);
    assert_eq!(repo.show(b)["children"].as_array().unwrap().len(), 3);
}

#[test]
fn an_issue_at_its_cap_is_not_split_again() {
    let repo = TestRepo::new();
    let p = repo.add(&["Capped", "--budget", "0.02"]);
    repo.ok(&["split", &p.to_string()]);
    let err = repo.fails(&["split", &p.to_string()]);
    assert!(
        err.contains(&format!(
            "#{p} has spent $0.02, at or over its budget of $0.02 (its own cap)"
        )) && err.contains("--budget USD")
            && err.contains("nothing was run"),
        "{err}"
    );
    let parent = repo.show(p);
    assert_eq!(parent["runs"].as_array().unwrap().len(), 1);
    assert_eq!(parent["children"].as_array().unwrap().len(), 3);
    assert_eq!(parent["status"], "backlog", "nothing was parked");

    let repo = TestRepo::with_config("[budget]\nper_issue_usd = 0.01\n");
    let q = repo.add(&["Default cap"]);
    repo.ok(&["split", &q.to_string()]);
    let err = repo.fails(&["split", &q.to_string()]);
    assert!(err.contains("([budget] per_issue_usd)"), "{err}");
}

#[test]
fn the_per_run_cap_stops_the_planner_and_claude_is_told_it() {
    let repo = TestRepo::with_config("[budget]\nper_run_usd = 1.0\n");
    let p = repo.add(&["Plan big", "--body", "[scenario:plan-spend]"]);
    let err = repo.fails(&["split", &p.to_string()]);
    assert!(
        err.contains("the planner was stopped at its per-run budget")
            && err.contains("reached the cap of $1.00"),
        "{err}"
    );
    let parent = repo.show(p);
    let run = &parent["runs"][0];
    assert_eq!(
        (run["role"].as_str(), run["outcome"].as_str()),
        (Some("plan"), Some("stopped")),
        "{run}"
    );
    assert!(run["estimate_usd"].as_f64().unwrap() >= 1.0, "{run}");
    assert_eq!(parent["children"], serde_json::json!([]));
    assert_eq!(parent["status"], "backlog");
    let calls = repo.agent_calls();
    let at = calls[0].iter().position(|a| a == "--max-budget-usd");
    assert_eq!(at.map(|i| calls[0][i + 1].as_str()), Some("1"), "{calls:?}");
}

#[test]
fn an_interrupted_split_closes_its_run() {
    let repo = TestRepo::new();
    let p = repo.add(&["Plan forever", "--body", "[scenario:plan-hang]"]);
    let child = repo
        .cmd(&["split", &p.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let planner = repo.agent_log.join("planner.pid");
    let agent = wait_for("the planner to start", LIMIT, || read_pid(&planner));
    assert!(signal(child.id(), "INT"));
    let out = wait_output(child, LIMIT);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the runner shut down"), "{err}");
    let run = &repo.show(p)["runs"][0];
    assert_eq!(run["outcome"], "stopped", "{run}");
    assert!(!run["ended_at"].is_null(), "{run}");
    wait_for("the planner to be gone", LIMIT, || {
        (!support::alive(agent)).then_some(())
    });
}
