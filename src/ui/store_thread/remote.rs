//! Panes for agents other processes run: the open runs this process does not own, and their
//! stored transcript batches after the last one shown, read only when the database changed.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::sanitize::one_line;
use crate::domain::{Millis, RunOutcome};
use crate::runner::agent::{reader_for, Adapter};
use crate::runner::PaneLine;
use crate::store::{Chunk, ForeignRun, Store};
use crate::ui::state::panes::PANE_CAPACITY;

/// Batches read for one run per look; a run that printed more is read on at the next look.
const CHUNKS_PER_LOOK: i64 = 256;

/// A run of another process, seen for the first time.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteStart {
    /// The run.
    pub run_id: i64,
    /// The issue.
    pub issue_id: i64,
    /// Its title, printable.
    pub title: String,
    /// Agent id, printable.
    pub agent: String,
    /// The owner's runner slot.
    pub slot: usize,
    /// Which process runs it, printable (`pid 1234@buildbox`).
    pub owner: String,
    /// Start (epoch ms).
    pub started_at: Millis,
    /// Its newest lines (at most a pane's worth).
    pub lines: Vec<PaneLine>,
}

/// What changed in the runs of other processes.
#[derive(Debug, Clone, PartialEq)]
pub enum RemoteUpdate {
    /// A run to show.
    Started(Box<RemoteStart>),
    /// New lines of a run shown.
    Output {
        /// The run.
        run_id: i64,
        /// Display lines.
        lines: Vec<PaneLine>,
    },
    /// A run shown ended.
    Finished {
        /// The run.
        run_id: i64,
        /// How.
        outcome: RunOutcome,
    },
}

/// A run followed: the last batch shown and how its lines render.
struct Followed {
    last_chunk: i64,
    /// Its own reader when the configured one is not it ([`reader_for`]).
    reader: Option<Arc<dyn Adapter>>,
}

/// The followed runs of other processes.
pub(super) struct Remote {
    pid: i64,
    host: String,
    /// `data_version` at the last look; `None` looks at the next turn whatever it is.
    version: Option<i64>,
    followed: HashMap<i64, Followed>,
}

/// `pid 1234@host`, safe for a terminal.
fn owner(run: &ForeignRun) -> String {
    let pid = run.owner_pid.map_or_else(|| "?".into(), |p| p.to_string());
    let host = run.owner_host.as_deref().unwrap_or("?");
    one_line(&format!("pid {pid}@{host}"))
}

impl Remote {
    /// Follows the runs not owned by process `pid` on `host`.
    pub(super) fn new(pid: i64, host: String) -> Remote {
        Remote {
            pid,
            host,
            version: None,
            followed: HashMap::new(),
        }
    }

    fn render(
        reader: Option<&dyn Adapter>,
        chunks: &[Chunk],
        renderer: &dyn Adapter,
    ) -> Vec<PaneLine> {
        let r = reader.unwrap_or(renderer);
        chunks
            .iter()
            .flat_map(|c| c.lines())
            .flat_map(|l| r.render_line(l))
            .collect()
    }

    /// New lines of a followed run, read on from its last batch shown.
    fn tail(&mut self, store: &Store, run_id: i64, renderer: &dyn Adapter) -> Vec<PaneLine> {
        let Some(f) = self.followed.get(&run_id) else {
            return Vec::new();
        };
        let chunks = store
            .chunks_after(run_id, f.last_chunk, CHUNKS_PER_LOOK)
            .unwrap_or_default();
        if chunks.len() as i64 == CHUNKS_PER_LOOK {
            self.version = None;
        }
        let reader = f.reader.clone();
        if let (Some(last), Some(f)) = (chunks.last(), self.followed.get_mut(&run_id)) {
            f.last_chunk = last.id;
        }
        Remote::render(reader.as_deref(), &chunks, renderer)
    }

    /// What changed since the last look, when `version` (the database's `data_version`) moved;
    /// nothing is read while it stands still.
    pub(super) fn look(
        &mut self,
        store: &Store,
        version: i64,
        renderer: &dyn Adapter,
    ) -> Vec<RemoteUpdate> {
        if self.version == Some(version) {
            return Vec::new();
        }
        let Ok(open) = store.foreign_runs(self.pid, &self.host) else {
            return Vec::new();
        };
        self.version = Some(version);
        let mut out = Vec::new();
        let mut gone: Vec<i64> = self
            .followed
            .keys()
            .filter(|id| !open.iter().any(|r| r.run_id == **id))
            .copied()
            .collect();
        gone.sort_unstable();
        for run_id in gone {
            let lines = self.tail(store, run_id, renderer);
            if !lines.is_empty() {
                out.push(RemoteUpdate::Output { run_id, lines });
            }
            self.followed.remove(&run_id);
            // A run no longer open and not ended changed hands (a recovery here): it ended
            // for the pane all the same.
            let outcome = store.run_outcome(run_id).ok().flatten();
            let outcome = outcome.unwrap_or(RunOutcome::Interrupted);
            out.push(RemoteUpdate::Finished { run_id, outcome });
        }
        for run in open {
            if self.followed.contains_key(&run.run_id) {
                let lines = self.tail(store, run.run_id, renderer);
                if !lines.is_empty() {
                    out.push(RemoteUpdate::Output {
                        run_id: run.run_id,
                        lines,
                    });
                }
                continue;
            }
            let agent = store.issue(run.issue_id).ok().and_then(|i| i.agent);
            let reader = reader_for(run.role, agent, renderer);
            let want = i64::try_from(PANE_CAPACITY).unwrap_or(i64::MAX);
            let chunks = store.last_chunks(run.run_id, want).unwrap_or_default();
            let last_chunk = chunks.last().map_or(0, |c| c.id);
            let mut lines = Remote::render(reader.as_deref(), &chunks, renderer);
            lines.drain(..lines.len().saturating_sub(PANE_CAPACITY));
            self.followed
                .insert(run.run_id, Followed { last_chunk, reader });
            out.push(RemoteUpdate::Started(Box::new(RemoteStart {
                run_id: run.run_id,
                issue_id: run.issue_id,
                title: one_line(&run.title),
                agent: one_line(&run.agent_id),
                slot: usize::try_from(run.slot).unwrap_or(0),
                owner: owner(&run),
                started_at: run.started_at,
                lines,
            })));
        }
        out
    }
}

#[cfg(test)]
mod tests;
