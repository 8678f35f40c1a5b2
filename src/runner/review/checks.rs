//! Completion checks: after each implementing run that committed, the built-in checks (the
//! change is not empty, no conflict markers were committed) and then each configured command,
//! in the issue's worktree. Each command is a run of its own (role `check`) whose output is
//! stored and shown like an agent's. All pass: the issue goes to review. One fails: back to
//! the agent with the command and its output tail, at most `fix_attempts` times; then the
//! issue blocks for a person.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::verdict::{self, Failure, MarkerScan, Scan};
use crate::domain::{now_millis, Actor, DiffStat, RunOutcome, RunRole, Status};
use crate::runner::drive::{human_duration, kill_leftovers};
use crate::runner::error::{self, Step};
use crate::runner::git::GitError;
use crate::runner::ingest::{Ingest, Pipeline, Writer};
use crate::runner::process::{terminate_group, LineSplitter};
use crate::runner::run::{close_run, open_run, RunContext};
use crate::runner::verdict::{shut_down, system};
use crate::runner::workspace::Workspace;
use crate::store::RunEnd;

/// Most bytes of one check's output stored (less when the transcript cap is lower): a check
/// that floods is cut with a marker, and its tail is still kept for the comment.
const OUTPUT_CAP: u64 = 8 << 20;
/// Lines of a check's output kept for the comment and the agent's prompt.
const TAIL_LINES: usize = 60;
/// How often the limits of a check are looked at.
const LIMIT_TICK: Duration = Duration::from_millis(250);
/// How long a stopped check gets to exit before its group is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How long output still in the pipe gets after the check exited.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// `[checks]` as the runner uses it.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// Shell commands run in the worktree, in order; all must exit 0.
    pub commands: Vec<String>,
    /// Longest one command may run (`None`: no limit).
    pub timeout: Option<Duration>,
    /// How many times failing checks go back to the agent before the issue blocks.
    pub fix_attempts: u32,
}

/// What the checks lead to for the claim.
#[derive(Debug)]
pub(in crate::runner) enum Next {
    /// The issue moved on (review, blocked, ready): the claim is over.
    Done,
    /// The agent runs again on the same branch with this message as the newest in its prompt.
    Fix(String),
    /// The change passed its checks and a reviewer reads it next (`[review] agent = true`);
    /// the size of the change goes with it, stored when the issue goes to review.
    Review(Option<DiffStat>),
    /// The reviewer asked for changes: the agent runs again with them as its newest message.
    Revise(String),
}

