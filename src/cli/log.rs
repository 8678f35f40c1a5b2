//! `log`: a run's transcript, rendered or raw, optionally followed while the run goes on.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::bail;

use super::{env_var, Ctx};
use crate::domain::sanitize::strip_all;
use crate::store::StoreError;

/// Transcript lines `log` reads at a time: a stored batch holds up to a few thousand lines
/// and each read starts from the batch holding its first line.
const LOG_BATCH: i64 = 10_000;

/// Prints the transcript of run `run` of issue `id` (its newest run by default).
pub fn print_log(
    ctx: &Ctx,
    id: i64,
    run: Option<i64>,
    follow: bool,
    raw: bool,
) -> anyhow::Result<()> {
    let store = ctx.store()?;
    store.issue(id)?;
    let run_id = match run {
        Some(r) => match store.run(r) {
            Ok(found) if found.issue_id == id => r,
            Ok(found) => bail!(
                "run {r} belongs to issue #{}, not #{id}; `autopilot-tui show {id}` lists the runs of #{id}",
                found.issue_id
            ),
            Err(StoreError::RunNotFound(_)) => {
                bail!("run {r} not found; `autopilot-tui show {id}` lists the runs of #{id}")
            }
            Err(e) => return Err(e.into()),
        },
        None => match store.runs(id)?.last() {
            Some(r) => r.id,
            None => bail!("issue #{id} has no runs yet"),
        },
    };
    let colour =
        std::io::stdout().is_terminal() && env_var("NO_COLOR").map_or(true, |v| v.is_empty());
    // Flushed after every batch read (so --follow stays live), not after every line.
    let mut out = std::io::BufWriter::with_capacity(256 << 10, std::io::stdout().lock());
    let mut after = -1;
    // Once the run has ended, one more read takes what was stored between the last read and
    // that check (the run stores all its output before it ends).
    let mut last_pass = !follow;
    // A check's output is plain text whatever the agent prints; an issue run by another
    // agent than the configured one reads in that agent's format.
    let run = store.run(run_id)?;
    let agent = store.issue(run.issue_id).ok().and_then(|i| i.agent);
    let configured = ctx.config.renderer();
    let renderer = crate::runner::agent::reader_for(run.role, agent, configured.as_ref())
        .unwrap_or(configured);
    loop {
        let lines = store.transcript(run_id, after, LOG_BATCH)?;
        for l in &lines {
            after = l.seq;
            if raw {
                out.write_all(&l.line)?;
                out.write_all(b"\n")?;
                continue;
            }
            for dl in renderer.render_line(&l.line) {
                let text = if colour { dl.text } else { strip_all(&dl.text) };
                writeln!(out, "{text}")?;
            }
        }
        out.flush()?;
        if lines.len() as i64 == LOG_BATCH {
            continue;
        }
        if last_pass {
            break;
        }
        if store.run(run_id)?.ended_at.is_some() {
            last_pass = true;
            continue;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    Ok(())
}
