//! The core loop through the real binary: a real git repo, a real SQLite file and a fake agent
//! process that prints the real Claude Code stream-json format.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::{alive, git, last_comment, read_pid, signal, wait_for, wait_output, TestRepo};

fn transcript_len(repo: &TestRepo, run_id: i64) -> (i64, Vec<Vec<u8>>) {
    let lines = repo.transcript(run_id);
    (lines.len() as i64, lines)
}

#[test]
fn issue_to_review_to_done() {
    let repo = TestRepo::new();
    let id = repo.add(&[
        "Say hello",
        "--body",
        "Create hello.txt",
        "--kind",
        "chore",
        "--ready",
    ]);
    assert_eq!(repo.status(id), "ready");
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review");
    let branch = issue["branch"].as_str().unwrap().to_string();
    assert_eq!(branch, format!("autopilot/issue-{id}-say-hello"));
    assert_eq!(issue["base"], "main");
    // the commit is on the branch, by the agent identity, and holds the agent's file
    let author = git(&repo.root, &["log", "-1", "--format=%an <%ae>", &branch]);
    assert_eq!(author, "autopilot agent <agent@autopilot.local>");
    let files = git(&repo.root, &["show", "--name-only", "--format=", &branch]);
    assert_eq!(files, "hello.txt");
    // main is untouched and .autopilot is ignored
    assert_eq!(git(&repo.root, &["status", "--porcelain"]), "");
    // the agent's final text is a comment; the run has cost, turns, session, transcript
    let comments = issue["comments"].as_array().unwrap();
    assert!(comments
        .iter()
        .any(|c| c["author_kind"] == "agent" && c["body"] == "Implemented hello.txt."));
    let run = &issue["runs"][0];
    assert_eq!(run["outcome"], "implemented");
    assert_eq!(run["cost_usd"], 0.102688);
    assert_eq!(run["turns"], 2);
    assert!(run["session_id"].as_str().unwrap().starts_with("fake-"));
    let (n, lines) = transcript_len(&repo, run["id"].as_i64().unwrap());
    assert_eq!(n, 6, "every stdout line is stored");
    assert!(lines[0].starts_with(b"{\"type\":\"system\",\"subtype\":\"init\""));
    // the agent ran headless: -p with the prompt on stdin, stream-json, verbose, no
    // AskUserQuestion
    let calls = repo.agent_calls();
    assert_eq!(calls.len(), 1);
    let args = &calls[0];
    assert_eq!(args[0], "-p");
    assert!(!args.iter().any(|a| a.contains("Say hello")), "{args:?}");
    let prompts = repo.agent_prompts();
    assert!(
        prompts[0].contains("Say hello")
            && prompts[0].contains("Create hello.txt")
            && prompts[0].contains("BLOCKED: ")
    );
    for want in [
        "--output-format",
        "stream-json",
        "--verbose",
        "--disallowedTools=AskUserQuestion",
        "--permission-mode",
    ] {
        assert!(
            args.contains(&want.to_string()),
            "{want} missing from {args:?}"
        );
    }
    // the readable log
    let log = repo.ok(&["log", &id.to_string()]);
    assert!(
        log.contains("▸ Write")
            && log.contains("Implemented hello.txt.")
            && log.contains("$0.1027"),
        "{log}"
    );

    repo.ok(&["move", &id.to_string(), "done"]);
    assert_eq!(repo.status(id), "done");
}

