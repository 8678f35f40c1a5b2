//! End to end against the real Claude Code CLI (`@anthropic-ai/claude-code@2.1.330`), fully
//! offline: the CLI talks to a mock Messages API on 127.0.0.1.
//!
//! The CLI is found through `AUTOPILOT_REAL_CLAUDE` (`.ci/run` installs it and sets this). Under
//! `CI=true` a missing CLI fails the suite; elsewhere these tests say so and pass.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use support::mock_api::{fake_secrets, MockApi};
use support::{alive, failures, git, last_comment, read_pid, signal, thread, wait_for, TestRepo};

fn real_claude() -> Option<PathBuf> {
    let found = std::env::var_os("AUTOPILOT_REAL_CLAUDE")
        .map(PathBuf::from)
        .filter(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").map_or(true, |v| v.is_empty() || v == "false"),
            "CI=true but the real Claude Code CLI is missing: AUTOPILOT_REAL_CLAUDE must name it (.ci/run installs it)"
        );
        eprintln!("skipping: set AUTOPILOT_REAL_CLAUDE to a claude 2.1.330 executable to run the real-CLI tests");
    }
    found
}

/// A repo whose runs use the real CLI against a fresh mock API.
fn setup() -> Option<(TestRepo, MockApi)> {
    let claude = real_claude()?;
    let api = MockApi::start();
    let repo = TestRepo::new();
    let base = repo.dir.path().to_path_buf();
    let repo = repo
        .with_env("AUTOPILOT_CLAUDE_BIN", claude.to_str().unwrap())
        .with_env("ANTHROPIC_BASE_URL", &api.url)
        .with_env("ANTHROPIC_API_KEY", "sk-ant-test-dummy")
        .with_env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .with_env("DISABLE_TELEMETRY", "1")
        .with_env("DISABLE_AUTOUPDATER", "1")
        .with_env("DISABLE_ERROR_REPORTING", "1")
        .with_env("CLAUDE_CODE_MAX_RETRIES", "1")
        .with_env(
            "CLAUDE_CONFIG_DIR",
            base.join("claude-config").to_str().unwrap(),
        )
        .with_env(
            "CLAUDE_CODE_TMPDIR",
            base.join("claude-tmp").to_str().unwrap(),
        )
        .with_env("IS_SANDBOX", "1");
    Some((repo, api))
}

/// Starts a runner on a `[scenario:sleeper]` issue and waits until the CLI's Bash tool runs;
/// returns the runner and the tool's shell pid.
fn start_sleeper(repo: &TestRepo, id: i64) -> (support::Running, i32) {
    let runner = repo.spawn_run(&[]);
    let pid_file = repo
        .root
        .join(format!(".autopilot/worktrees/issue-{id}/sleeper.pid"));
    let shell = wait_for(
        "the CLI's Bash tool to start",
        Duration::from_secs(60),
        || read_pid(&pid_file),
    );
    assert!(alive(shell));
    (runner, shell)
}

