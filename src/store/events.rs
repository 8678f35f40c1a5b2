//! The append-only event log; its id doubles as the change feed's high-water mark.

use rusqlite::{params, Row, Transaction};

use super::{now, Result, Store};
use crate::domain::Event;

/// Appends one event inside the caller's transaction.
pub(super) fn insert(
    tx: &Transaction<'_>,
    kind: &str,
    issue_id: Option<i64>,
    actor: &str,
    data: &serde_json::Value,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO events (ts, kind, issue_id, actor, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now(), kind, issue_id, actor, data.to_string()],
    )?;
    Ok(tx.last_insert_rowid())
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    let data: String = r.get(5)?;
    Ok(Event {
        id: r.get(0)?,
        ts: r.get(1)?,
        kind: r.get(2)?,
        issue_id: r.get(3)?,
        actor: r.get(4)?,
        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
    })
}

impl Store {
    /// The newest event id (0 for an empty log).
    pub fn max_event_id(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))?)
    }

    /// Up to `limit` events after `after`, oldest first.
    pub fn events_since(&self, after: i64, limit: i64) -> Result<Vec<Event>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, ts, kind, issue_id, actor, data FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every event about one issue, oldest first.
    pub fn issue_events(&self, issue_id: i64) -> Result<Vec<Event>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, ts, kind, issue_id, actor, data FROM events WHERE issue_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([issue_id], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
