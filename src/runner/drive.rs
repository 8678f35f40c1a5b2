//! One agent process: started with the prompt on stdin, its output stored and shown as it
//! arrives ([`super::ingest`]), watched for limits and stops, and cleaned up after.

use crate::store::sql::StoreUrl;
use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::agent::AgentRequest;
use super::error::{blocking, RunnerError};
use super::ingest::{Ingest, Pipeline, Writer};
use super::outcome::Observed;
use super::process::{signal_group, terminate_group, LineSplitter};
use super::run::RunContext;
use crate::domain::{now_millis, FailureClass, RunUsage};
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

/// What one agent process did.
pub(super) struct Attempt {
    /// What it reported.
    pub observed: Observed,
    /// Its exit status (`None`: killed by a signal).
    pub exit_code: Option<i32>,
    /// Why it was stopped, if it was.
    pub stopped: Option<String>,
    /// The last lines of its stderr.
    pub stderr_tail: String,
}

impl Attempt {
    /// The stderr tail, when there is one.
    pub fn stderr_tail(&self) -> Option<String> {
        Some(self.stderr_tail.clone()).filter(|t| !t.is_empty())
    }

    /// `end` with what the attempt measured: exit status, session, cost, turns, duration,
    /// and the stderr tail unless `end` has its own.
    pub fn with_stats(&self, mut end: RunEnd) -> RunEnd {
        let result = self.observed.result.as_ref();
        end.exit_code = self.exit_code.map(i64::from);
        end.session_id.clone_from(&self.observed.session_id);
        end.cost_usd = result.and_then(|r| r.cost_usd);
        end.turns = result.and_then(|r| r.turns);
        end.duration_ms = result.and_then(|r| r.duration_ms);
        let (tokens, model) = (self.observed.tokens(), self.observed.model());
        if tokens.is_some() || model.is_some() {
            end.usage = Some(Box::new(RunUsage {
                tokens,
                model,
                by_model: self.observed.by_model(),
            }));
        }
        if end.stderr_tail.is_none() {
            end.stderr_tail = self.stderr_tail();
        }
        end
    }
}

/// Starts the agent, stores every stdout line as it arrives, feeds the pane, and waits for the
/// process (or a stop). `Err` only when the agent could not be started at all.
///
/// The run ends when the agent process exits, not when its stdout closes: a background child
/// it left holding the pipe would otherwise turn a finished run into a stalled one. What is
/// still buffered gets [`DRAIN_GRACE`] to arrive, then whatever the agent left running (its
/// process group, and processes that escaped it with `setsid`) is killed.
pub(super) async fn drive_agent(
    ctx: &RunContext<'_>,
    req: &AgentRequest,
    seq: &mut i64,
) -> Result<Attempt, RunnerError> {
    let (r, s, run_id) = (ctx.runner, ctx.settings(), ctx.run_id);
    let adapter = ctx.adapter();
    let prompt_file = if adapter.wants_prompt_file() {
        let file = s
            .worktrees
            .join(".prompts")
            .join(format!("run-{run_id}.txt"));
        let (path, text) = (file.clone(), req.prompt.clone());
        blocking("prompt file", move || write_private(&path, text.as_bytes()))
            .await?
            .map_err(|error| RunnerError::PromptFile {
                path: file.clone(),
                error,
            })?;
        Some(file)
    } else {
        None
    };
    let req = AgentRequest {
        prompt_file: prompt_file.clone(),
        ..req.clone()
    };
    let mut cmd = adapter.command(&req);
    let secrets = r.answers.of(ctx.issue.id);
    if let Some(secrets) = &secrets {
        cmd.envs(secrets.0.iter().map(|(k, v)| (k, v)));
    }
    let redactor = super::answers::redactor(&s.redactor, secrets.as_deref());
    // Children inherit this, which lets a later crash recovery find the run's orphans.
    let (marker_key, marker_value) = super::process::run_marker(&s.db, run_id);
    cmd.env(marker_key, marker_value)
        .env("AUTOPILOT_RUN_ID", run_id.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|error| {
        let program = adapter.program().display().to_string();
        if error.kind() == std::io::ErrorKind::NotFound {
            RunnerError::AgentNotFound { program, error }
        } else {
            RunnerError::AgentStart { program, error }
        }
    })?;
    let pgid = child.id().unwrap_or(0);
    if let Err(e) = ctx
        .db
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
    let deadline = s.max_run.map(|d| started + d);
    let stall = s.stall;
    let stdout = child.stdout.take();
    let stderr_task = tokio::spawn(read_stderr_tail(child.stderr.take()));

    let writer = Writer {
        db: ctx.db.clone(),
        sink: r.transcripts.clone(),
        events: r.events.clone(),
        slot: ctx.slot,
        run_id,
        adapter: Arc::clone(&adapter),
        live: super::estimate::Live::new(
            Arc::clone(&s.prices),
            s.per_run_usd,
            ctx.stop.clone(),
            ctx.reason.clone(),
        ),
    };
    let ingest = Ingest::new(
        Arc::clone(&adapter),
        Arc::clone(&redactor),
        s.transcript_cap,
    );
    let Pipeline {
        mut reader,
        writer,
        last_output,
        drain,
    } = Pipeline::start(stdout, ingest, writer, *seq);
    // Limits are checked on a coarse tick: no timer is re-armed per output line.
    let mut tick = tokio::time::interval(LIMIT_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (stop, reason) = (&ctx.stop, &ctx.reason);
    let (mut stopped, mut output_closed) = (None, false);
    let status = loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => {
                stopped = Some(reason.get().unwrap_or_else(|| "stopped".to_string()));
                terminate_group(pgid, &mut child, STOP_GRACE).await;
                break child.wait().await.ok();
            }
            _ = tick.tick(), if deadline.is_some() || stall.is_some() => {
                let silent = Duration::from_millis(u64::try_from(now_millis() - last_output.load(Ordering::Relaxed)).unwrap_or(0));
                if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    let limit = s.max_run.unwrap_or_default();
                    reason.set_as(FailureClass::Timeout, format!("stopped after running longer than its limit of {}", human_duration(limit)));
                    stop.cancel();
                } else if stall.is_some_and(|limit| silent >= limit) {
                    reason.set_as(FailureClass::Stalled, format!("stopped as stalled: no output for {}", human_duration(stall.unwrap_or_default())));
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
    kill_leftovers(&s.db, run_id, pgid).await;
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
        .map(|t| redactor.text(&t).into_owned())
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
pub(super) async fn kill_leftovers(db: &StoreUrl, run_id: i64, pgid: u32) {
    signal_group(pgid, nix::sys::signal::Signal::SIGKILL);
    let db = db.clone();
    let killed = blocking("orphan scan", move || {
        super::process::kill_run_orphans(&db, run_id)
    })
    .await;
    if let Ok(n @ 1..) = killed {
        tracing::info!(run_id, "killed {n} process(es) the agent left running");
    }
}

/// The last [`STDERR_TAIL_LINES`] lines of the agent's stderr, sanitized, for error comments.
async fn read_stderr_tail(stderr: Option<tokio::process::ChildStderr>) -> String {
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut keep = |line: &[u8], _dropped: usize| {
        tail.push_back(crate::domain::sanitize::strip_all(
            &String::from_utf8_lossy(line),
        ));
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
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
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
pub(super) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 120 && secs % 60 == 0 {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}
