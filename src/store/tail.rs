//! Runs of other processes, read for the TUI's remote panes: which open runs another process
//! owns, and their transcript batches after the last one shown.

use super::sql::{vals, Exec, Row, SqlError, Value};
use super::{Result, Store};
use crate::domain::{Millis, RunOutcome, RunRole};

/// An open run owned by another process: what a remote pane shows in its header.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignRun {
    /// The run.
    pub run_id: i64,
    /// The issue.
    pub issue_id: i64,
    /// The issue's title (raw; the caller makes it printable).
    pub title: String,
    /// Agent id.
    pub agent_id: String,
    /// The owner's runner slot.
    pub slot: i64,
    /// What the run does.
    pub role: RunRole,
    /// The owning process.
    pub owner_pid: Option<i64>,
    /// Its host.
    pub owner_host: Option<String>,
    /// Start (epoch ms).
    pub started_at: Millis,
}

/// One stored batch of transcript lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Row id: batches are numbered in the order they were stored.
    pub id: i64,
    /// Its lines, joined by newlines.
    pub data: Vec<u8>,
}

impl Chunk {
    /// The lines of the batch.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> {
        self.data.split(|b| *b == b'\n')
    }
}

/// A transcript chunk's stored bytes: BYTEA on PostgreSQL, a blob (or, in files written by
/// early versions, text) on SQLite.
pub(super) fn chunk_bytes(v: Value) -> Vec<u8> {
    match v {
        Value::Bytes(b) => b,
        Value::Text(t) => t.into_bytes(),
        _ => Vec::new(),
    }
}

fn chunk(r: &Row) -> Result<Chunk, SqlError> {
    Ok(Chunk {
        id: r.get(0)?,
        data: chunk_bytes(r.get(1)?),
    })
}

impl Store {
    /// Open runs not owned by process `pid` on `host` (every open run, for a process without
    /// a runner), oldest first.
    pub fn foreign_runs(&self, pid: i64, host: &str) -> Result<Vec<ForeignRun>> {
        Ok(self.db().query_map(
            "SELECT r.id, r.issue_id, i.title, r.agent_id, r.slot, r.role, r.owner_pid,
                    r.owner_host, r.started_at
             FROM runs r JOIN issues i ON i.id = r.issue_id
             WHERE r.ended_at IS NULL
               AND NOT (coalesce(r.owner_pid, -1) = ?1 AND coalesce(r.owner_host, '') = ?2)
             ORDER BY r.id",
            vals![pid, host],
            |r| {
                let role: String = r.get(5)?;
                Ok(ForeignRun {
                    run_id: r.get(0)?,
                    issue_id: r.get(1)?,
                    title: r.get(2)?,
                    agent_id: r.get(3)?,
                    slot: r.get(4)?,
                    role: role.parse().unwrap_or(RunRole::Implement),
                    owner_pid: r.get(6)?,
                    owner_host: r.get(7)?,
                    started_at: r.get(8)?,
                })
            },
        )?)
    }

    /// How a run ended; `None` while it is open (or when there is no such run).
    pub fn run_outcome(&self, run_id: i64) -> Result<Option<RunOutcome>> {
        let outcome: Option<Option<String>> = self.db().query_opt(
            "SELECT outcome FROM runs WHERE id = ?1 AND ended_at IS NOT NULL",
            vals![run_id],
            |r| r.get(0),
        )?;
        Ok(outcome.map(|o| {
            o.and_then(|o| o.parse().ok())
                .unwrap_or(RunOutcome::Interrupted)
        }))
    }

    /// A run's batches stored after batch `after_id`, in order, at most `limit` of them.
    pub fn chunks_after(&self, run_id: i64, after_id: i64, limit: i64) -> Result<Vec<Chunk>> {
        Ok(self.db().query_map(
            "SELECT id, data FROM transcript_chunks WHERE run_id = ?1 AND id > ?2
             ORDER BY id LIMIT ?3",
            vals![run_id, after_id, limit],
            chunk,
        )?)
    }

    /// A run's newest batches holding at least `lines` lines (all of them when it has fewer),
    /// in order: what a pane attached to a long run loads, instead of its whole transcript.
    pub fn last_chunks(&self, run_id: i64, lines: i64) -> Result<Vec<Chunk>> {
        // Sizes first, then only the batches wanted: a long run's transcript is never read whole.
        let sizes: Vec<(i64, i64)> = self.db().query_map(
            "SELECT id, lines FROM transcript_chunks WHERE run_id = ?1 ORDER BY id DESC",
            vals![run_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (mut from, mut have) = (None, 0i64);
        for (id, n) in sizes {
            if have >= lines {
                break;
            }
            have += n;
            from = Some(id);
        }
        let Some(from) = from else {
            return Ok(Vec::new());
        };
        let mut out = self.db().query_map(
            "SELECT id, data FROM transcript_chunks WHERE run_id = ?1 AND id >= ?2 ORDER BY id DESC",
            vals![run_id, from],
            chunk,
        )?;
        out.reverse();
        Ok(out)
    }
}
