//! `[budget]` through the real binary: the daily cap held across two runner processes on one
//! database, `run --once` saying why, `resume` lifting it for the day, `on_exceed = "stop"`,
//! and the per-issue cap that parks an issue until a person raises it. The fake agent reports
//! $0.10 per implementing run (its fixture). Days are counted in UTC (`TZ` in the children's environment).

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use autopilot_tui::domain::format_millis;
use support::{last_comment, read_pid, signal, wait_for, TestRepo};

fn repo(toml: &str) -> TestRepo {
    TestRepo::with_config(toml).with_env("TZ", "UTC")
}

fn setting(repo: &TestRepo, key: &str) -> Option<String> {
    rusqlite::Connection::open(repo.db())
        .unwrap()
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .ok()
}

/// Agent runs so far (`doctor` asks the fake agent for its version too).
fn agent_runs(repo: &TestRepo) -> usize {
    repo.agent_calls()
        .iter()
        .filter(|args| !args.iter().any(|a| a == "--version"))
        .count()
}

const REASON: &str = "daily budget $0.10 reached: $0.10 spent today; claiming resumes at local midnight (00:00) or on `resume`";

#[test]
fn the_daily_cap_stops_claiming_in_every_runner_until_resume_lifts_it_for_the_day() {
    let repo = repo("[budget]\ndaily_usd = 0.10\n");
    let first = repo.add(&["First", "--ready"]);
    // Process A spends the day's budget, then holds the queue for every runner.
    let a = repo.spawn_run(&[]);
    wait_for(
        "the hold after the first run",
        Duration::from_secs(60),
        || setting(&repo, "hold_kind").filter(|k| k == "budget"),
    );
    assert_eq!(repo.status(first), "in_review");
    let second = repo.add(&["Second", "--ready"]);
    let third = repo.add(&["Third", "--ready"]);

    // Process B, on the same database (a second runner, as asked), claims nothing and says why.
    let out = repo.run(&["run", "--once", "--allow-second-runner"]);
    assert!(out.status.success(), "a hold is not a failure");
    let until: i64 = setting(&repo, "paused_until").unwrap().parse().unwrap();
    let midnight = (until / 86_400_000) * 86_400_000;
    assert_eq!(until, midnight, "the hold lifts at midnight (UTC here)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "nothing more claimed: held until {} — {REASON}",
            format_millis(until)
        )),
        "{stderr}"
    );
    assert_eq!(repo.status(second), "ready");
    assert_eq!(agent_runs(&repo), 1, "neither process ran the second issue");

    // doctor says why claiming stopped and how to lift it.
    let text = String::from_utf8_lossy(&repo.run(&["doctor"]).stdout).into_owned();
    assert!(
        text.contains(&format!("held until {}", format_millis(until)))
            && text.contains(REASON)
            && text.contains("`autopilot-tui resume` lifts it now"),
        "{text}"
    );

    // resume lifts it for the rest of the day: both issues run although the cap is passed.
    signal(a.id(), "TERM");
    a.wait(Duration::from_secs(30));
    assert_eq!(repo.ok(&["resume"]), "claiming resumed\n");
    repo.ok(&["run", "--once"]);
    assert_eq!(
        (repo.status(second), repo.status(third)),
        ("in_review".into(), "in_review".into())
    );
    assert_eq!(
        setting(&repo, "budget_override_until"),
        Some(until.to_string())
    );
    assert_eq!(setting(&repo, "paused_until"), None);
}

#[test]
fn on_exceed_stop_stops_a_running_agent_when_the_day_is_spent() {
    let repo = repo("[budget]\ndaily_usd = 0.50\non_exceed = \"stop\"\n");
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    let other = repo.add(&["Waits", "--ready"]);
    let runner = repo.spawn_run(&[]);
    wait_for("the agent", Duration::from_secs(30), || {
        read_pid(&repo.agent_log.join("agent.pid"))
    });
    // The run's live estimate crosses the cap (as the estimate from its usage would).
    let run_id = repo.show(id)["runs"][0]["id"].as_i64().unwrap();
    let mut store = autopilot_tui::store::Store::open(&repo.db()).unwrap();
    store.set_run_estimate(run_id, 0.75).unwrap();
    wait_for("the run to be stopped", Duration::from_secs(30), || {
        (repo.status(id) == "blocked").then_some(())
    });
    let issue = repo.show(id);
    assert_eq!(issue["runs"][0]["outcome"], "stopped");
    let comment = last_comment(&issue);
    assert!(
        comment.contains(
            "stopped by the daily budget (`[budget] on_exceed = \"stop\"`): $0.50 reached, $0.75 spent today"
        ),
        "{comment}"
    );
    assert_eq!(repo.status(other), "ready", "nothing new is claimed");
    signal(runner.id(), "TERM");
    assert!(runner.wait(Duration::from_secs(30)).status.success());
}

