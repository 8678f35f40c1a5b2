//! One run: worktree, agent process, transcript ingestion, verdict, commit, and the final
//! store transaction.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::agent::{AgentEvent, AgentRequest};
use super::events::{display_lines, PaneLine, RunnerEvent};
use super::outcome::{decide, Observed, Verdict};
use super::process::{signal_group, terminate_group, LineSplitter, MAX_LINE_BYTES};
use super::{git, prompt, Db, Runner};
use crate::domain::redact::{LineState, Redactor};
use crate::domain::{now_millis, slugify, Actor, AuthorKind, Issue, RunOutcome, Status};
use crate::store::{RunEnd, TranscriptBatch};

/// Most bytes of output a batch grows to while the writer is busy (also the size of a
/// transcript row under a flood).
const FLUSH_BYTES: usize = 512 << 10;
/// Bytes asked for per read of the agent's stdout.
const READ_BYTES: usize = 256 << 10;
/// Lines of stderr kept for error comments.
const STDERR_TAIL_LINES: usize = 40;
/// How often run limits (wall clock, stall) are checked.
const LIMIT_TICK: Duration = Duration::from_millis(250);
/// How long a stopped agent gets to exit before the group is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

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
        .call(move |s| s.start_run(issue_id, &owner, slot as i64))
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

fn system(body: String) -> (String, AuthorKind, String) {
    (SYSTEM_AUTHOR.to_string(), AuthorKind::System, body)
}

fn failed(error: String, stderr_tail: Option<String>) -> RunEnd {
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
    let branch = issue
        .branch
        .clone()
        .unwrap_or_else(|| format!("autopilot/issue-{}-{}", issue.id, slugify(&issue.title)));
    let worktree = s.worktrees.join(format!("issue-{}", issue.id));
    let base = match issue.base.clone().or_else(|| s.base_branch.clone()) {
        Some(b) => b,
        None => {
            let repo = s.repo_root.clone();
            match tokio::task::spawn_blocking(move || git::current_branch(&repo)).await {
                Ok(Ok(b)) => b,
                Ok(Err(e)) => return failed(e.to_string(), None),
                Err(e) => return failed(format!("git task failed: {e}"), None),
            }
        }
    };
    {
        // ensure_worktree serialises itself (a lock file), across processes as within one.
        let (repo, wt, br, bs) = (
            s.repo_root.clone(),
            worktree.clone(),
            branch.clone(),
            base.clone(),
        );
        match tokio::task::spawn_blocking(move || git::ensure_worktree(&repo, &wt, &br, &bs)).await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return failed(format!("could not prepare the worktree: {e}"), None),
            Err(e) => return failed(format!("git task failed: {e}"), None),
        }
    }
    let wt_text = worktree.to_string_lossy().to_string();
    if issue.branch.as_deref() != Some(&branch)
        || issue.worktree.as_deref() != Some(&wt_text)
        || issue.base.as_deref() != Some(&base)
    {
        let (id, br, wt, bs) = (issue.id, branch.clone(), wt_text.clone(), base.clone());
        if let Err(e) = db.call(move |st| st.set_workspace(id, &br, &wt, &bs)).await {
            return failed(format!("cannot record the workspace: {e}"), None);
        }
    }
    // A rerun brings the base's new commits in first, so the agent works on current code; a
    // conflict is a human's call, not the agent's.
    if issue.branch.is_some() {
        let (wt, bs, name, email) = (
            worktree.clone(),
            base.clone(),
            s.commit_name.clone(),
            s.commit_email.clone(),
        );
        let merged =
            tokio::task::spawn_blocking(move || git::merge_base(&wt, &bs, &name, &email)).await;
        match merged {
            Ok(Ok(git::BaseMerge::Conflict(files))) => {
                return RunEnd {
                    outcome: Some(RunOutcome::Failed),
                    error: Some(format!("merging {base} into {branch} conflicts")),
                    move_to: Some((Status::Blocked, Actor::System)),
                    comments: vec![system(format!(
                        "Before rerunning, merging the new commits of {base} into {branch} conflicts in:\n{}\n\n\
                         The merge was aborted: the branch and the worktree ({wt_text}) are exactly as they were. \
                         Resolve it there (git merge {base}) or move the issue back, then comment to hand it back to ready.",
                        files.iter().map(|f| format!("- {f}")).collect::<Vec<_>>().join("\n")
                    ))],
                    ..RunEnd::default()
                };
            }
            Ok(Ok(outcome)) => {
                tracing::debug!(issue_id = issue.id, ?outcome, "base merged before rerun")
            }
            Ok(Err(e)) => {
                return failed(
                    format!("could not merge {base} before rerunning: {e}"),
                    None,
                )
            }
            Err(e) => return failed(format!("git task failed: {e}"), None),
        }
    }
    let wt = worktree.clone();
    let head_before = tokio::task::spawn_blocking(move || git::head(&wt))
        .await
        .ok()
        .and_then(Result::ok);

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
    let wt = worktree.clone();
    let changed = tokio::task::spawn_blocking(move || -> Result<bool, git::GitError> {
        Ok(git::has_changes(&wt)? || git::head(&wt).ok() != head_before)
    })
    .await;
    let has_changes = match changed {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            return with_stats(failed(format!("could not inspect the worktree: {e}"), None))
        }
        Err(e) => return with_stats(failed(format!("git task failed: {e}"), None)),
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
            let until = resets_at
                .filter(|t| *t > now_millis())
                .unwrap_or_else(|| now_millis() + i64::try_from(s.rate_limit_backoff.as_millis()).unwrap_or(300_000));
            let reason_text = format!("rate limited: {}", crate::runner::sanitize::strip_all(&message));
            let (why, label) = (reason_text.clone(), format!("agent:{agent_id}"));
            if let Err(e) = db.call(move |st| st.pause_until(until, &why, &label)).await {
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
                    "The agent hit a rate or usage limit ({message}). The whole queue is paused until {} and resumes by itself; \
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
        Verdict::Implemented(summary) => commit_and_review(r, issue, agent_id, &worktree, &branch, &base, summary).await,
    };
    with_stats(end)
}

