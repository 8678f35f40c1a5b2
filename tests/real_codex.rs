//! End to end against the real Codex CLI (`@openai/codex@0.171.0`), fully offline: the CLI talks
//! to a mock OpenAI Responses API on 127.0.0.1 (tests/support/mock_openai.rs).
//!
//! The CLI is found through `AUTOPILOT_REAL_CODEX` (`.ci/run` installs it and sets this). Under
//! `CI=true` a missing CLI fails the suite; elsewhere these tests say so and pass.
//!
//! `record_fixtures` (ignored) rewrites tests/fixtures/codex-exec-json/ from the real CLI:
//! `AUTOPILOT_REAL_CODEX=… cargo test --test real_codex record_fixtures -- --ignored`.

#![allow(clippy::unwrap_used)]

#[path = "support/mock_openai.rs"]
mod mock_openai;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use mock_openai::{MockOpenAi, QUESTION};
use support::{git, last_comment, TestRepo};

fn real_codex() -> Option<PathBuf> {
    let found = std::env::var_os("AUTOPILOT_REAL_CODEX")
        .map(PathBuf::from)
        .filter(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").map_or(true, |v| v.is_empty() || v == "false"),
            "CI=true but the real Codex CLI is missing: AUTOPILOT_REAL_CODEX must name it (.ci/run installs it)"
        );
        eprintln!("skipping: set AUTOPILOT_REAL_CODEX to a codex 0.171.0 executable to run the real-CLI tests");
    }
    found
}

/// A `CODEX_HOME` under `dir` whose config points Codex at `api`.
fn codex_home(dir: &Path, api: &MockOpenAi) -> PathBuf {
    let home = dir.join("codex-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("config.toml"), api.codex_config()).unwrap();
    home
}

/// A repo whose runs use the real CLI (`[agent] kind = "codex"`) against a fresh mock API.
fn setup() -> Option<(TestRepo, MockOpenAi)> {
    setup_with("")
}

/// As [`setup`], with `more` appended to the repo's `autopilot.toml`.
fn setup_with(more: &str) -> Option<(TestRepo, MockOpenAi)> {
    let codex = real_codex()?;
    let api = MockOpenAi::start();
    let repo = TestRepo::with_config(&format!(
        "[agent]\nkind = \"codex\"\ncommand = {:?}\n{more}",
        codex.to_str().unwrap()
    ));
    let home = codex_home(repo.dir.path(), &api);
    let repo = repo
        .with_env("CODEX_HOME", home.to_str().unwrap())
        .with_env("MOCK_OPENAI_KEY", "sk-mock-dummy")
        .with_env("AUTOPILOT_AGENT_COMMAND", "")
        .with_env("AUTOPILOT_CLAUDE_BIN", "");
    Some((repo, api))
}

#[test]
fn real_codex_implements_commits_and_goes_to_review() {
    // A model with a price: the run is priced from the tokens Codex reported.
    let priced = "model = \"gpt-5-codex\"\n[prices.\"gpt-5-codex\"]\ninput = 1.25\noutput = 10.0\ncache_read = 0.125\n";
    let Some((repo, api)) = setup_with(priced) else {
        return;
    };
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
        "Hello from the real Codex CLI"
    );
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:NOTES.md")]),
        "Notes from Codex"
    );
    let run = &issue["runs"][0];
    assert_eq!(run["outcome"], "implemented", "{run}");
    let session = run["session_id"].as_str().unwrap();
    let first = &api.requests()[0];
    assert_eq!(first.header("thread-id"), Some(session), "{run}");
    // Three answers, each with the mock's usage; the cached part is not counted twice.
    let [input, cached, output, _] = mock_openai::USAGE;
    assert_eq!(api.requests().len(), 3);
    assert_eq!(run["input_tokens"], 3 * (input - cached), "{run}");
    assert_eq!(run["cache_read_tokens"], 3 * cached, "{run}");
    assert_eq!(run["output_tokens"], 3 * output, "{run}");
    assert_eq!(run["model"], "gpt-5-codex", "{run}");
    assert_eq!(api.requests()[0].body["model"], "gpt-5-codex");
    let usd = (3 * (input - cached)) as f64 * 1.25 / 1e6
        + (3 * cached) as f64 * 0.125 / 1e6
        + (3 * output) as f64 * 10.0 / 1e6;
    let estimate = run["estimate_usd"].as_f64().unwrap_or(-1.0);
    assert!((estimate - usd).abs() < 1e-9, "{estimate} != {usd}: {run}");
    // The pane lines `log` shows: the command, the patch and the final answer.
    let log = repo.ok(&["log", &id.to_string()]);
    assert!(
        log.contains("printf 'Hello from the real Codex CLI'"),
        "{log}"
    );
    assert!(log.contains("NOTES.md"), "{log}");
    assert!(log.contains("Implemented hello.txt."), "{log}");
}

