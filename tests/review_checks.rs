//! Completion checks through the real binary: a real git repo, the fake agent, and `[checks]`
//! commands run in the issue's worktree after each committed change.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{alive, git, last_comment, pairs, read_pid, run_roles, wait_for, TestRepo};

/// A check that passes only once the agent wrote `fixed`; when it fails, it prints the words
/// the fake agent's `checks-fix` scenario waits for (built at run time, so that the command's
/// own text, also in the prompt, does not hold them).
const STATE_CHECK: &str =
    "cat state.txt; grep -qx fixed state.txt || { echo \"CHECK-SAYS: state must be $(echo fixed)\"; exit 1; }";

/// A line of Claude's stream-json, which a check may well print too.
const INIT: &str = r#"{"type":"system","subtype":"init","session_id":"s-1","model":"m"}"#;
/// A check printing a plain line, the state of the worktree, and a line that looks like JSON.
const CHATTY: &str = r#"echo all-good; git status --short; echo '{"type":"system","subtype":"init","session_id":"s-1","model":"m"}'"#;

/// A repo whose `autopilot.toml` holds `checks` (the body of a `[checks]` section).
fn repo_with_checks(checks: &str) -> TestRepo {
    TestRepo::with_config(&format!("[checks]\n{checks}\n"))
}

fn toml_list(commands: &[&str]) -> String {
    let quoted: Vec<String> = commands.iter().map(|c| format!("'''{c}'''")).collect();
    format!("commands = [{}]", quoted.join(", "))
}