/// Checks the change an implementing run committed, then closes that run. `end` is the run's
/// end as if nothing were checked (to review); `failed_before` counts the failures that went
/// back to the agent during this claim already.
pub(in crate::runner) async fn after_commit(
    ctx: &RunContext<'_>,
    ws: &Workspace,
    mut end: RunEnd,
    failed_before: u32,
) -> Next {
    let settings = ctx.settings();
    let (issue_id, fix_attempts) = (ctx.issue.id, settings.checks.fix_attempts);
    let (wt, base) = (ws.worktree.clone(), ws.base.clone());
    let scan = match error::git(move || scan_branch(&wt, &base))
        .await
        .step("could not read the change to check it")
    {
        Ok(scan) => scan,
        Err(e) => {
            end.comments
                .push(system(verdict::not_checked(&e.to_string())));
            end.move_to = Some((Status::Blocked, Actor::System));
            close_run(ctx, end).await;
            return Next::Done;
        }
    };
    if let Some(failure) = scan.failure(&ws.base) {
        let d = verdict::after_failure(&failure, failed_before, fix_attempts, issue_id);
        end.comments.push(system(d.comment));
        end.move_to = d.move_to;
        end.failure = Some(crate::domain::FailureClass::ChecksFailed);
        close_run(ctx, end).await;
        return d.fix.map_or(Next::Done, Next::Fix);
    }
    let commands = settings.checks.commands.clone();
    // The pipeline's personas, or the reviewer, move the issue.
    let reviewing = (settings.personas).after_checks(ctx.issue.kind, settings.review.agent);
    if commands.is_empty() {
        if reviewing {
            // The reviewer moves the issue.
            let diff = end.diff.take();
            end.move_to = None;
            close_run(ctx, end).await;
            return Next::Review(diff);
        }
        close_run(ctx, end).await;
        return Next::Done;
    }
    // The implementing run ends here; the last check (or the reviewer) moves the issue, and
    // the size of the change goes with the move.
    let (to_review, diff) = (end.move_to.take(), end.diff.take());
    close_run(ctx, end).await;
    for (n, command) in commands.iter().enumerate() {
        let title = crate::domain::sanitize::strip_all(&format!("check: {command}"));
        let Some(run_id) = open_run(ctx, RunRole::Check, &title).await else {
            return Next::Done;
        };
        let check = RunContext {
            run_id,
            ..ctx.clone()
        };
        let limit = settings
            .checks
            .timeout
            .map(|d| (d, "[checks] timeout_minutes"));
        let ran = run_command(&check, &ws.worktree, command, limit).await;
        let mut end = RunEnd {
            exit_code: ran.exit_code.map(i64::from),
            ..RunEnd::default()
        };
        let wt_text = ws.path_text();
        let next = if let Some(why) = ran.stopped {
            end.outcome = Some(RunOutcome::Stopped);
            end.error = Some(why.clone());
            end.failure = Some(check.reason.class());
            if ctx.shutdown.is_cancelled() {
                let back = shut_down(&wt_text);
                end.outcome = back.outcome;
                end.move_to = back.move_to;
                end.comments = back.comments;
                end.failure = None;
            } else {
                end.move_to = Some((Status::Blocked, Actor::System));
                end.comments
                    .push(system(verdict::stopped(command, &why, &wt_text)));
            }
            Next::Done
        } else if let Some(why) = ran.failed {
            end.outcome = Some(RunOutcome::Failed);
            end.error = Some(format!("`{command}` {why}"));
            end.failure = Some(crate::domain::FailureClass::ChecksFailed);
            let failure = Failure {
                command: command.clone(),
                why,
                tail: ran.tail,
                run_id: Some(run_id),
            };
            let d = verdict::after_failure(&failure, failed_before, fix_attempts, issue_id);
            end.comments.push(system(d.comment));
            end.move_to = d.move_to;
            d.fix.map_or(Next::Done, Next::Fix)
        } else {
            end.outcome = Some(RunOutcome::Passed);
            if n + 1 < commands.len() {
                close_run(&check, end).await;
                continue;
            }
            end.comments.push(system(verdict::passed(&commands)));
            if reviewing {
                Next::Review(diff)
            } else {
                end.move_to = to_review;
                end.diff = diff;
                Next::Done
            }
        };
        close_run(&check, end).await;
        return next;
    }
    Next::Done
}

/// Reads the branch's change against its base (`git diff base...HEAD`) as a stream, keeping
/// only the start of each line: a diff of any size is scanned in bounded memory.
fn scan_branch(worktree: &Path, base: &str) -> Result<Scan, GitError> {
    use std::io::Read;
    let range = format!("{base}...HEAD");
    let args = [
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "-U0",
        range.as_str(),
    ];
    let command = format!("git {}", args.join(" "));
    let fail = |stderr: String| GitError {
        command: command.clone(),
        stderr,
    };
    let mut child = std::process::Command::new("git")
        .args(args)
        .current_dir(worktree)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run git in {}: {e}", worktree.display())))?;
    let mut scan = MarkerScan::default();
    let (mut splitter, mut buf) = (LineSplitter::new(4096), vec![0u8; 64 << 10]);
    if let Some(mut out) = child.stdout.take() {
        loop {
            match out.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => splitter.feed(&buf[..n], |line, _| scan.feed(line)),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fail(format!("reading the diff failed: {e}"))),
            }
        }
        splitter.finish(|line, _| scan.feed(line));
    }
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let status = child
        .wait()
        .map_err(|e| fail(format!("waiting for git failed: {e}")))?;
    if !status.success() {
        return Err(fail(stderr.trim().to_string()));
    }
    Ok(scan.finish())
}

/// How one check (or setup) command ended.
#[derive(Debug, Default)]
pub(in crate::runner) struct Ran {
    /// Its exit status.
    pub exit_code: Option<i32>,
    /// Why it failed (`None`: it exited 0).
    pub failed: Option<String>,
    /// Why it was stopped by a person or the shutdown (not the check's fault).
    pub stopped: Option<String>,
    /// The last lines of its output, redacted.
    pub tail: String,
}