#[test]
fn an_issue_over_its_cap_is_parked_without_a_run_until_its_cap_is_raised() {
    let repo = repo("[budget]\nper_issue_usd = 0.10\n");
    let id = repo.add(&["Costly", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    repo.ok(&["request-changes", &id.to_string(), "once more"]);

    let parked = format!(
        "Not run again: this issue has spent $0.10, at or over its budget of $0.10 ([budget] per_issue_usd). \
         To let it run, raise its cap with `autopilot-tui edit {id} --budget USD` (or `e` in the TUI), \
         then comment to hand it back to ready."
    );
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "blocked");
    assert_eq!(last_comment(&repo.show(id)), parked);
    assert_eq!(agent_runs(&repo), 1, "parked without a run");

    // A comment without a raised cap hands it back, and the next claim parks it again.
    assert_eq!(
        repo.ok(&["comment", &id.to_string(), "try again"]),
        format!("#{id} is ready\n")
    );
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "blocked");
    assert_eq!(last_comment(&repo.show(id)), parked);
    assert_eq!(agent_runs(&repo), 1);

    // Raised, and handed back by a comment: it runs.
    repo.ok(&["edit", &id.to_string(), "--budget", "1"]);
    assert_eq!(repo.show(id)["budget_usd"], 1.0);
    assert!(repo
        .ok(&["show", &id.to_string()])
        .contains("\nbudget: $1.00\n"));
    repo.ok(&["comment", &id.to_string(), "raised"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    assert_eq!(agent_runs(&repo), 2);

    repo.ok(&["edit", &id.to_string(), "--budget", "none"]);
    assert_eq!(repo.show(id)["budget_usd"], serde_json::Value::Null);
}

#[test]
fn edit_budget_refuses_what_cannot_be_a_cap_and_changes_nothing() {
    let repo = repo("");
    let id = repo.add(&["Capped"]);
    repo.ok(&["edit", &id.to_string(), "--budget", "2.5"]);
    for bad in ["-1", "0", "nan", "inf", "abc", "1e400", "\u{1b}[2J"] {
        let err = repo.fails(&["edit", &id.to_string(), "--budget", bad]);
        assert!(
            err.contains("a cap is a positive number of US dollars")
                && err.contains("nothing was changed")
                && !err.contains('\u{1b}'),
            "{bad}: {err}"
        );
        assert_eq!(repo.show(id)["budget_usd"], 2.5, "{bad}");
    }
}

#[test]
fn add_budget_sets_the_cap_and_refuses_what_cannot_be_one_adding_nothing() {
    let repo = repo("");
    let id = repo.add(&["Capped at birth", "--budget", "$3.5"]);
    assert_eq!(repo.show(id)["budget_usd"], 3.5);
    let uncapped = repo.add(&["Uncapped", "--budget", "none"]);
    assert!(repo.show(uncapped)["budget_usd"].is_null());
    for bad in ["-1", "0", "nan", "abc", "\u{1b}[2J"] {
        let err = repo.fails(&["add", "Never added", "--budget", bad]);
        assert!(
            err.contains("a cap is a positive number of US dollars")
                && err.contains("nothing was added")
                && !err.contains('\u{1b}'),
            "{bad}: {err}"
        );
    }
    let list = repo.ok(&["list", "--json"]);
    assert!(!list.contains("Never added"), "{list}");
}

#[test]
fn a_fix_loop_stops_when_the_issue_reached_its_cap() {
    // The check fails until the agent is told what it printed: without the cap the agent
    // would go again at once, on the same claim.
    let check =
        "grep -qx fixed state.txt || { echo \"CHECK-SAYS: state must be $(echo fixed)\"; exit 1; }";
    let repo = repo(&format!(
        "[budget]\nper_issue_usd = 0.01\n[checks]\ncommands = ['''{check}''']\nfix_attempts = 2\n"
    ));
    let id = repo.add(&["Fix the state [scenario:checks-fix]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(
        support::run_roles(&issue),
        support::pairs(&[("implement", "implemented"), ("check", "failed")])
    );
    let comment = last_comment(&issue);
    assert!(
        comment.starts_with("Not run again: this issue has spent $")
            && comment.contains("at or over its budget of $0.01 ([budget] per_issue_usd)")
            && comment.contains(&format!("autopilot-tui edit {id} --budget USD")),
        "{comment}"
    );
    assert_eq!(agent_runs(&repo), 1);
}
