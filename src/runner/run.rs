//! One run: worktree, agent process, transcript ingestion, verdict, commit, and the final
//! store transaction.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::agent::AgentRequest;
use super::events::RunnerEvent;
use super::ingest::{read_output, write_output, Chunk, Ingest};
use super::outcome::{decide, Observed, Verdict};
use super::process::{signal_group, terminate_group, LineSplitter};
use super::workspace;
use super::{git, prompt, Db, Runner};
use crate::domain::{now_millis, Actor, AuthorKind, Issue, RunOutcome, Status};
use crate::store::RunEnd;

/// Lines of stderr kept for error comments.
const STDERR_TAIL_LINES: usize = 40;
/// How often run limits (wall clock, stall) are checked.
const LIMIT_TICK: Duration = Duration::from_millis(250);
/// How long a stopped agent gets to exit before the group is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How long output still in the pipe gets to arrive after the agent exited, before what it
/// left running is killed.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What the author of system comments is called.
const SYSTEM_AUTHOR: &str = "autopilot";

/// Why a run is being stopped: the reason, once one is given.
type StopReason = Arc<Mutex<Option<String>>>;

fn set_reason(reason: &StopReason, text: String) {
    if let Ok(mut r) = reason.lock() {
        if r.is_none() {
            *r = Some(text);
        }
    }
}

fn get_reason(reason: &StopReason) -> Option<String> {
    reason.lock().ok().and_then(|r| r.clone())
}

/// Runs one claimed issue to its end. Never panics and never leaves the issue in progress
/// without reporting why: every path ends in `finish_run`.
pub(super) async fn run_issue(
    r: &Runner,
    db: &Db,
    slot: usize,
    agent_id: &str,
    issue: Issue,
    shutdown: &CancellationToken,
) {
    let (issue_id, title) = (issue.id, issue.title.clone());
    let owner = agent_id.to_string();
    let run_id = match db
        .call(move |s| s.start_run(issue_id, &owner, slot as i64, &crate::sys::host_name()))
        .await
    {
        Ok(id) => id,
        Err(e) => {
            r.emit(RunnerEvent::Problem(format!(
                "cannot start a run for #{issue_id}: {e}"
            )));
            return;
        }
    };
    r.emit(RunnerEvent::RunStarted {
        slot,
        run_id,
        issue_id,
        title: super::sanitize::strip_all(&title),
        agent_id: agent_id.to_string(),
    });

    let stop = shutdown.child_token();
    let reason: StopReason = Arc::default();
    if let Ok(mut m) = r.stops.lock() {
        m.insert(issue_id, (stop.clone(), Arc::clone(&reason)));
    }
    let renewer = spawn_lease_renewer(r, db, issue_id, agent_id, &stop, &reason);

    let end = execute(
        r, db, slot, agent_id, run_id, &issue, &stop, &reason, shutdown,
    )
    .await;

    renewer.abort();
    if let Ok(mut m) = r.stops.lock() {
        m.remove(&issue_id);
    }
    let outcome = end.outcome.unwrap_or(RunOutcome::Failed);
    let owner = agent_id.to_string();
    let summary = end
        .comments
        .first()
        .map(|(_, _, body)| super::sanitize::strip_all(body.lines().next().unwrap_or("")))
        .unwrap_or_default();
    match db.call(move |s| s.finish_run(run_id, &owner, &end)).await {
        Ok((issue, moved)) => {
            if !moved {
                tracing::warn!(
                    issue_id,
                    "run finished after its claim was lost; issue left as {}",
                    issue.status
                );
            }
            r.emit(RunnerEvent::RunFinished {
                slot,
                run_id,
                issue_id,
                outcome,
                status: issue.status,
                summary,
            });
        }
        Err(e) => r.emit(RunnerEvent::Problem(format!(
            "cannot record the end of the run on #{issue_id}: {e}"
        ))),
    }
    r.emit(RunnerEvent::StoreChanged);
}