/// Runs one check command through `sh` in the worktree, in a process group of its own, with
/// the agent's environment; stdout and stderr are stored together as the run's transcript and
/// streamed to the slot's pane. Its wall-clock limit and the stall limit fail it; a stop
/// (a person, the shutdown) ends it without blaming it. `limit` is the wall-clock limit and
/// the setting that sets it, named when it fails the command.
pub(in crate::runner) async fn run_command(
    ctx: &RunContext<'_>,
    worktree: &Path,
    command: &str,
    limit: Option<(Duration, &str)>,
) -> Ran {
    let (r, s, run_id) = (ctx.runner, ctx.settings(), ctx.run_id);
    let (marker_key, marker_value) = crate::runner::process::run_marker(&s.db, run_id);
    let shell = which::which("sh").unwrap_or_else(|_| PathBuf::from("/bin/sh"));
    let mut cmd = tokio::process::Command::new(&shell);
    // One stream, as a terminal would show it: errors in their place among the output.
    cmd.arg("-c")
        .arg(format!("exec 2>&1\n{command}"))
        .current_dir(worktree)
        .env(marker_key, marker_value)
        .env("AUTOPILOT_RUN_ID", run_id.to_string())
        .env("AUTOPILOT_ISSUE_ID", ctx.issue.id.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Ran {
                failed: Some(format!(
                    "could not start: {} in {}: {e}",
                    shell.display(),
                    worktree.display()
                )),
                ..Ran::default()
            }
        }
    };
    let pgid = child.id().unwrap_or(0);
    if let Err(e) = ctx
        .db
        .call(move |st| st.set_run_agent_pid(run_id, i64::from(pgid)))
        .await
    {
        tracing::warn!(run_id, "could not record the check's pid: {e}");
    }
    let renderer = crate::runner::agent::plain_text();
    let cap = s.transcript_cap.min(OUTPUT_CAP);
    let ingest =
        Ingest::new(Arc::clone(&renderer), Arc::clone(&s.redactor), cap).with_tail(TAIL_LINES);
    let writer = Writer {
        db: ctx.db.clone(),
        sink: r.transcripts.clone(),
        events: r.events.clone(),
        slot: ctx.slot,
        run_id,
        adapter: renderer,
        live: crate::runner::estimate::Live::new(
            Arc::clone(&s.prices),
            None,
            tokio_util::sync::CancellationToken::new(),
            Default::default(),
        ),
    };
    let Pipeline {
        mut reader,
        writer,
        last_output,
        drain,
    } = Pipeline::start(child.stdout.take(), ingest, writer, 0);
    let deadline = limit.map(|(d, _)| tokio::time::Instant::now() + d);
    let mut tick = tokio::time::interval(LIMIT_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ran = Ran::default();
    let status = loop {
        tokio::select! {
            biased;
            () = ctx.stop.cancelled() => {
                ran.stopped = Some(ctx.reason.get().unwrap_or_else(|| "stopped".into()));
                terminate_group(pgid, &mut child, STOP_GRACE).await;
                break child.wait().await.ok();
            }
            _ = tick.tick(), if deadline.is_some() || s.stall.is_some() => {
                let silent = u64::try_from(now_millis() - last_output.load(Ordering::Relaxed)).unwrap_or(0);
                if let (Some(d), Some((limit, setting))) = (deadline, limit) {
                    if tokio::time::Instant::now() >= d {
                        ran.failed = Some(format!("timed out after {} ({setting})", human_duration(limit)));
                    }
                }
                if let Some(limit) = s.stall.filter(|l| Duration::from_millis(silent) >= *l) {
                    ran.failed.get_or_insert_with(|| format!("stalled: no output for {}", human_duration(limit)));
                }
                if ran.failed.is_some() {
                    terminate_group(pgid, &mut child, STOP_GRACE).await;
                    break child.wait().await.ok();
                }
            }
            exited = child.wait() => break exited.ok(),
        }
    };
    // What the check printed last is still in the pipe; only a process it left behind can
    // hold the pipe open past the grace period.
    let mut tail = tokio::time::timeout(DRAIN_GRACE, &mut reader).await.ok();
    kill_leftovers(&s.db, run_id, pgid).await;
    if tail.is_none() {
        tail = tokio::time::timeout(DRAIN_GRACE, &mut reader).await.ok();
    }
    if tail.is_none() {
        // A holder of the pipe outside our reach: keep what was read.
        drain.cancel();
        tail = tokio::time::timeout(DRAIN_GRACE, &mut reader).await.ok();
        if tail.is_none() {
            reader.abort();
        }
    }
    let tail = tail.and_then(Result::ok).unwrap_or_default().join("\n");
    let _ = writer.await;
    ran.exit_code = status.and_then(|st| st.code());
    if ran.stopped.is_none() && ran.failed.is_none() && ran.exit_code != Some(0) {
        ran.failed = Some(verdict::exit_text(ran.exit_code));
    }
    ran.tail = tail;
    ran
}