#[test]
fn real_codex_blocked_then_resumed_with_the_answer() {
    let Some((repo, api)) = setup() else { return };
    let id = repo.add(&["Cache things [scenario:ask]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked", "{}", last_comment(&issue));
    assert!(last_comment(&issue).contains(QUESTION), "{issue}");
    let session = issue["runs"][0]["session_id"].as_str().unwrap().to_string();
    repo.ok(&["comment", &id.to_string(), "Use Postgres."]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let runs = issue["runs"].as_array().unwrap();
    let resumed = runs.iter().find(|r| r["outcome"] == "implemented").unwrap();
    assert_eq!(resumed["session_id"], session.as_str(), "{issue}");
    // Codex reports the thread's totals; each run stores its own share: one answer for the
    // question, three for the work.
    let [input, cached, output, _] = mock_openai::USAGE;
    let asked = runs.iter().find(|r| r["outcome"] == "blocked").unwrap();
    assert_eq!(asked["input_tokens"], input - cached, "{asked}");
    assert_eq!(resumed["input_tokens"], 3 * (input - cached), "{resumed}");
    assert_eq!(resumed["cache_read_tokens"], 3 * cached, "{resumed}");
    assert_eq!(resumed["output_tokens"], 3 * output, "{resumed}");
    // The resumed run continued the thread: same thread id, the question and answer in it.
    let requests = api.requests();
    let last = requests.last().unwrap();
    assert_eq!(last.header("thread-id"), Some(session.as_str()));
    let body = last.body.to_string();
    assert!(body.contains(QUESTION) && body.contains("Use Postgres."));
}

#[test]
fn real_codex_thread_it_no_longer_has_starts_afresh() {
    let Some((repo, _api)) = setup() else { return };
    let id = repo.add(&["Cache things [scenario:ask]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked", "{}", last_comment(&issue));
    let old = issue["runs"][0]["session_id"].as_str().unwrap().to_string();
    // Codex keeps its threads under CODEX_HOME/sessions: without them the thread is unknown.
    std::fs::remove_dir_all(repo.dir.path().join("codex-home/sessions")).unwrap();
    repo.ok(&["comment", &id.to_string(), "Use Postgres."]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    // The fresh session holds the answer in its prompt, so it asks again: what matters is
    // that the run went on in a new thread instead of failing on the old one.
    let last = issue["runs"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["outcome"], "blocked", "{issue}");
    let new = last["session_id"].as_str().unwrap();
    assert_ne!(new, old, "{issue}");
}

#[test]
fn real_codex_api_errors_block_and_rate_limits_pause_the_queue() {
    let Some((repo, _api)) = setup() else { return };
    let broken = repo.add(&[
        "Break [scenario:server-error]",
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
    let issue = repo.show(broken);
    assert_eq!(issue["status"], "blocked", "{issue}");
    assert_eq!(issue["runs"][0]["outcome"], "failed");
    let body = last_comment(&issue);
    assert!(
        body.contains("The run failed") && body.contains("high demand"),
        "{body}"
    );
    // A rate limit is not the issue's fault: it goes back to ready and the queue waits.
    let issue = repo.show(limited);
    assert_eq!(issue["status"], "ready", "{issue}");
    assert_eq!(issue["runs"][0]["outcome"], "interrupted");
    let body = last_comment(&issue);
    assert!(body.contains("rate") && body.contains("429"), "{body}");
    assert_eq!(repo.status(untouched), "ready");
    assert!(
        repo.show(untouched)["runs"].as_array().unwrap().is_empty(),
        "the queue paused"
    );
}

/// Runs the real CLI once in `repo` with `args`, the prompt on stdin; returns its stdout.
fn codex_exec(codex: &Path, home: &Path, repo: &Path, args: &[&str], prompt: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(codex)
        .args(args)
        .current_dir(repo)
        .env("CODEX_HOME", home)
        .env("MOCK_OPENAI_KEY", "sk-mock-dummy")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(prompt.as_bytes())
        .unwrap();
    let out = support::wait_output(child, Duration::from_secs(120));
    String::from_utf8(out.stdout).unwrap()
}

/// Rewrites the fixtures from the real CLI. The temporary paths and random ids stay as the CLI
/// printed them: the parser's tests read them as they are.
#[test]
#[ignore = "rewrites tests/fixtures/codex-exec-json from the real CLI"]
fn record_fixtures() {
    let codex = real_codex().expect("AUTOPILOT_REAL_CODEX");
    let api = MockOpenAi::start();
    let dir = tempfile::tempdir().unwrap();
    let home = codex_home(dir.path(), &api);
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/codex-exec-json");
    std::fs::create_dir_all(&out).unwrap();
    let base = [
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
    ];
    for (name, title) in [
        ("implement", "Say hello [scenario:implement]"),
        ("blocked", "Cache things [scenario:ask]"),
        ("server-error", "Break [scenario:server-error]"),
        ("rate-limit", "Slow down [scenario:rate-limit]"),
    ] {
        let repo = dir.path().join(name);
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q"]);
        let mut args = base.to_vec();
        let cd = repo.to_str().unwrap().to_string();
        args.extend(["-C", &cd, "-"]);
        let text = codex_exec(&codex, &home, &repo, &args, &format!("{title}\n"));
        std::fs::write(out.join(format!("{name}.jsonl")), &text).unwrap();
        if name == "blocked" {
            let thread = text
                .lines()
                .find_map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).ok()?;
                    v["thread_id"].as_str().map(String::from)
                })
                .unwrap();
            let mut args = base.to_vec();
            args.extend(["-C", &cd, "resume", &thread, "-"]);
            let text = codex_exec(&codex, &home, &repo, &args, "Use Postgres.\n");
            std::fs::write(out.join("resume.jsonl"), text).unwrap();
        }
    }
}

#[test]
fn an_issue_asking_for_codex_runs_it_while_the_configured_agent_stays_claude() {
    let Some(codex) = real_codex() else {
        return;
    };
    let api = MockOpenAi::start();
    // The default agent is the fake Claude Code; `codex` is found on PATH for the one issue
    // that asks for it.
    let repo = TestRepo::new();
    let home = codex_home(repo.dir.path(), &api);
    let path = format!(
        "{}:{}",
        codex.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let repo = repo
        .with_env("CODEX_HOME", home.to_str().unwrap())
        .with_env("MOCK_OPENAI_KEY", "sk-mock-dummy")
        .with_env("PATH", &path);
    let by_codex = repo.add(&[
        "Say hello [scenario:implement]",
        "--ready",
        "--agent",
        "codex",
    ]);
    let by_claude = repo.add(&["Say hello", "--body", "Create hello.txt", "--ready"]);
    repo.ok(&["run", "--once"]);

    let issue = repo.show(by_codex);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(issue["agent"], "codex");
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:hello.txt")]),
        "Hello from the real Codex CLI"
    );
    assert!(!api.requests().is_empty(), "codex never called its API");
    // Its transcript reads in Codex's format although the queue's agent is Claude Code.
    let log = repo.ok(&["log", &by_codex.to_string()]);
    assert!(log.contains("● session"), "{log}");
    assert!(!log.contains("\"thread.started\""), "{log}");
    let issue = repo.show(by_claude);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert!(issue["agent"].is_null());
    assert_eq!(
        issue["runs"][0]["session_id"]
            .as_str()
            .map(|s| s.starts_with("fake-")),
        Some(true),
        "the fake Claude Code ran it: {}",
        issue["runs"][0]
    );
}