fn spawn_lease_renewer(
    r: &Runner,
    db: &Db,
    issue_id: i64,
    agent_id: &str,
    stop: &CancellationToken,
    reason: &StopReason,
) -> tokio::task::JoinHandle<()> {
    let lease = r.settings.lease;
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let (db, agent, stop, reason) = (
        db.clone(),
        agent_id.to_string(),
        stop.clone(),
        Arc::clone(reason),
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(lease / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            let a = agent.clone();
            match db
                .call(move |s| s.renew_lease(issue_id, &a, lease_ms))
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    set_reason(
                        &reason,
                        "the claim was lost (the issue was moved or its lease expired)".into(),
                    );
                    stop.cancel();
                    return;
                }
                Err(e) => tracing::warn!(issue_id, "lease renewal failed: {e}"),
            }
        }
    })
}

/// A comment by autopilot itself.
pub(super) fn system(body: String) -> (String, AuthorKind, String) {
    (SYSTEM_AUTHOR.to_string(), AuthorKind::System, body)
}

/// How a run ends that failed: blocked, with the error (and the agent's stderr) in a comment.
pub(super) fn failed(error: String, stderr_tail: Option<String>) -> RunEnd {
    let mut body = format!("The run failed: {error}");
    if let Some(tail) = stderr_tail.as_ref().filter(|t| !t.trim().is_empty()) {
        body.push_str(&format!(
            "\n\nLast lines of the agent's stderr:\n```\n{}\n```",
            tail.trim_end()
        ));
    }
    body.push_str("\n\nComment on this issue to hand it back to ready.");
    RunEnd {
        outcome: Some(RunOutcome::Failed),
        error: Some(error),
        stderr_tail,
        move_to: Some((Status::Blocked, Actor::System)),
        comments: vec![system(body)],
        ..RunEnd::default()
    }
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    r: &Runner,
    db: &Db,
    slot: usize,
    agent_id: &str,
    run_id: i64,
    issue: &Issue,
    stop: &CancellationToken,
    reason: &StopReason,
    shutdown: &CancellationToken,
) -> RunEnd {
    let s = &r.settings;
    // 1. the workspace
    let ws = match workspace::prepare(r, db, issue).await {
        Ok(ws) => ws,
        Err(end) => return end,
    };
    let (branch, worktree, wt_text) = (ws.branch.clone(), ws.worktree.clone(), ws.path_text());

    // 2. the prompt, with the whole thread
    let id = issue.id;
    let comments = match db.call(move |st| st.comments(id)).await {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot read the thread: {e}"), None),
    };
    let resume = issue.session_id.clone();
    let mut req = AgentRequest {
        prompt: prompt::build(issue, &comments, &branch, resume.is_some()),
        cwd: worktree.clone(),
        resume,
        issue_id: issue.id,
        prompt_file: None,
    };

    // 3. the agent (once more without --resume if the old session is gone)
    let mut seq = 0i64;
    let mut attempt = drive_agent(r, db, slot, run_id, &req, stop, reason, &mut seq).await;
    if let Ok(a) = &attempt {
        if req.resume.is_some()
            && a.stopped.is_none()
            && r.adapter.resume_failed(&a.stderr_tail, a.observed.saw_init)
        {
            tracing::info!(
                issue_id = issue.id,
                "session could not be resumed; starting a new one"
            );
            req.resume = None;
            req.prompt = prompt::build(issue, &comments, &branch, false);
            attempt = drive_agent(r, db, slot, run_id, &req, stop, reason, &mut seq).await;
        }
    }
    let attempt = match attempt {
        Ok(a) => a,
        Err(e) => return failed(e, None),
    };
    let stderr_tail = Some(attempt.stderr_tail.clone()).filter(|t| !t.is_empty());
    let session_id = attempt.observed.session_id.clone();
    let result = attempt.observed.result.clone();
    let with_stats = |mut end: RunEnd| {
        end.exit_code = attempt.exit_code.map(i64::from);
        end.session_id.clone_from(&session_id);
        end.cost_usd = result.as_ref().and_then(|r| r.cost_usd);
        end.turns = result.as_ref().and_then(|r| r.turns);
        end.duration_ms = result.as_ref().and_then(|r| r.duration_ms);
        if end.stderr_tail.is_none() {
            end.stderr_tail.clone_from(&stderr_tail);
        }
        end
    };

    // Shutting down is not the issue's fault: hand it back instead of parking it.
    if shutdown.is_cancelled() && attempt.stopped.is_some() {
        return with_stats(RunEnd {
            outcome: Some(RunOutcome::Interrupted),
            error: Some("autopilot-tui shut down during the run".into()),
            move_to: Some((Status::Ready, Actor::System)),
            comments: vec![system(format!(
                "Interrupted: autopilot-tui shut down while the agent was working. Handed back to ready; the partial transcript is kept and the worktree is at {wt_text}."
            ))],
            ..RunEnd::default()
        });
    }

    // 4. what happened in the worktree
    let (wt, head_before) = (worktree.clone(), ws.head_before.clone());
    let changed = workspace::git_task(move || {
        Ok(git::has_changes(&wt)? || git::head(&wt).ok() != head_before)
    })
    .await;
    let has_changes = match changed {
        Ok(c) => c,
        Err(e) => return with_stats(failed(format!("could not inspect the worktree: {e}"), None)),
    };
    let verdict = decide(
        &attempt.observed,
        attempt.exit_code,
        attempt
            .stopped
            .clone()
            .or_else(|| get_reason(reason).filter(|_| stop.is_cancelled())),
        has_changes,
        r.adapter.name() == "claude",
    );

    let end = match verdict {
        Verdict::RateLimited { message, resets_at } => {
            let hold = super::outcome::rate_limit_hold(&message, resets_at, now_millis(), s.rate_limit_backoff);
            let (until, reason_text) = (hold.until, hold.reason);
            let clamp_note = hold.clamped.map(|n| format!(" ({n})")).unwrap_or_default();
            let (why, id) = (reason_text.clone(), agent_id.to_string());
            if let Err(e) = db.call(move |st| st.pause_until(until, &why, Actor::Agent, &id)).await {
                r.emit(RunnerEvent::Problem(format!("could not pause the queue after a rate limit: {e}")));
            }
            r.emit(RunnerEvent::Problem(format!(
                "Queue paused until {} ({reason_text}); it resumes by itself.",
                crate::domain::format_millis(until)
            )));
            RunEnd {
                outcome: Some(RunOutcome::Interrupted),
                error: Some(reason_text.clone()),
                move_to: Some((Status::Ready, Actor::System)),
                comments: vec![system(format!(
                    "The agent hit a rate or usage limit ({message}). The whole queue is paused until {}{clamp_note} and resumes by itself; \
                     this issue went back to ready (not counted as a failure) and will be retried.",
                    crate::domain::format_millis(until)
                ))],
                ..RunEnd::default()
            }
        }
        Verdict::Stopped(why) => RunEnd {
            outcome: Some(RunOutcome::Stopped),
            error: Some(why.clone()),
            move_to: Some((Status::Blocked, Actor::System)),
            comments: vec![system(format!(
                "The run was {why}. The agent's process group was terminated; the partial transcript is kept and the worktree is at {wt_text}. Comment to hand it back to ready."
            ))],
            ..RunEnd::default()
        },
        Verdict::Failed(error) => failed(error, stderr_tail.clone()),
        Verdict::Blocked(question) => RunEnd {
            outcome: Some(RunOutcome::Blocked),
            move_to: Some((Status::Blocked, Actor::Agent)),
            comments: vec![(agent_id.to_string(), AuthorKind::Agent, question)],
            ..RunEnd::default()
        },
        Verdict::NoChanges(last_words) => {
            let mut body = "The agent finished without changing any file and without asking a question (no `BLOCKED:` line).".to_string();
            if !last_words.trim().is_empty() {
                body.push_str(&format!("\n\nIts last words:\n{}", last_words.trim()));
            }
            body.push_str("\n\nComment with more detail to hand it back to ready.");
            RunEnd {
                outcome: Some(RunOutcome::NoChanges),
                move_to: Some((Status::Blocked, Actor::System)),
                comments: vec![system(body)],
                ..RunEnd::default()
            }
        }
        Verdict::Implemented(summary) => workspace::commit_and_review(r, issue, agent_id, &ws, summary).await,
    };
    with_stats(end)
}