#[test]
fn blocked_question_answer_and_resumed_rerun() {
    let repo = TestRepo::new();
    let id = repo.add(&["Pick a database [scenario:ask]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    let question = issue["comments"].as_array().unwrap().last().unwrap();
    assert_eq!(question["author_kind"], "agent");
    assert_eq!(
        question["body"],
        "Which database should the cache use, Redis or Postgres?"
    );
    let session = issue["runs"][0]["session_id"].as_str().unwrap().to_string();
    // the worktree holds no commit yet
    assert_eq!(issue["runs"][0]["outcome"], "blocked");

    let out = repo.ok(&[
        "comment",
        &id.to_string(),
        "ANSWER: postgres",
        "--author",
        "alice",
    ]);
    assert_eq!(out.trim(), format!("#{id} is ready"));
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review");
    // the rerun resumed the same session with the answer in its prompt
    let calls = repo.agent_calls();
    assert_eq!(calls.len(), 2);
    let second = &calls[1];
    let resume_at = second
        .iter()
        .position(|a| a == "--resume")
        .expect("--resume passed");
    assert_eq!(second[resume_at + 1], session);
    let prompt = &repo.agent_prompts()[1];
    assert!(prompt.contains("ANSWER: postgres") && prompt.contains("alice (human)"));
    assert!(
        prompt.contains("Which database should the cache use"),
        "the whole thread is in the prompt"
    );
    let branch = issue["branch"].as_str().unwrap();
    let content = git(&repo.root, &["show", &format!("{branch}:answer.txt")]);
    assert!(content.starts_with("ANSWER: postgres"), "{content}");
    assert_eq!(issue["runs"][1]["session_id"], session.as_str());

    // request changes: back to ready with the thread, rerun continues on the same branch
    repo.ok(&["request-changes", &id.to_string(), "ANSWER: mysql please"]);
    assert_eq!(repo.status(id), "ready");
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    let commits = git(
        &repo.root,
        &["rev-list", "--count", &format!("main..{branch}")],
    );
    assert_eq!(commits, "2");
    repo.ok(&["move", &id.to_string(), "done"]);
    assert_eq!(repo.status(id), "done");
}

#[test]
fn a_forgotten_session_starts_fresh_instead_of_failing() {
    let repo = TestRepo::new();
    let id = repo.add(&["Ask first [scenario:ask]", "--ready"]);
    repo.ok(&["run", "--once"]);
    repo.ok(&["comment", &id.to_string(), "ANSWER: yes"]);
    let repo = repo.with_env("FAKE_CLAUDE_FORGET_SESSIONS", "1");
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    let calls = repo.agent_calls();
    assert_eq!(calls.len(), 3);
    assert!(calls[1].contains(&"--resume".to_string()));
    assert!(!calls[2].contains(&"--resume".to_string()));
}

#[test]
fn agent_failure_blocks_with_error_and_stderr() {
    let repo = TestRepo::new();
    let id = repo.add(&["Fails [scenario:fail]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    let body = issue["comments"].as_array().unwrap().last().unwrap()["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(body.contains("API Error: 500"), "{body}");
    assert!(
        body.contains("simulated overloaded API"),
        "stderr tail in the comment: {body}"
    );
    assert_eq!(issue["runs"][0]["outcome"], "failed");
    assert_eq!(issue["runs"][0]["exit_code"], 1);
    // exactly one attempt: no silent loop
    assert_eq!(repo.agent_calls().len(), 1);
}

#[test]
fn no_changes_and_no_question_blocks_with_a_system_comment() {
    let repo = TestRepo::new();
    let id = repo.add(&["Nothing [scenario:nochange]", "--ready"]);
    let silent = repo.add(&["Silent [scenario:exit-silently]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    let last = issue["comments"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["author_kind"], "system");
    assert!(last["body"]
        .as_str()
        .unwrap()
        .contains("without changing any file"));
    let issue = repo.show(silent);
    assert_eq!(issue["status"], "blocked");
    assert!(issue["comments"][0]["body"]
        .as_str()
        .unwrap()
        .contains("without printing a result line"));
}

#[test]
fn hostile_output_is_stored_whole_and_never_crashes_the_run() {
    let repo = TestRepo::new();
    let id = repo.add(&["Garbage [scenario:garbage]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review");
    let (n, lines) = transcript_len(&repo, issue["runs"][0]["id"].as_i64().unwrap());
    assert_eq!(n, 11);
    assert_eq!(lines[1], b"this line is not JSON at all");
    assert!(
        lines[2].starts_with(&[0xff, 0xfe]),
        "invalid UTF-8 kept byte for byte"
    );
    assert!(lines[2].contains(&0), "NUL kept");
    assert_eq!(lines[4].len(), 10 << 20, "a 10 MB line is stored whole");
    // the readable log never carries a raw escape sequence other than colour
    let log = repo.ok(&["log", &id.to_string()]);
    assert!(
        !log.contains('\u{1b}'),
        "no escapes when stdout is not a terminal"
    );
    assert!(
        log.contains("colour red and clipboard"),
        "{}",
        &log[..log.len().min(500)]
    );
}

#[test]
fn missing_agent_binary_is_named_and_claims_nothing() {
    let repo = TestRepo::new().with_env("AUTOPILOT_CLAUDE_BIN", "/nonexistent/claude");
    let id = repo.add(&["Anything", "--ready"]);
    let err = repo.fails(&["run", "--once"]);
    assert!(
        err.contains("agent binary not found") && err.contains("AUTOPILOT_CLAUDE_BIN"),
        "{err}"
    );
    assert_eq!(repo.status(id), "ready");
}

#[test]
fn root_without_sandbox_is_refused_before_claiming() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let repo = TestRepo::new().with_env("IS_SANDBOX", "yes");
    let id = repo.add(&["Anything", "--ready"]);
    let err = repo.fails(&["run", "--once"]);
    assert!(
        err.contains("IS_SANDBOX=1") && err.contains("acceptEdits"),
        "{err}"
    );
    assert_eq!(repo.status(id), "ready");
    assert!(repo.agent_calls().is_empty());
    let repo = repo.with_env("AUTOPILOT_PERMISSION_MODE", "acceptEdits");
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
}

/// Runs an issue to review once, then takes its worktree away with `git worktree remove`,
/// so the next run finds the recorded worktree path as `damage` leaves it.
fn reviewed_then_worktree_removed(
    repo: &TestRepo,
    title: &str,
) -> (i64, String, std::path::PathBuf) {
    let id = repo.add(&[title, "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review");
    let wt = std::path::PathBuf::from(issue["worktree"].as_str().unwrap());
    git(&repo.root, &["worktree", "remove", wt.to_str().unwrap()]);
    repo.ok(&["request-changes", &id.to_string(), "once more"]);
    (id, issue["branch"].as_str().unwrap().to_string(), wt)
}

#[test]
fn git_problems_park_the_issue_with_gits_own_words() {
    let repo = TestRepo::new();
    // a plain directory squatting on the recorded worktree path
    let (squat, _, wt) = reviewed_then_worktree_removed(&repo, "Squatted");
    std::fs::create_dir_all(&wt).unwrap();
    repo.ok(&["run", "--once"]);
    let issue = repo.show(squat);
    assert_eq!(issue["status"], "blocked");
    let body = last_comment(&issue);
    assert!(body.contains("exists but is not a worktree"), "{body}");

    // a branch this database did not create is left alone: the issue gets a fresh one
    let reuse = repo.add(&["Reuse me", "--ready", "--priority", "1"]);
    let stale = format!("autopilot/issue-{reuse}-reuse-me");
    git(&repo.root, &["branch", &stale]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(reuse);
    assert_eq!(issue["status"], "in_review");
    assert_eq!(issue["branch"], format!("{stale}-2"));
    assert_eq!(
        git(&repo.root, &["rev-parse", &stale]),
        git(&repo.root, &["rev-parse", "main"])
    );

    // a missing base branch is named, with the command that sets another
    let repo = repo.with_env("AUTOPILOT_BASE_BRANCH", "no-such-branch");
    let id = repo.add(&["Needs base", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    let body = issue["comments"][0]["body"].as_str().unwrap();
    assert!(
        body.contains("\"no-such-branch\"") && body.contains("does not exist"),
        "{body}"
    );
}

#[test]
fn interrupting_the_runner_kills_the_agent_group_and_hands_the_issue_back() {
    let repo = TestRepo::new();
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    let child = repo.spawn_run(&[]);
    let pid_file = repo.agent_log.join("child.pid");
    let grandchild = wait_for("the agent's child process", Duration::from_secs(30), || {
        read_pid(&pid_file)
    });
    assert!(alive(grandchild));
    assert!(signal(child.id(), "TERM"));
    let out = child.wait(Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(
        "the agent's child to be killed",
        Duration::from_secs(10),
        || (!alive(grandchild)).then_some(()),
    );
    let issue = repo.show(id);
    assert_eq!(issue["status"], "ready");
    assert_eq!(issue["runs"][0]["outcome"], "interrupted");
    let (n, _) = transcript_len(&repo, issue["runs"][0]["id"].as_i64().unwrap());
    assert_eq!(n, 2, "the partial transcript is kept");
    assert!(repo
        .root
        .join(format!(".autopilot/worktrees/issue-{id}"))
        .is_dir());
}

#[test]
fn expired_lease_after_a_crash_goes_back_to_ready() {
    let repo = TestRepo::new();
    let id = repo.add(&["Hangs [scenario:hang]", "--ready"]);
    let child = repo.spawn_run(&[]);
    let agent_pid = wait_for("the agent to start", Duration::from_secs(30), || {
        read_pid(&repo.agent_log.join("agent.pid"))
    });
    assert!(signal(child.id(), "KILL"));
    let _ = child.wait(Duration::from_secs(10));
    // the agent runs in its own group; clean it up as the crash left it
    let status = std::process::Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{agent_pid}")])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(repo.status(id), "in_progress");
    // let the lease run out without waiting for it
    let conn = rusqlite::Connection::open(repo.db()).unwrap();
    conn.execute("UPDATE issues SET lease_until = 0 WHERE id = ?1", [id])
        .unwrap();
    // as if that runner had been on another machine: only its lease can tell it is gone
    conn.execute("UPDATE runs SET owner_host = 'another-host'", [])
        .unwrap();
    drop(conn);
    // a fresh runner hands it back at start-up; the queue is paused so it does not claim the
    // issue again (the hang scenario would hang)
    let conn = rusqlite::Connection::open(repo.db()).unwrap();
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('paused', '1')",
        [],
    )
    .unwrap();
    drop(conn);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "ready");
    assert_eq!(issue["runs"][0]["outcome"], "interrupted");
    let last = issue["comments"].as_array().unwrap().last().unwrap();
    assert_eq!(last["author_kind"], "system");
    assert!(last["body"].as_str().unwrap().contains("expired"));
    assert!(issue["branch"].as_str().is_some());
}

#[test]
fn many_processes_claim_every_issue_exactly_once() {
    let repo = TestRepo::new();
    let total = 200;
    for i in 0..total {
        repo.add(&[&format!("Issue {i}"), "--ready"]);
    }
    let children: Vec<_> = (0..3)
        .map(|p| {
            repo.cmd(&["run", "--once", "--agents", "2", "--allow-second-runner"])
                .env("AUTOPILOT_AGENT_ID", format!("proc{p}"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = wait_output(c, Duration::from_secs(300));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let conn = rusqlite::Connection::open(repo.db()).unwrap();
    let claims: Vec<(i64, i64)> = conn
        .prepare("SELECT issue_id, count(*) FROM events WHERE kind = 'issue.status' AND json_extract(data, '$.to') = 'in_progress' GROUP BY issue_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(claims.len(), total, "every issue was claimed");
    assert!(
        claims.iter().all(|(_, n)| *n == 1),
        "an issue was claimed twice: {claims:?}"
    );
    let in_review: i64 = conn
        .query_row(
            "SELECT count(*) FROM issues WHERE status = 'in_review'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let stuck: Vec<(i64, String, String)> = conn
        .prepare(
            "SELECT i.id, i.status, coalesce((SELECT body FROM comments c WHERE c.issue_id = i.id ORDER BY c.id DESC LIMIT 1), '')
             FROM issues i WHERE i.status != 'in_review'",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(in_review, total as i64, "not in review: {stuck:?}");
    let claimers: i64 = conn
        .query_row(
            "SELECT count(DISTINCT actor) FROM events WHERE kind = 'run.started'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(claimers > 1, "work was shared between slots");
    let runs: i64 = conn
        .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, total as i64);
}

#[test]
fn a_branch_checked_out_elsewhere_is_reported_verbatim() {
    let repo = TestRepo::new();
    let (id, branch, _) = reviewed_then_worktree_removed(&repo, "Busy branch");
    let other = repo.dir.path().join("elsewhere");
    git(
        &repo.root,
        &["worktree", "add", "-q", other.to_str().unwrap(), &branch],
    );
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    let body = last_comment(&issue);
    assert!(
        body.contains("git worktree add") && body.contains(&branch),
        "{body}"
    );
    assert!(body.contains("fatal:"), "git's own words are kept: {body}");
}

#[test]
fn push_mode_pushes_the_branch_and_reports_pr_failures_as_comments() {
    let repo = TestRepo::new().with_env("AUTOPILOT_PUSH", "1");
    let origin = repo.dir.path().join("origin.git");
    git(
        repo.dir.path(),
        &["init", "-q", "--bare", origin.to_str().unwrap()],
    );
    git(
        &repo.root,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    let id = repo.add(&["Push me", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(
        issue["status"], "in_review",
        "a PR failure is a comment, not a failed run"
    );
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&origin, &["rev-parse", branch]),
        git(&repo.root, &["rev-parse", branch])
    );
    let note = issue["comments"].as_array().unwrap().last().unwrap()["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        note.contains("Pull request:") || note.contains("Push / pull request failed"),
        "{note}"
    );
}

#[test]
fn a_rerun_brings_in_the_base_and_parks_on_a_merge_conflict_with_nothing_lost() {
    let repo = TestRepo::new();
    let id = repo.add(&["Say hello", "--ready"]);
    repo.ok(&["run", "--once"]);
    let branch = repo.show(id)["branch"].as_str().unwrap().to_string();
    // main moves on without touching the agent's file: the rerun merges it in cleanly
    std::fs::write(repo.root.join("NEWS.md"), "news\n").unwrap();
    git(&repo.root, &["add", "NEWS.md"]);
    git(&repo.root, &["commit", "-q", "-m", "news"]);
    repo.ok(&["request-changes", &id.to_string(), "once more"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:NEWS.md")]),
        "news"
    );
    // main changes the agent's own file: the next rerun conflicts
    std::fs::write(repo.root.join("hello.txt"), "main's own hello\n").unwrap();
    git(&repo.root, &["add", "hello.txt"]);
    git(&repo.root, &["commit", "-q", "-m", "conflicting hello"]);
    let head_before = git(&repo.root, &["rev-parse", &branch]);
    repo.ok(&["request-changes", &id.to_string(), "and again"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked");
    let body = issue["comments"].as_array().unwrap().last().unwrap()["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        body.contains("conflicts in:\n- hello.txt") && body.contains("merge was aborted"),
        "{body}"
    );
    assert_eq!(
        git(&repo.root, &["rev-parse", &branch]),
        head_before,
        "the branch is untouched"
    );
    let wt = repo.root.join(format!(".autopilot/worktrees/issue-{id}"));
    assert_eq!(
        git(&wt, &["status", "--porcelain"]),
        "",
        "no half-merged files are left"
    );
    assert_eq!(
        repo.agent_calls().len(),
        2,
        "the agent was not run on a conflicted tree"
    );
}

#[test]
fn log_follow_prints_every_stored_line_once_and_ends_with_the_run() {
    let gate_dir = tempfile::tempdir().unwrap();
    let gate = gate_dir.path().join("go");
    let repo = TestRepo::new()
        .with_env("FAKE_CLAUDE_GATE", &gate.display().to_string())
        .with_env("FAKE_CLAUDE_DELAY", "0.05");
    let id = repo.add(&["Slow [scenario:slow]", "--ready"]);
    let runner = repo.spawn_run(&["--once"]);
    // The agent printed its first line and waits at the gate: follow from here.
    let run_id = wait_for("the run's first line", Duration::from_secs(30), || {
        let run = repo.show(id)["runs"][0]["id"].as_i64()?;
        (!repo.transcript(run).is_empty()).then_some(run)
    });
    let follow = repo
        .cmd(&["log", &id.to_string(), "--follow", "--raw"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::write(&gate, "").unwrap();
    let out = wait_output(follow, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    runner.wait(Duration::from_secs(60));
    let stored = repo.transcript(run_id);
    assert!(stored.len() >= 7, "{} lines stored", stored.len());
    let printed: Vec<&[u8]> = out.stdout.split(|b| *b == b'\n').collect();
    assert_eq!(printed.last(), Some(&&b""[..]), "ends with a newline");
    assert_eq!(
        printed[..printed.len() - 1],
        stored.iter().map(Vec::as_slice).collect::<Vec<_>>()[..],
        "every stored line, once, in order"
    );
}
