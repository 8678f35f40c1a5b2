//! `run`: runner slots without the TUI, reporting on stderr until the queue is done (`--once`)
//! or the process is told to stop.

use std::io::Write;

use anyhow::Context;

use super::Ctx;
use crate::config::Paths;
use crate::domain::sanitize::{one_line, strip_all};
use crate::runner::lock::{LockError, RunnerLock};
use crate::runner::{Runner, RunnerEvent};

/// Logs to `.autopilot/logs/autopilot.log` (never the terminal); level from `AUTOPILOT_LOG`.
pub fn init_logging(paths: &Paths) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(&paths.logs).ok()?;
    let appender = tracing_appender::rolling::never(&paths.logs, "autopilot.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUTOPILOT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}

/// The database's runner lock: refused, naming its holder, while another runner holds it,
/// unless a second runner is allowed (then it only says so).
fn runner_lock(db: &std::path::Path, allow_second: bool) -> anyhow::Result<Option<RunnerLock>> {
    match RunnerLock::acquire(db) {
        Ok(lock) => Ok(Some(lock)),
        Err(e @ LockError::Held { .. }) if allow_second => {
            let _ = writeln!(
                std::io::stderr(),
                "warning: {e}; running a second runner as asked"
            );
            Ok(None)
        }
        Err(e @ LockError::Held { .. }) => anyhow::bail!(
            "{e}. Claims are safe with two runners, but this is usually a mistake: stop the \
             other one, `autopilot-tui attach` to watch its agents, or pass \
             --allow-second-runner to run both"
        ),
        Err(e) => Err(e.into()),
    }
}

/// Runs agents headless until done or interrupted.
pub fn run_headless(
    ctx: &Ctx,
    agents: Option<usize>,
    once: bool,
    verbose: bool,
    listen: Option<&str>,
    allow_second: bool,
) -> anyhow::Result<()> {
    let _log = init_logging(&ctx.config.paths);
    let api = super::api_server(&ctx.config, listen)?;
    let settings = ctx.config.runner_settings(agents);
    let adapter = ctx.config.adapter()?;
    let others = ctx.config.agents()?;
    // The database must be usable before anything is claimed.
    drop(ctx.store()?);
    let _lock = runner_lock(&ctx.config.runner_lock_of(), allow_second)?;
    let rt = crate::sys::runtime()?;
    let result = rt.block_on(async move {
        let (ev_tx, mut ev_rx) = tokio::sync::mpsc::unbounded_channel();
        let (_cmd_tx, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
        let cancel = tokio_util::sync::CancellationToken::new();
        let runner = Runner::new(settings, adapter, ev_tx).with_agents(others);
        if let Some(api) = api {
            tokio::spawn(api.run(cancel.clone().cancelled_owned()));
        }
        let task = tokio::spawn(runner.run(once, cmd_rx, cancel.clone()));
        let printer = tokio::spawn(async move {
            let mut err = std::io::stderr();
            while let Some(ev) = ev_rx.recv().await {
                let line = match ev {
                    RunnerEvent::RunStarted { slot, issue_id, title, agent_id, run_id } => {
                        Some(format!("[slot {}] #{issue_id} {} — started run {run_id} as {}", slot + 1, one_line(&title), one_line(&agent_id)))
                    }
                    RunnerEvent::RunFinished { slot, issue_id, outcome, status, summary, .. } => Some(format!(
                        "[slot {}] #{issue_id} {outcome} → {status}{}",
                        slot + 1,
                        if summary.is_empty() { String::new() } else { format!(": {}", strip_all(&summary)) }
                    )),
                    RunnerEvent::Output { slot, lines, .. } if verbose => {
                        for l in lines {
                            let _ = writeln!(err, "[slot {}]   {}", slot + 1, strip_all(&l.text));
                        }
                        None
                    }
                    RunnerEvent::Problem(p) => Some(format!("error: {p}")),
                    RunnerEvent::Paused(p) => Some(if p { "claiming paused".into() } else { "claiming resumed".into() }),
                    _ => None,
                };
                if let Some(line) = line {
                    let _ = writeln!(err, "{line}");
                }
            }
        });
        let interrupted = {
            let cancel = cancel.clone();
            async move {
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => {}
                }
                cancel.cancel();
            }
        };
        let watcher = tokio::spawn(interrupted);
        let result = task.await.context("runner task failed")?;
        watcher.abort();
        let _ = printer.await;
        result
    });
    if once && result.is_ok() {
        let store = ctx.store()?;
        if let Some(why) = not_claiming(&store.pause_state()?) {
            eprintln!("{why}");
        } else if let Some(full) = store.review_full(ctx.config.file.runner.max_in_review)? {
            eprintln!("nothing more claimed: {}", full.reason());
        }
    }
    result
}

/// Why `run --once` claimed nothing more, when claiming is paused or held: the same exit
/// status as an empty queue (a hold is not a failure), but never a silent one.
fn not_claiming(pause: &crate::store::PauseState) -> Option<String> {
    if let Some(until) = pause.until {
        let reason = strip_all(pause.reason.as_deref().unwrap_or("held"));
        return Some(format!(
            "nothing more claimed: held until {} — {reason}",
            crate::domain::format_millis(until)
        ));
    }
    pause.paused.then(|| {
        "nothing more claimed: claiming is paused; `autopilot-tui resume` starts it again".into()
    })
}

/// `split ID`: the planner's run, then the subtasks' ids, one a line.
pub fn split(ctx: &Ctx, out: &mut impl Write, id: i64) -> anyhow::Result<()> {
    let _log = init_logging(&ctx.config.paths);
    let settings = ctx.config.runner_settings(Some(1));
    let adapter = ctx.config.adapter()?;
    let others = ctx.config.agents()?;
    crate::runner::preflight_here(adapter.as_ref(), &settings.permission_mode)
        .map_err(|e| anyhow::anyhow!(e))?;
    drop(ctx.store()?);
    let rt = crate::sys::runtime()?;
    let split = rt.block_on(async move {
        let (ev_tx, _ev_rx) = tokio::sync::mpsc::unbounded_channel();
        let runner = Runner::new(settings, adapter, ev_tx).with_agents(others);
        // Ctrl-C stops the planner and closes its run, as a runner's shutdown does.
        let cancel = tokio_util::sync::CancellationToken::new();
        let watcher = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    cancel.cancel();
                }
            })
        };
        let split = crate::runner::plan::split(&runner, id, &cancel).await;
        watcher.abort();
        split
    });
    let split = split.map_err(|e| anyhow::anyhow!(strip_all(&e)))?;
    for child in &split.created {
        writeln!(out, "{child}")?;
    }
    if split.dropped > 0 {
        eprintln!(
            "the planner proposed {} more subtasks; at most {} are created",
            split.dropped,
            crate::runner::plan::MAX_SUBTASKS
        );
    }
    Ok(())
}