/// What one agent process did.
struct Attempt {
    observed: Observed,
    exit_code: Option<i32>,
    stopped: Option<String>,
    stderr_tail: String,
}

/// Starts the agent, stores every stdout line as it arrives, feeds the pane, and waits for the
/// process (or a stop). `Err` only when the agent could not be started at all.
///
/// The run ends when the agent process exits, not when its stdout closes: a background child
/// it left holding the pipe would otherwise turn a finished run into a stalled one. What is
/// still buffered gets [`DRAIN_GRACE`] to arrive, then whatever the agent left running (its
/// process group, and processes that escaped it with `setsid`) is killed.
#[allow(clippy::too_many_arguments)]
async fn drive_agent(
    r: &Runner,
    db: &Db,
    slot: usize,
    run_id: i64,
    req: &AgentRequest,
    stop: &CancellationToken,
    reason: &StopReason,
    seq: &mut i64,
) -> Result<Attempt, String> {
    let prompt_file = if r.adapter.wants_prompt_file() {
        let file = r
            .settings
            .worktrees
            .join(".prompts")
            .join(format!("run-{run_id}.txt"));
        let (path, text) = (file.clone(), req.prompt.clone());
        match tokio::task::spawn_blocking(move || write_private(&path, text.as_bytes())).await {
            Ok(Ok(())) => Some(file),
            Ok(Err(e)) => {
                return Err(format!(
                    "cannot write the prompt file {}: {e}",
                    file.display()
                ))
            }
            Err(e) => return Err(format!("prompt file task failed: {e}")),
        }
    } else {
        None
    };
    let req = AgentRequest {
        prompt_file: prompt_file.clone(),
        ..req.clone()
    };
    let mut cmd = r.adapter.command(&req);
    // Children inherit this, which lets a later crash recovery find the run's orphans.
    let (marker_key, marker_value) = super::process::run_marker(&r.settings.db, run_id);
    cmd.env(marker_key, marker_value)
        .env("AUTOPILOT_RUN_ID", run_id.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        let program = r.adapter.program().display().to_string();
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("agent binary not found: {program} ({e}); set AUTOPILOT_CLAUDE_BIN to the claude executable")
        } else {
            format!("cannot start the agent {program}: {e}")
        }
    })?;
    let pgid = child.id().unwrap_or(0);
    if let Err(e) = db
        .call(move |s| s.set_run_agent_pid(run_id, i64::from(pgid)))
        .await
    {
        tracing::warn!(run_id, "could not record the agent pid: {e}");
    }
    // The prompt goes in on stdin, then stdin closes. An agent that never reads it only
    // fails this write (broken pipe), never the run.
    let feeder = child.stdin.take().map(|mut stdin| {
        let prompt = req.prompt.clone();
        tokio::spawn(async move {
            if let Err(e) = stdin.write_all(prompt.as_bytes()).await {
                tracing::debug!(run_id, "the agent did not read the whole prompt: {e}");
            }
        })
    });
    let started = tokio::time::Instant::now();
    let deadline = r.settings.max_run.map(|d| started + d);
    let stall = r.settings.stall;
    let stdout = child.stdout.take();
    let stderr_task = tokio::spawn(read_stderr_tail(child.stderr.take()));

    // Reading (and parsing) and storing run as two tasks joined by a short queue, so the
    // agent's pipe keeps draining while a batch commits; the queue bounds memory.
    let (chunks_tx, chunks_rx) = tokio::sync::mpsc::channel::<Chunk>(2);
    let last_output = Arc::new(AtomicI64::new(now_millis()));
    let drain = CancellationToken::new();
    let mut reader = tokio::spawn(read_output(
        stdout,
        Ingest::new(
            Arc::clone(&r.adapter),
            Arc::clone(&r.settings.redactor),
            r.settings.transcript_cap,
        ),
        run_id,
        chunks_tx,
        Arc::clone(&last_output),
        drain.clone(),
    ));
    let writer = tokio::spawn(write_output(
        db.clone(),
        r.events.clone(),
        slot,
        run_id,
        *seq,
        chunks_rx,
    ));
    // Limits are checked on a coarse tick: no timer is re-armed per output line.
    let mut tick = tokio::time::interval(LIMIT_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut stopped, mut output_closed) = (None, false);
    let status = loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => {
                stopped = Some(get_reason(reason).unwrap_or_else(|| "stopped".to_string()));
                terminate_group(pgid, &mut child, STOP_GRACE).await;
                break child.wait().await.ok();
            }
            _ = tick.tick(), if deadline.is_some() || stall.is_some() => {
                let silent = Duration::from_millis(u64::try_from(now_millis() - last_output.load(Ordering::Relaxed)).unwrap_or(0));
                if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    let limit = r.settings.max_run.unwrap_or_default();
                    set_reason(reason, format!("stopped after running longer than its limit of {}", human_duration(limit)));
                    stop.cancel();
                } else if stall.is_some_and(|limit| silent >= limit) {
                    set_reason(reason, format!("stopped as stalled: no output for {}", human_duration(stall.unwrap_or_default())));
                    stop.cancel();
                }
            }
            exited = child.wait() => break exited.ok(),
            _ = &mut reader, if !output_closed => output_closed = true,
        }
    };
    if !output_closed {
        // What the agent wrote before exiting is still in the pipe; only a process it left
        // behind can hold the pipe open past the grace period.
        output_closed = tokio::time::timeout(DRAIN_GRACE, &mut reader).await.is_ok();
    }
    kill_leftovers(&r.settings.db, run_id, pgid).await;
    if !output_closed
        && tokio::time::timeout(DRAIN_GRACE, &mut reader)
            .await
            .is_err()
    {
        // A holder outside our reach (it dropped the marker and left the group): stop
        // reading, keeping what was read.
        drain.cancel();
        if tokio::time::timeout(DRAIN_GRACE, &mut reader)
            .await
            .is_err()
        {
            reader.abort();
        }
    }
    if let Some(feeder) = feeder {
        feeder.abort();
    }
    // The writer ends once the reader is gone and everything it read is stored.
    let (next_seq, observed) = writer.await.unwrap_or_else(|_| (*seq, Observed::default()));
    *seq = next_seq;
    if let Some(file) = prompt_file {
        let _ = std::fs::remove_file(file);
    }
    let stderr_tail = tokio::time::timeout(DRAIN_GRACE, stderr_task)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Ok(Attempt {
        observed,
        exit_code: status.and_then(|s| s.code()),
        stopped,
        stderr_tail,
    })
}