fn comments(issue: &Value) -> Vec<String> {
    issue["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect()
}

fn run_id(issue: &Value, n: usize) -> i64 {
    issue["runs"][n]["id"].as_i64().unwrap()
}

fn transcript_text(repo: &TestRepo, run_id: i64) -> String {
    repo.transcript(run_id)
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn passing_checks_send_the_change_to_review_and_say_so() {
    let repo = repo_with_checks(&toml_list(&["test -f hello.txt", CHATTY]));
    let id = repo.add(&["Say hello", "--ready"]);
    let out = repo.run(&["run", "--once", "--verbose"]);
    assert!(out.status.success());
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        run_roles(&issue),
        pairs(&[
            ("implement", "implemented"),
            ("check", "passed"),
            ("check", "passed")
        ])
    );
    // the check's output went to the slot's pane as it ran, after its run started
    let stderr = String::from_utf8_lossy(&out.stderr);
    let started = stderr
        .find(&format!("[slot 1] #1 check: {CHATTY} — started run 3"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        stderr[started..].contains("[slot 1]   all-good"),
        "{stderr}"
    );
    assert_eq!(
        last_comment(&issue),
        format!("Checks passed: `test -f hello.txt`, `{CHATTY}`.")
    );
    // the check ran in the worktree (nothing left uncommitted), its output is its run's
    // transcript, and `log` reads it as plain text, though it looks like the agent's JSON
    let second = run_id(&issue, 2);
    let printed = format!("all-good\n{INIT}");
    assert_eq!(transcript_text(&repo, second), printed);
    let log = repo.ok(&["log", &id.to_string(), "--run", &second.to_string()]);
    assert_eq!(log.trim(), printed);
    assert_eq!(issue["runs"][2]["exit_code"], 0);
    // only one agent run
    assert_eq!(repo.agent_calls().len(), 1);
}

#[test]
fn failing_checks_go_back_to_the_agent_with_the_output_and_the_fix_passes() {
    let repo = repo_with_checks(&format!("{}\nfix_attempts = 2", toml_list(&[STATE_CHECK])));
    let id = repo.add(&["Fix the state [scenario:checks-fix]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        run_roles(&issue),
        pairs(&[
            ("implement", "implemented"),
            ("check", "failed"),
            ("implement", "implemented"),
            ("check", "passed")
        ])
    );
    let failed_check = run_id(&issue, 1);
    assert_eq!(issue["runs"][1]["exit_code"], 1);
    assert!(
        comments(&issue).contains(&format!(
            "Checks failed: `{STATE_CHECK}` exited with status 1. Sent back to the agent to fix \
             (attempt 1 of 2). Its whole output: `autopilot-tui log {id} --run {failed_check}`."
        )),
        "{:#?}",
        comments(&issue)
    );
    assert_eq!(
        last_comment(&issue),
        format!("Checks passed: `{STATE_CHECK}`.")
    );
    // the second agent run resumed the session, on the same branch, with the failing
    // command and its output as the newest message of its prompt
    let calls = repo.agent_calls();
    assert_eq!(calls.len(), 2);
    let session = issue["runs"][0]["session_id"].as_str().unwrap();
    let resume_at = calls[1].iter().position(|a| a == "--resume").unwrap();
    assert_eq!(calls[1][resume_at + 1], session);
    let prompt = &repo.agent_prompts()[1];
    let newest = prompt.find("Newest message, from autopilot:").unwrap();
    assert!(
        prompt[newest..].contains(&format!("`{STATE_CHECK}` exited with status 1"))
            && prompt[newest..].contains("broken\nCHECK-SAYS: state must be fixed"),
        "{prompt}"
    );
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:state.txt")]),
        "fixed"
    );
    assert_eq!(
        git(
            &repo.root,
            &["rev-list", "--count", &format!("main..{branch}")]
        ),
        "2"
    );
}

#[test]
fn checks_that_never_pass_block_the_issue_after_the_attempts() {
    let check = "echo \"CHECK-SAYS: state must be $(echo fixed)\"; echo always-red; exit 3";
    let repo = repo_with_checks(&format!("{}\nfix_attempts = 2", toml_list(&[check])));
    let id = repo.add(&["Never green [scenario:checks-fix]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(repo.agent_calls().len(), 3, "the first run and two fixes");
    assert_eq!(
        run_roles(&issue),
        pairs(&[
            ("implement", "implemented"),
            ("check", "failed"),
            ("implement", "implemented"),
            ("check", "failed"),
            ("implement", "implemented"),
            ("check", "failed")
        ])
    );
    let last_check = run_id(&issue, 5);
    assert_eq!(
        last_comment(&issue),
        format!(
            "Checks failed: `{check}` exited with status 3, and the agent tried to fix them 2 \
             time(s). Its whole output: `autopilot-tui log {id} --run {last_check}`.\n\nThe last \
             lines it printed:\n```\nCHECK-SAYS: state must be fixed\nalways-red\n```\n\nHow \
             should this go on? Fix it in the worktree, or comment with directions to hand it \
             back to the agent."
        )
    );
    assert_eq!(
        issue["runs"][5]["error"],
        format!("`{check}` exited with status 3")
    );
    // a comment hands it back to ready, with a fresh count of attempts
    repo.ok(&["comment", &id.to_string(), "keep trying"]);
    assert_eq!(repo.status(id), "ready");
}

#[test]
fn committed_conflict_markers_fail_the_checks_and_go_back_to_the_agent() {
    // no command at all: the built-in checks still run
    let repo = repo_with_checks("fix_attempts = 1");
    let id = repo.add(&["Merge it [scenario:conflict-markers]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        run_roles(&issue),
        pairs(&[("implement", "implemented"), ("implement", "implemented")])
    );
    assert!(comments(&issue).contains(
        &"Checks failed: `built-in: no conflict markers` failed: conflict markers were \
          committed. Sent back to the agent to fix (attempt 1 of 1)."
            .to_string()
    ));
    let prompt = &repo.agent_prompts()[1];
    assert!(
        prompt.contains("merged.txt:1: <<<<<<< HEAD")
            && prompt.contains("merged.txt:3: =======")
            && prompt.contains("merged.txt:5: >>>>>>> main"),
        "{prompt}"
    );
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:merged.txt")]),
        "resolved"
    );

    // with no attempt left, the markers block the issue and are listed
    let repo = repo_with_checks("fix_attempts = 0");
    let id = repo.add(&["Merge it [scenario:conflict-markers]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    let body = last_comment(&issue);
    assert!(
        body.starts_with("Checks failed: `built-in: no conflict markers`")
            && body.contains("```\nmerged.txt:1: <<<<<<< HEAD\nmerged.txt:3: =======\nmerged.txt:5: >>>>>>> main\n```"),
        "{body}"
    );
}

#[test]
fn a_check_command_that_does_not_exist_is_a_clear_failure() {
    let repo = repo_with_checks(&format!(
        "{}\nfix_attempts = 0",
        toml_list(&["no-such-check-command-xyz --all"])
    ));
    let id = repo.add(&["Say hello", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(issue["runs"][1]["exit_code"], 127);
    let body = last_comment(&issue);
    assert!(
        body.starts_with(
            "Checks failed: `no-such-check-command-xyz --all` exited with status 127: the \
             command was not found, and no fix attempts are configured"
        ) && body.contains("no-such-check-command-xyz: not found"),
        "{body}"
    );
}

#[test]
fn a_check_printing_100_mb_is_capped_with_a_marker_in_bounded_memory() {
    // 100 MB of 100-byte lines, then a last line that must still reach the comment
    let flood = "yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123 | head -c 100000000; echo flood-end; exit 1";
    let repo = repo_with_checks(&format!("{}\nfix_attempts = 0", toml_list(&[flood])));
    let id = repo.add(&["Say hello", "--ready"]);
    let runner = repo.spawn_run(&[]);
    wait_for("the check to fail", Duration::from_secs(240), || {
        (repo.status(id) == "blocked").then_some(())
    });
    let status = std::fs::read_to_string(format!("/proc/{}/status", runner.id())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    support::signal(runner.id(), "TERM");
    runner.wait(Duration::from_secs(30));
    eprintln!("peak RSS of the runner: {peak_kb} kB");
    assert!(peak_kb < 80 * 1024, "peak RSS {peak_kb} kB");
    let issue = repo.show(id);
    let check = run_id(&issue, 1);
    let lines = repo.transcript(check);
    let stored: usize = lines.iter().map(Vec::len).sum();
    assert!(stored <= (8 << 20) + 200, "{stored} bytes stored");
    assert!(
        String::from_utf8_lossy(lines.last().unwrap())
            .starts_with("[autopilot: transcript cap of 8 MiB reached"),
        "{:?}",
        lines
            .last()
            .map(|l| String::from_utf8_lossy(l).into_owned())
    );
    // the tail is the end of the output, past the cap
    let body = last_comment(&issue);
    assert!(
        body.contains("flood-end\n```"),
        "{}",
        &body[body.len().saturating_sub(300)..]
    );
    assert!(body.len() < 64 << 10, "{} bytes", body.len());
}

#[test]
fn a_check_that_hangs_times_out_and_is_killed() {
    let repo = TestRepo::new();
    let pid_file = repo.dir.path().join("check.pid");
    let hang = format!("echo $$ > {}; echo waiting; sleep 1000", pid_file.display());
    std::fs::write(
        repo.root.join("autopilot.toml"),
        format!(
            "[checks]\n{}\ntimeout_minutes = 0.05\nfix_attempts = 0\n",
            toml_list(&[&hang])
        ),
    )
    .unwrap();
    let id = repo.add(&["Say hello", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    let body = last_comment(&issue);
    assert!(
        body.starts_with(&format!(
            "Checks failed: `{hang}` timed out after 3 seconds ([checks] timeout_minutes)"
        )) && body.contains("```\nwaiting\n```"),
        "{body}"
    );
    let pid = read_pid(&pid_file).unwrap();
    assert!(!alive(pid), "the hanging check was killed");
}

#[test]
fn a_bad_checks_setting_is_refused_with_its_name() {
    let repo = repo_with_checks("commands = ['make test', ' ']");
    let err = repo.fails(&["run", "--once"]);
    assert!(
        err.contains("autopilot.toml: [checks] commands: a check command is empty"),
        "{err}"
    );
    let repo = repo_with_checks("timeout_minutes = -1");
    let err = repo.fails(&["run", "--once"]);
    assert!(err.contains("[checks] timeout_minutes = -1"), "{err}");
}

#[test]
fn a_stopped_check_parks_the_issue_and_a_shutdown_hands_it_back() {
    let repo = TestRepo::new().with_env("AUTOPILOT_POLL_SECONDS", "1");
    let pid_file = repo.dir.path().join("check.pid");
    let hang = format!("echo $$ > {}; sleep 1000", pid_file.display());
    std::fs::write(
        repo.root.join("autopilot.toml"),
        format!("[checks]\n{}\n", toml_list(&[&hang])),
    )
    .unwrap();
    let id = repo.add(&["Say hello", "--ready"]);
    let runner = repo.spawn_run(&[]);
    let pid = wait_for("the check to start", Duration::from_secs(60), || {
        read_pid(&pid_file)
    });
    repo.ok(&["stop", &id.to_string()]);
    wait_for("the issue to park", Duration::from_secs(60), || {
        (repo.status(id) == "blocked").then_some(())
    });
    assert!(!alive(pid), "the check was killed");
    let issue = repo.show(id);
    assert_eq!(issue["runs"][1]["outcome"], "stopped");
    let body = last_comment(&issue);
    assert!(
        body.starts_with(&format!("The check `{hang}` was stopped by tester;")),
        "{body}"
    );

    // the runner shuts down during the check of a second issue: not the issue's fault
    std::fs::remove_file(&pid_file).unwrap();
    let other = repo.add(&["Say hello again", "--ready"]);
    let pid = wait_for("the second check to start", Duration::from_secs(60), || {
        read_pid(&pid_file)
    });
    support::signal(runner.id(), "TERM");
    runner.wait(Duration::from_secs(30));
    assert!(!alive(pid), "the check was killed");
    assert_eq!(repo.status(other), "ready");
    let issue = repo.show(other);
    assert_eq!(issue["runs"][1]["outcome"], "interrupted");
}