async fn commit_and_review(
    r: &Runner,
    issue: &Issue,
    agent_id: &str,
    worktree: &std::path::Path,
    branch: &str,
    base: &str,
    summary: String,
) -> RunEnd {
    let s = &r.settings;
    // The summary comes from redacted output already; the title may predate redaction.
    // Escape sequences are stripped by `git` on the way out.
    let message = s
        .redactor
        .text(&format!(
            "#{} {}\n\n{}\n\nAutopilot-Issue: {}",
            issue.id,
            issue.title,
            summary.trim(),
            issue.id
        ))
        .into_owned();
    let (wt, name, email) = (
        worktree.to_path_buf(),
        s.commit_name.clone(),
        s.commit_email.clone(),
    );
    let committed = tokio::task::spawn_blocking(move || -> Result<String, git::GitError> {
        if git::has_changes(&wt)? {
            git::commit_all(&wt, &message, &name, &email)
        } else {
            git::head(&wt)
        }
    })
    .await;
    let sha = match committed {
        Ok(Ok(sha)) => sha,
        Ok(Err(e)) => {
            return failed(
                format!(
                    "could not commit the agent's changes (they are still in the worktree): {e}"
                ),
                None,
            )
        }
        Err(e) => return failed(format!("git task failed: {e}"), None),
    };
    let short = &sha[..sha.len().min(10)];
    let text = if summary.trim().is_empty() {
        "(the agent gave no summary)".to_string()
    } else {
        summary.trim().to_string()
    };
    let mut comments = vec![(agent_id.to_string(), AuthorKind::Agent, text)];
    let mut note = format!("Committed {short} on branch {branch} (base {base}).");
    if s.push {
        let (wt, br, bs, title, body) = (
            worktree.to_path_buf(),
            branch.to_string(),
            base.to_string(),
            s.redactor
                .text(&format!("#{} {}", issue.id, issue.title))
                .into_owned(),
            s.redactor.text(&comments[0].2).into_owned(),
        );
        match tokio::task::spawn_blocking(move || {
            git::push_and_open_pr(&wt, &br, &bs, &title, &body)
        })
        .await
        {
            Ok(Ok(url)) => note.push_str(&format!("\n\nPull request: {url}")),
            Ok(Err(e)) => note.push_str(&format!("\n\nPush / pull request failed: {e}")),
            Err(e) => note.push_str(&format!("\n\nPush task failed: {e}")),
        }
    }
    comments.push(system(note));
    RunEnd {
        outcome: Some(RunOutcome::Implemented),
        move_to: Some((Status::InReview, Actor::Agent)),
        comments,
        ..RunEnd::default()
    }
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
    let mut cmd = r.adapter.command(req);
    // Children inherit this, which lets a later crash recovery find the run's orphans.
    let (marker_key, marker_value) = super::process::run_marker(&r.settings.db, run_id);
    cmd.env(marker_key, marker_value)
        .env("AUTOPILOT_RUN_ID", run_id.to_string())
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
    let started = tokio::time::Instant::now();
    let deadline = r.settings.max_run.map(|d| started + d);
    let stall = r.settings.stall;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let stderr_task = tokio::spawn(async move {
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
    });

    // Reading (and parsing) and storing run as two tasks joined by a short queue, so the
    // agent's pipe keeps draining while a batch commits; the queue bounds memory.
    let (chunks_tx, chunks_rx) = tokio::sync::mpsc::channel::<Chunk>(2);
    let last_output = Arc::new(AtomicI64::new(now_millis()));
    let mut reader = tokio::spawn(read_output(
        stdout,
        Arc::clone(&r.adapter),
        Arc::clone(&r.settings.redactor),
        run_id,
        r.settings.transcript_cap,
        chunks_tx,
        Arc::clone(&last_output),
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
    let mut stopped = None;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => {
                stopped = Some(get_reason(reason).unwrap_or_else(|| "stopped".to_string()));
                terminate_group(pgid, &mut child, STOP_GRACE).await;
                // The pipe closes with the group; a descendant that escaped the group could
                // hold it open, so the wait for the rest of the output is bounded.
                if tokio::time::timeout(STOP_GRACE, &mut reader).await.is_err() {
                    reader.abort();
                }
                break;
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
            _ = &mut reader => break,
        }
    }
    // The writer ends once the reader is gone and everything it read is stored.
    let (next_seq, observed) = writer.await.unwrap_or_else(|_| (*seq, Observed::default()));
    *seq = next_seq;
    let status = if stopped.is_some() {
        child.wait().await.ok()
    } else {
        tokio::select! {
            s = child.wait() => s.ok(),
            () = stop.cancelled() => {
                stopped = Some(get_reason(reason).unwrap_or_else(|| "stopped".to_string()));
                terminate_group(pgid, &mut child, STOP_GRACE).await;
                child.wait().await.ok()
            }
        }
    };
    // Whatever the agent left running in its group goes with it.
    signal_group(pgid, nix::sys::signal::Signal::SIGKILL);
    let stderr_tail = tokio::time::timeout(Duration::from_secs(5), stderr_task)
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

/// `90 minutes`, `3 seconds`: for comments.
fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 120 && secs % 60 == 0 {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}

/// A batch of output on its way from the reader to the store.
#[derive(Default)]
struct Chunk {
    transcript: TranscriptBatch,
    items: Vec<Item>,
}

/// What a batch carries besides its raw lines, in order.
enum Item {
    /// A parsed event, rendered and observed once the batch is stored.
    Event(AgentEvent),
    /// A note of the runner's own for the pane.
    Note(String),
}

impl Chunk {
    fn is_empty(&self) -> bool {
        self.transcript.is_empty() && self.items.is_empty()
    }

    /// Takes in the batch that was read after this one.
    fn absorb(&mut self, later: Chunk) {
        self.transcript.append(later.transcript);
        self.items.extend(later.items);
    }
}

/// What the reader keeps while it splits output into lines and batches.
struct Ingest {
    adapter: Arc<dyn super::agent::Adapter>,
    redactor: Arc<Redactor>,
    secrets: LineState,
    cap: u64,
    stored: u64,
    capped: bool,
    chunk: Chunk,
}

impl Ingest {
    /// One complete line (without its newline); `dropped` bytes of it were over the line cap.
    fn line(&mut self, bytes: &[u8], dropped: usize) {
        // Secrets go before anything sees the line: the parser, the pane, the transcript.
        let redacted = self.redactor.line(bytes, &mut self.secrets);
        let bytes = &*redacted;
        let marked: std::borrow::Cow<'_, [u8]> = if dropped > 0 {
            let mut line = bytes.to_vec();
            line.extend_from_slice(
                format!("…[autopilot: {dropped} bytes of this line dropped; lines are capped at {} MiB]", MAX_LINE_BYTES >> 20)
                    .as_bytes(),
            );
            line.into()
        } else {
            bytes.into()
        };
        let bytes = &*marked;
        let ts = now_millis();
        let mut is_result = false;
        for ev in self.adapter.parse_line(bytes) {
            is_result |= matches!(ev, AgentEvent::Result(_));
            self.chunk.items.push(Item::Event(ev));
        }
        // Past the per-run cap only the closing result line is still stored.
        if self.stored + bytes.len() as u64 <= self.cap || is_result {
            self.stored += bytes.len() as u64;
            self.chunk.transcript.push(ts, bytes);
        } else if !self.capped {
            self.capped = true;
            let marker = format!(
                "[autopilot: transcript cap of {} MiB reached; later output is not stored, except the final result line]",
                self.cap >> 20
            );
            self.chunk.transcript.push(ts, marker.as_bytes());
            self.chunk.items.push(Item::Note(marker));
        }
    }
}

/// Reads the agent's stdout in large blocks, splits it into lines (each capped at
/// [`MAX_LINE_BYTES`]), parses each line, and hands batches to the writer. A batch goes as
/// soon as the writer has room; while it is busy the batch grows (up to [`FLUSH_BYTES`]), so
/// a flood is stored in few large transactions and a trickle shows line by line.
/// `last_output` is refreshed at every read for the stall detector.
async fn read_output(
    stdout: Option<tokio::process::ChildStdout>,
    adapter: Arc<dyn super::agent::Adapter>,
    redactor: Arc<Redactor>,
    run_id: i64,
    cap: u64,
    chunks: tokio::sync::mpsc::Sender<Chunk>,
    last_output: Arc<AtomicI64>,
) {
    let Some(mut out) = stdout else { return };
    let mut ingest = Ingest {
        adapter,
        redactor,
        secrets: LineState::default(),
        cap,
        stored: 0,
        capped: false,
        chunk: Chunk::default(),
    };
    let (mut buf, mut splitter) = (vec![0u8; READ_BYTES], LineSplitter::new(MAX_LINE_BYTES));
    loop {
        tokio::select! {
            biased;
            permit = chunks.reserve(), if !ingest.chunk.is_empty() => match permit {
                Ok(permit) => permit.send(std::mem::take(&mut ingest.chunk)),
                Err(_) => return,
            },
            read = out.read(&mut buf), if ingest.chunk.transcript.bytes() < FLUSH_BYTES => {
                let n = match read {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(run_id, "reading agent output failed: {e}");
                        break;
                    }
                };
                last_output.store(now_millis(), Ordering::Relaxed);
                splitter.feed(&buf[..n], |line, dropped| ingest.line(line, dropped));
            }
        }
    }
    splitter.finish(|line, dropped| ingest.line(line, dropped));
    if !ingest.chunk.is_empty() {
        let _ = chunks.send(ingest.chunk).await;
    }
}