/// Kills whatever an agent left running: its process group, and every process that carries
/// the run's marker (children that started a session of their own with `setsid`).
async fn kill_leftovers(db: &std::path::Path, run_id: i64, pgid: u32) {
    signal_group(pgid, nix::sys::signal::Signal::SIGKILL);
    let db = db.to_path_buf();
    let killed =
        tokio::task::spawn_blocking(move || super::process::kill_run_orphans(&db, run_id)).await;
    if let Ok(n @ 1..) = killed {
        tracing::info!(run_id, "killed {n} process(es) the agent left running");
    }
}

/// The last [`STDERR_TAIL_LINES`] lines of the agent's stderr, sanitized, for error comments.
async fn read_stderr_tail(stderr: Option<tokio::process::ChildStderr>) -> String {
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut keep = |line: &[u8], _dropped: usize| {
        tail.push_back(super::sanitize::strip_all(&String::from_utf8_lossy(line)));
        if tail.len() > STDERR_TAIL_LINES {
            tail.pop_front();
        }
    };
    if let Some(mut err) = stderr {
        let (mut buf, mut splitter) = (vec![0u8; 64 << 10], LineSplitter::new(4096));
        while let Ok(n @ 1..) = err.read(&mut buf).await {
            splitter.feed(&buf[..n], &mut keep);
        }
        splitter.finish(&mut keep);
    }
    tail.into_iter().collect::<Vec<_>>().join("\n")
}

/// Writes `data` to a file only the user can read, creating its directory (also private).
fn write_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(data)
}

/// `90 minutes`, `3 seconds`: for comments.
fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 120 && secs % 60 == 0 {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}