#[test]
fn real_cli_implements_commits_and_goes_to_review() {
    let Some((repo, api)) = setup() else { return };
    let id = repo.add(&["Say hello [scenario:implement]", "--ready"]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:hello.txt")]),
        "Hello from the real CLI"
    );
    let run = &issue["runs"][0];
    assert_eq!(run["outcome"], "implemented");
    assert!(
        run["cost_usd"].as_f64().unwrap() > 0.0,
        "the CLI computed a cost from our usage"
    );
    assert_eq!(run["turns"], 2);
    let answers = api.requests().len() as i64;
    let [input, output, cache_read, cache_write] = support::mock_api::USAGE;
    // The live estimate priced each answer once (as Opus: the model id names the family), with
    // the one output token its usage carries until the result.
    let each =
        (input as f64 * 5.0 + 25.0 + cache_read as f64 * 0.5 + cache_write as f64 * 6.25) / 1e6;
    let estimate = run["estimate_usd"].as_f64().unwrap();
    assert!(
        (estimate - each * answers as f64).abs() < 1e-9,
        "{estimate} for {answers} answers"
    );
    // Every answer reported the same usage; the CLI's totals are stored as they are.
    let stored = [
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
    ]
    .map(|k| run[k].as_i64().unwrap_or(-1));
    assert_eq!(
        stored,
        [input, output, cache_read, cache_write].map(|t| t * answers),
        "{run}"
    );
    assert_eq!(run["model"], api.requests()[0]["model"], "{run}");
    assert!(
        issue["cost_usd"].as_f64() == run["cost_usd"].as_f64(),
        "{issue}"
    );
    // `stats` adds up what was stored: the same cost and tokens, under the CLI's model.
    let stats: serde_json::Value = serde_json::from_str(&repo.ok(&["stats", "--json"])).unwrap();
    assert_eq!(stats["runs"], 1, "{stats}");
    assert!(
        stats["total_cost_usd"].as_f64() == run["cost_usd"].as_f64(),
        "{stats}"
    );
    for key in [
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
    ] {
        assert_eq!(stats[key], run[key], "{key}: {stats}");
    }
    let model = run["model"].as_str().unwrap();
    assert_eq!(
        stats["by_model"][model]["input_tokens"],
        run["input_tokens"]
    );
    assert_eq!(stats["by_outcome"]["implemented"], 1, "{stats}");
    let session = run["session_id"].as_str().unwrap();
    assert_eq!(session.len(), 36, "a UUID session id: {session}");
    assert!(issue["comments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["body"] == "Implemented the change."));
    let log = repo.ok(&["log", &id.to_string()]);
    assert!(
        log.contains("▸ Write") && log.contains("hello.txt"),
        "{log}"
    );
    assert!(api.requests().len() >= 2);
    // the prompt reached the model with the issue in it, and AskUserQuestion was not offered
    let first = &api.requests()[0];
    assert!(first.to_string().contains("Say hello [scenario:implement]"));
    let tools: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(!tools.contains(&"AskUserQuestion"), "{tools:?}");
}

#[test]
fn real_cli_blocked_question_then_resumed_session_succeeds() {
    let Some((repo, api)) = setup() else { return };
    let id = repo.add(&["Pick a database [scenario:ask]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(
        last_comment(&issue),
        "Which database should the cache use, Redis or Postgres?"
    );
    let session = issue["runs"][0]["session_id"].as_str().unwrap().to_string();

    repo.ok(&["comment", &id.to_string(), "ANSWER: postgres"]);
    let before = api.requests().len();
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        issue["runs"][1]["session_id"],
        session.as_str(),
        "the rerun resumed the same session"
    );
    // the resumed conversation carries the first run's question back to the model
    let resumed = api.requests()[before].to_string();
    assert!(
        resumed.contains("BLOCKED: Which database"),
        "history was resumed"
    );
    assert!(resumed.contains("ANSWER: postgres"));
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:answer.txt")]),
        "ANSWER: postgres"
    );
    // Two runs: `stats` totals are their sums, and the first try did not reach review.
    let runs = issue["runs"].as_array().unwrap();
    let stats: serde_json::Value = serde_json::from_str(&repo.ok(&["stats", "--json"])).unwrap();
    assert_eq!(stats["runs"], 2, "{stats}");
    let cost: f64 = runs.iter().map(|r| r["cost_usd"].as_f64().unwrap()).sum();
    assert!(
        (stats["total_cost_usd"].as_f64().unwrap() - cost).abs() < 1e-9,
        "{stats}"
    );
    for key in ["input_tokens", "output_tokens", "cache_read_tokens"] {
        let sum: i64 = runs.iter().map(|r| r[key].as_i64().unwrap()).sum();
        assert_eq!(stats[key], sum, "{key}: {stats}");
    }
    assert_eq!(stats["by_outcome"]["blocked"], 1, "{stats}");
    assert_eq!(stats["flow"]["success_rate"], 0.0, "{stats}");
}

#[test]
fn real_cli_takes_a_thread_over_128_kib_on_stdin() {
    let Some((repo, api)) = setup() else { return };
    let id = repo.add(&["Pick a database [scenario:ask]", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "blocked");
    // One answer past the kernel's 128 KiB limit for a single argument or variable.
    let mut answer = String::from("ANSWER: postgres\n");
    for i in 0..6_000 {
        answer.push_str(&format!(
            "detail {i:05}: keep the cache warm across deploys\n"
        ));
    }
    answer.push_str("END-OF-LONG-ANSWER");
    assert!(answer.len() > 200 << 10);
    let mut child = repo
        .cmd(&["comment", &id.to_string(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), answer.as_bytes()).unwrap();
    let out = support::wait_output(child, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = api.requests().len();
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    // The whole answer reached the model, through the real CLI's stdin.
    let sent = api.requests()[before].to_string();
    assert!(
        sent.contains("detail 05999: keep the cache warm") && sent.contains("END-OF-LONG-ANSWER"),
        "the long answer reached the API whole"
    );
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:answer.txt")]),
        "ANSWER: postgres"
    );
}

#[test]
fn real_cli_bash_tool_runs_in_the_worktree() {
    let Some((repo, _api)) = setup() else { return };
    let id = repo.add(&["Run a command [scenario:bash]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:bash_out.txt")]),
        "bash-ok"
    );
    let log = repo.ok(&["log", &id.to_string()]);
    assert!(log.contains("▸ Bash echo bash-ok"), "{log}");
}

#[test]
fn real_cli_api_errors_block_and_rate_limits_pause_the_queue() {
    let Some((repo, _api)) = setup() else { return };
    let overloaded = repo.add(&[
        "Overloaded [scenario:overloaded]",
        "--ready",
        "--priority",
        "2",
    ]);
    let limited = repo.add(&[
        "Limited [scenario:rate-limit]",
        "--ready",
        "--priority",
        "1",
    ]);
    let untouched = repo.add(&["Waits for the limit", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(overloaded);
    assert_eq!(issue["status"], "blocked");
    assert_eq!(issue["runs"][0]["outcome"], "failed");
    let body = last_comment(&issue);
    assert!(
        body.contains("The run failed") && body.contains("529"),
        "{body}"
    );
    // a rate limit is not the issue's fault: it goes back to ready and the queue waits
    let issue = repo.show(limited);
    assert_eq!(issue["status"], "ready");
    assert_eq!(issue["runs"][0]["outcome"], "interrupted");
    let body = last_comment(&issue);
    assert!(body.contains("rate") && body.contains("429"), "{body}");
    assert_eq!(repo.status(untouched), "ready");
    assert!(
        repo.show(untouched)["runs"].as_array().unwrap().is_empty(),
        "the queue paused"
    );
}

#[test]
fn real_cli_stopped_mid_run_takes_its_children_with_it() {
    let Some((repo, _api)) = setup() else { return };
    let id = repo.add(&["Sleep [scenario:sleeper]", "--ready"]);
    let (runner, shell) = start_sleeper(&repo, id);
    assert!(signal(runner.id(), "TERM"));
    let out = runner.wait(Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(
        "the Bash tool's shell to die",
        Duration::from_secs(10),
        || (!alive(shell)).then_some(()),
    );
    let issue = repo.show(id);
    assert_eq!(issue["status"], "ready");
    assert_eq!(issue["runs"][0]["outcome"], "interrupted");
    assert!(
        issue["runs"][0]["transcript_lines"].as_i64().unwrap() >= 2,
        "partial transcript kept"
    );
}

#[test]
fn real_cli_refuses_bypass_as_root_without_sandbox_and_we_say_so_first() {
    let Some((repo, _api)) = setup() else { return };
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    // what the CLI itself does
    let claude = real_claude().unwrap();
    let out = std::process::Command::new(&claude)
        .args([
            "-p",
            "hi",
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "bypassPermissions",
        ])
        .env_remove("IS_SANDBOX")
        .env("IS_SANDBOX", "yes")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("root"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // and autopilot refuses before claiming
    let repo = repo.with_env("IS_SANDBOX", "yes");
    let id = repo.add(&["Anything", "--ready"]);
    let err = repo.fails(&["run", "--once"]);
    assert!(err.contains("IS_SANDBOX=1"), "{err}");
    assert_eq!(repo.status(id), "ready");
}

#[test]
fn real_cli_output_streams_live_into_a_tui_pane() {
    let Some((repo, _api)) = setup() else { return };
    let Some(t) = support::tmux::Tmux::start_sized(&repo, "", 160, 45) else {
        return;
    };
    t.wait_screen("backlog 0");
    let id = repo.add(&["Stream slowly [scenario:slow]", "--ready"]);
    // the first block is on screen while the run is still going
    t.wait_screen("line 1");
    assert_eq!(
        repo.status(id),
        "in_progress",
        "line 1 was shown live, before the run ended"
    );
    t.wait_screen("line 4");
    wait_for("review", support::tmux::LIMIT, || {
        (repo.status(id) == "in_review").then_some(())
    });
    let screen = t.wait_screen("in review 1");
    assert!(!screen.contains('\u{1b}'));
    t.quit();
}

#[test]
fn real_cli_recovers_from_a_broken_stream_by_asking_again_without_streaming() {
    let Some((repo, api)) = setup() else { return };
    let id = repo.add(&["Say hello [scenario:broken-stream]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let requests = api.requests();
    assert!(
        requests.iter().any(|r| r["stream"] == true),
        "it first asked for a stream"
    );
    assert!(
        requests.iter().any(|r| r["stream"] != true),
        "then retried without streaming"
    );
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:hello.txt")]),
        "Hello from the real CLI"
    );
}

#[test]
fn real_cli_stop_from_the_cli_kills_the_cli_and_its_children_and_parks_the_issue() {
    let Some((repo, _api)) = setup() else { return };
    let id = repo.add(&["Sleep [scenario:sleeper]", "--ready"]);
    let (runner, shell) = start_sleeper(&repo, id);
    let conn = rusqlite::Connection::open(repo.db()).unwrap();
    let claude: i32 = conn
        .query_row(
            "SELECT agent_pid FROM runs WHERE issue_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(alive(claude) && alive(shell));
    repo.ok(&["stop", &id.to_string()]);
    wait_for("the issue to be parked", Duration::from_secs(30), || {
        (repo.status(id) == "blocked").then_some(())
    });
    wait_for(
        "the CLI and its Bash child to die",
        Duration::from_secs(10),
        || (!alive(claude) && !alive(shell)).then_some(()),
    );
    let issue = repo.show(id);
    assert_eq!(issue["runs"][0]["outcome"], "stopped");
    assert!(
        last_comment(&issue).contains("stopped by tester"),
        "{}",
        last_comment(&issue)
    );
    assert!(signal(runner.id(), "TERM"));
    runner.wait(Duration::from_secs(30));
}

#[test]
fn real_cli_secrets_in_answers_and_tool_output_are_stored_only_as_markers() {
    let Some((repo, _api)) = setup() else { return };
    let id = repo.add(&["Rotate the keys [scenario:secrets]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let branch = issue["branch"].as_str().unwrap();
    let sid = id.to_string();
    let raw = repo.ok(&["log", &sid, "--raw"]);
    let texts = [
        ("log --raw", raw.clone()),
        ("log", repo.ok(&["log", &sid])),
        ("show --json", repo.ok(&["show", &sid, "--json"])),
        (
            "the commit message",
            git(
                &repo.root,
                &["log", "--format=%B", &format!("main..{branch}")],
            ),
        ),
        (
            "the database",
            String::from_utf8_lossy(&std::fs::read(repo.db()).unwrap()).into_owned(),
        ),
    ];
    for (what, text) in &texts {
        for secret in fake_secrets() {
            assert!(!text.contains(&secret), "{what} holds {secret}:\n{text}");
        }
    }
    // the model's text, the Bash tool's input and its output were all there, redacted
    assert!(
        raw.contains(r"I was given ANTHROPIC_API_KEY=[REDACTED:anthropic-api-key]\nso"),
        "{raw}"
    );
    assert!(raw.contains("GH_TOKEN=[REDACTED:github-token]"), "{raw}");
    for line in raw.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    let summary = issue["comments"][0]["body"].as_str().unwrap();
    assert_eq!(
        summary,
        "Rotated the keys: the new token is [REDACTED:github-token], APP_PASSWORD=[REDACTED:secret]."
    );
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:secrets.txt")]),
        "rotated"
    );
}

#[test]
fn real_cli_fixes_a_failing_check_after_seeing_its_output() {
    let Some((repo, api)) = setup() else { return };
    let check = "cat state.txt; grep -qx fixed state.txt || { echo \"CHECK-SAYS: state must be $(echo fixed)\"; exit 1; }";
    std::fs::write(
        repo.root.join("autopilot.toml"),
        format!("[checks]\ncommands = ['''{check}''']\nfix_attempts = 2\n"),
    )
    .unwrap();
    let id = repo.add(&["Fix the state [scenario:checks-fix]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let roles: Vec<(&str, &str)> = issue["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["role"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("implement", "implemented"),
            ("check", "failed"),
            ("implement", "implemented"),
            ("check", "passed")
        ]
    );
    assert_eq!(last_comment(&issue), format!("Checks passed: `{check}`."));
    // the fix resumed the CLI's session, and the model saw the check's output
    let (first, second) = (&issue["runs"][0], &issue["runs"][2]);
    assert_eq!(first["session_id"], second["session_id"]);
    assert!(api.requests().iter().any(|r| r
        .to_string()
        .contains("broken\\nCHECK-SAYS: state must be fixed")));
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:state.txt")]),
        "fixed"
    );
}

#[test]
fn real_cli_reviewer_asks_for_changes_then_approves() {
    let Some((repo, api)) = setup() else { return };
    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[review]\nagent = true\nmax_cycles = 2\n",
    )
    .unwrap();
    let id = repo.add(&["Set the state [scenario:review-fix]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let runs = issue["runs"].as_array().unwrap();
    let roles: Vec<(&str, &str)> = runs
        .iter()
        .map(|r| (r["role"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("implement", "implemented"),
            ("review", "changes_requested"),
            ("implement", "implemented"),
            ("review", "approved")
        ]
    );
    assert_eq!(
        last_comment(&issue),
        "The reviewer approved the change; it is ready for your review."
    );
    // the implementer resumed its own session; each reviewer had a session of its own
    let session = |n: usize| runs[n]["session_id"].as_str().unwrap().to_string();
    assert_eq!(session(0), session(2));
    assert_eq!(issue["session_id"], session(0).as_str());
    assert!(session(1) != session(0) && session(3) != session(0) && session(1) != session(3));
    // the model saw the diff as the reviewer, and the reviewer's words as the implementer
    let requests: Vec<String> = api.requests().iter().map(|r| r.to_string()).collect();
    assert!(requests
        .iter()
        .any(|r| r.contains("You are a code reviewer.") && r.contains("\\n+first\\n")));
    assert!(requests
        .iter()
        .any(|r| !r.contains("You are a code reviewer.")
            && r.contains("(review cycle 1 of 2).\\n\\nREVIEW-SAYS write addressed to state.txt")));
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:state.txt")]),
        "addressed"
    );
}

#[test]
fn real_cli_stopping_at_its_budget_parks_the_issue_with_the_reason() {
    let Some((repo, _api)) = setup() else { return };
    // The CLI prices each mock answer at about $0.006, so it stops itself after the second;
    // the model is priced at 0 here so that the runner's own estimate never stops it first.
    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[budget]\nper_run_usd = 0.007\n[prices.\"claude-opus-5-5\"]\ninput = 0.0\noutput = 0.0\n",
    )
    .unwrap();
    let id = repo.add(&["Say hello [scenario:implement]", "--ready"]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issue = repo.show(id);
    let comment = last_comment(&issue);
    assert_eq!(issue["status"], "blocked", "{comment}");
    let run = &issue["runs"][0];
    assert_eq!(run["outcome"], "stopped", "{run}");
    assert!(
        comment.contains("stopped by Claude Code at its per-run budget")
            && comment.contains("Reached maximum budget ($0.007)"),
        "{comment}"
    );
    assert_eq!(run["estimate_usd"].as_f64(), Some(0.0), "{run}");
    assert!(run["cost_usd"].as_f64().unwrap() > 0.007, "{run}");
}

#[test]
fn real_cli_split_creates_backlog_subtasks_from_the_planners_answer() {
    let Some((repo, api)) = setup() else { return };
    let id = repo.add(&["Load the config", "--ready"]);
    let out = repo.ok(&["split", &id.to_string()]);
    let ids: Vec<i64> = out.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{out}");
    let parent = repo.show(id);
    assert_eq!(parent["children"], serde_json::json!(ids));
    let run = &parent["runs"][0];
    assert_eq!(run["role"], "plan");
    assert_eq!(run["outcome"], "planned");
    assert!(run["cost_usd"].as_f64().is_some_and(|c| c > 0.0), "{run}");
    let titles: Vec<String> = ids
        .iter()
        .map(|i| repo.show(*i)["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles, ["Add the parser", "Wire it in"]);
    assert_eq!(repo.show(ids[1])["body"], "call it at startup");
    assert_eq!(repo.show(ids[0])["status"], "backlog");
    // The planner ran in the repository, changing nothing, and was asked for a plan.
    assert!(!repo.root.join("hello.txt").exists());
    let requests: Vec<String> = api.requests().iter().map(|r| r.to_string()).collect();
    assert!(requests
        .iter()
        .any(|r| r.contains("SUBTASK: <short title>")));
}

#[test]
fn real_cli_planner_cannot_write_even_when_its_model_tries() {
    let Some((repo, api)) = setup() else { return };
    let id = repo.add(&["Load the config [scenario:plan-write]", "--ready"]);
    let out = repo.ok(&["split", &id.to_string()]);
    assert_eq!(out.lines().count(), 2, "{out}");
    // The model asked to write a file; the CLI had no such tool to give it.
    assert!(!repo.root.join("planner-wrote.txt").exists());
    // Nor was it offered any tool that writes or runs commands, in any request; reading is.
    let planner: Vec<serde_json::Value> = api
        .requests()
        .into_iter()
        .filter(|r| {
            r.to_string()
                .contains("You are planning, not implementing.")
        })
        .collect();
    assert!(planner.len() >= 2, "{} requests", planner.len());
    for r in &planner {
        let tools: Vec<&str> = r["tools"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
            .unwrap_or_default();
        assert!(tools.contains(&"Read"), "{tools:?}");
        for tool in ["Write", "Edit", "MultiEdit", "NotebookEdit", "Bash"] {
            assert!(!tools.contains(&tool), "{tool} was offered: {tools:?}");
        }
    }
    let run = &repo.show(id)["runs"][0];
    assert_eq!(run["outcome"], "planned", "{run}");
    let init =
        String::from_utf8_lossy(&repo.transcript(run["id"].as_i64().unwrap())[0]).into_owned();
    assert!(init.contains(r#""permissionMode":"plan""#), "{init}");
}

#[test]
fn real_cli_gets_the_kinds_template_as_guidelines_in_its_prompt() {
    let Some((repo, api)) = setup() else { return };
    let dir = repo.root.join(".autopilot/templates");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bugfix.md"),
        "# Bugfix\nTEMPLATE-RULE-7: reproduce the bug first.\n",
    )
    .unwrap();
    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[templates]\nbug = \"bugfix\"\n",
    )
    .unwrap();
    let id = repo.add(&["Say hello [scenario:implement]", "--kind", "bug", "--ready"]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(issue["runs"][0]["template"], "bugfix");
    // The guidelines reached the model through the real CLI, before the issue.
    let sent: Vec<String> = api.requests().iter().map(|r| r.to_string()).collect();
    let first = sent
        .iter()
        .find(|r| r.contains("Say hello"))
        .expect("the issue reached the API");
    let rule = first
        .find("TEMPLATE-RULE-7")
        .expect("the template reached the API");
    assert!(first.contains("Guidelines (template `bugfix`"));
    assert!(rule < first.find("Title: Say hello").unwrap());
}

#[test]
fn real_cli_api_error_is_retried_as_it_was_and_the_retry_reaches_review() {
    let Some((repo, api)) = setup() else { return };
    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[runner]\nretry = \"same\"\nmax_retries = 1\n",
    )
    .unwrap();
    let id = repo.add(&["Say hello [scenario:overloaded-once]", "--ready"]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        support::run_roles(&issue),
        support::pairs(&[("implement", "failed"), ("implement", "implemented")])
    );
    assert_eq!(failures(&issue), ["api_error", "null"]);
    let notes = thread(&issue);
    assert!(
        notes[0].starts_with("Retry 1/1 after api_error: ")
            && notes[0].contains("529")
            && notes[0].ends_with("The agent runs again as it was, on the same claim."),
        "{notes:?}"
    );
    assert!(
        !notes.iter().any(|n| n.contains("The run failed")),
        "the retried failure did not block: {notes:?}"
    );
    // The CLI itself gave up on the overloaded API before the runner went again.
    let sent: Vec<String> = api.requests().iter().map(|r| r.to_string()).collect();
    let refused = sent.iter().take_while(|r| !r.contains("Retry 1/1")).count();
    assert!(refused >= 1, "{} requests", sent.len());
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:hello.txt")]),
        "Hello from the real CLI"
    );
    let stats: serde_json::Value = serde_json::from_str(&repo.ok(&["stats", "--json"])).unwrap();
    assert_eq!(stats["failures"], serde_json::json!({"api_error": 1}));
}

#[test]
fn real_cli_api_error_is_diagnosed_by_the_analyst_then_retried_with_its_diagnosis() {
    let Some((repo, api)) = setup() else { return };
    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[runner]\nretry = \"analyze\"\nanalyze_model = \"claude-haiku-4-5\"\n",
    )
    .unwrap();
    let id = repo.add(&["Say hello [scenario:overloaded-once]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        support::run_roles(&issue),
        support::pairs(&[
            ("implement", "failed"),
            ("analyze", "analyzed"),
            ("implement", "implemented")
        ])
    );
    assert_eq!(failures(&issue), ["api_error", "null", "null"]);
    let analyst = &issue["runs"][1];
    assert!(analyst["cost_usd"].as_f64().unwrap() > 0.0, "{analyst}");
    let notes = thread(&issue);
    assert!(
        notes[0].starts_with("Retry 1/1 after api_error") && notes[0].contains("with a diagnosis"),
        "{notes:?}"
    );
    assert_eq!(
        notes[1],
        "Diagnosis by run 2 (analyze):\nDIAGNOSIS-SAYS the API was overloaded; just try again."
    );
    // The analyst ran on the cheap model, read-only; the implementer then got its diagnosis.
    let requests = api.requests();
    let diagnosing = requests
        .iter()
        .find(|r| r.to_string().contains("You are diagnosing a failed run"))
        .expect("the analyst reached the API");
    assert_eq!(diagnosing["model"], "claude-haiku-4-5");
    let tools: Vec<&str> = diagnosing["tools"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        !tools.contains(&"Write") && !tools.contains(&"Bash"),
        "{tools:?}"
    );
    assert!(requests.iter().any(|r| {
        let r = r.to_string();
        !r.contains("You are diagnosing")
            && r.contains("What went wrong last time (diagnosis by run 2):")
            && r.contains("DIAGNOSIS-SAYS the API was overloaded")
    }));
}

#[test]
fn real_cli_lessons_reach_the_next_related_issues_prompt_without_their_secrets() {
    let Some((repo, api)) = setup() else { return };
    let first = repo.add(&["Gizmo setup [scenario:learn]", "--ready"]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issue = repo.show(first);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let stored: serde_json::Value =
        serde_json::from_str(&repo.ok(&["learnings", "--json"])).unwrap();
    let texts: Vec<&str> = stored
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "the gizmo build needs GIZMO_MODE=fast before the tests",
            "the staging key is [REDACTED:anthropic-api-key]"
        ]
    );
    assert_eq!(stored[0]["issue_id"], first);

    let next = repo.add(&[
        "Gizmo flicker",
        "--body",
        "The gizmo build is slow.",
        "--ready",
    ]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(repo.status(next), "in_review");
    // The lesson reached the model through the real CLI, before the issue; its secret did not.
    let sent: Vec<String> = api.requests().iter().map(|r| r.to_string()).collect();
    let second = sent
        .iter()
        .find(|r| r.contains("Title: Gizmo flicker"))
        .expect("the second issue reached the API");
    let lesson = second
        .find("- the gizmo build needs GIZMO_MODE=fast before the tests")
        .expect("the lesson reached the API");
    assert!(second.contains("What earlier runs learned"));
    assert!(lesson < second.find("Title: Gizmo flicker").unwrap());
    let [ant, _, _, _] = fake_secrets();
    assert!(!second.contains(&ant), "the secret stays out of the prompt");
}

#[test]
fn real_cli_secret_answer_reaches_the_runs_environment_but_not_the_database() {
    let Some((repo, api)) = setup() else { return };
    let secret = ["zebra-Quartz", "-7781-mock"].concat();
    let id = repo.add(&["Connect to staging [scenario:needs]", "--ready"]);
    let sid = id.to_string();
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked", "{}", last_comment(&issue));
    let listed = repo.ok(&["answer", &sid]);
    assert!(
        listed.contains("DB_PASS (secret)  the staging password"),
        "{listed}"
    );

    let mut answer = repo.cmd(&["answer", &sid, "DB_PASS=-"]);
    let mut child = answer
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), secret.as_bytes()).unwrap();
    let out = support::wait_output(child, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(last_comment(&repo.show(id)).contains("DB_PASS: provided"));

    let before = api.requests().len();
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:needs_env.txt")]),
        secret,
        "the CLI's Bash tool had $DB_PASS"
    );
    // Only the tool's own output (sent back to the model) carries it, never the prompt.
    let prompt = api.requests()[before].to_string();
    assert!(prompt.contains("DB_PASS: provided"), "{prompt}");
    assert!(
        !prompt.contains(&secret),
        "the prompt does not carry the secret"
    );
    let raw = repo.ok(&["log", &sid, "--raw"]);
    assert!(raw.contains("pass is [REDACTED:answer]"), "{raw}");
    for text in [raw, repo.ok(&["show", &sid, "--json"])] {
        assert!(!text.contains(&secret), "{text}");
    }
    let db = repo.db();
    for file in [
        db.clone(),
        db.with_extension("db-wal"),
        db.with_extension("db-shm"),
    ] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the secret",
            file.display()
        );
    }
}