/// Stores each batch (merging what is already queued into one transaction), then renders it
/// for the pane and folds its events into what the run observed: what a pane shows is always
/// already saved. Runs beside the reader, so parsing and storing overlap. Returns the next
/// transcript sequence number and what was observed.
async fn write_output(
    db: Db,
    events: tokio::sync::mpsc::UnboundedSender<RunnerEvent>,
    slot: usize,
    run_id: i64,
    mut seq: i64,
    mut chunks: tokio::sync::mpsc::Receiver<Chunk>,
) -> (i64, Observed) {
    let mut observed = Observed::default();
    while let Some(mut chunk) = chunks.recv().await {
        while chunk.transcript.bytes() < FLUSH_BYTES {
            match chunks.try_recv() {
                Ok(more) => chunk.absorb(more),
                Err(_) => break,
            }
        }
        let batch = std::mem::take(&mut chunk.transcript);
        let session = chunk.items.iter().rev().find_map(|item| match item {
            Item::Event(AgentEvent::Init { session_id, .. }) => Some(session_id.clone()),
            _ => None,
        });
        let (first, count) = (seq, batch.lines());
        let stored = db
            .call(move |s| {
                s.append_transcript(run_id, first, std::slice::from_ref(&batch))?;
                if let Some(sid) = session {
                    s.set_run_session(run_id, &sid)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = stored {
            let _ = events.send(RunnerEvent::Problem(format!(
                "could not store agent output of run {run_id}: {e}"
            )));
        }
        seq += count;
        let (turns_before, mut cost) = (observed.turns, None);
        let mut lines = Vec::with_capacity(chunk.items.len());
        for item in chunk.items {
            match item {
                Item::Event(ev) => {
                    lines.extend(display_lines(&ev));
                    if let AgentEvent::Result(res) = &ev {
                        cost = Some((res.turns, res.cost_usd));
                    }
                    observed.observe(ev);
                }
                Item::Note(text) => lines.push(PaneLine {
                    kind: super::events::LineKind::Meta,
                    text,
                }),
            }
        }
        if observed.turns != turns_before {
            let _ = events.send(RunnerEvent::Progress {
                run_id,
                turns: Some(observed.turns),
                cost_usd: None,
            });
        }
        if let Some((turns, cost_usd)) = cost {
            let _ = events.send(RunnerEvent::Progress {
                run_id,
                turns,
                cost_usd,
            });
        }
        if !lines.is_empty() {
            let _ = events.send(RunnerEvent::Output {
                slot,
                run_id,
                lines,
            });
        }
    }
    (seq, observed)
}
