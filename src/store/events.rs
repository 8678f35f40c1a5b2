//! The append-only event log; its id doubles as the change feed's high-water mark.
//!
//! Events are typed ([`EventKind`], [`ActorId`]) everywhere but here: this is where they
//! become the `kind`, `data` and `actor` text columns and back.

use std::borrow::Cow;

use super::sql::{vals, Backend, Exec, Row, SqlError};

use super::{now, Result, Store};
use crate::domain::{ActorId, Event, EventKind};

/// The `kind` and `data` columns of an event: its serde tag and its details as JSON text
/// (keys sorted, as `serde_json` writes a map).
fn to_columns(kind: &EventKind) -> Result<(String, String)> {
    let mut value = serde_json::to_value(kind)?;
    let tag = match value.get_mut("kind").map(serde_json::Value::take) {
        Some(serde_json::Value::String(tag)) => tag,
        _ => String::new(),
    };
    let data = value
        .get_mut("data")
        .map(serde_json::Value::take)
        .unwrap_or_default();
    Ok((tag, data.to_string()))
}

/// The event a row's `kind` and `data` columns describe; details that are not JSON read as
/// `null`, as before events were typed.
fn from_columns(kind: String, data: &str) -> EventKind {
    let data: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
    let value = serde_json::json!({ "kind": kind, "data": data });
    serde_json::from_value(value).unwrap_or(EventKind::Other { kind, data })
}

/// JSON text without the `\u0000` escape, for PostgreSQL: its `jsonb` refuses one, and with it
/// every statement that reads the field of any such event (stats, delete). The NUL becomes
/// U+2400, as the portable layer writes a raw NUL there.
pub(super) fn without_nul_escapes(json: &str) -> Cow<'_, str> {
    if !json.contains("\\u0000") {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at..];
        if let Some(after) = escape.strip_prefix("\\u0000") {
            out.push('\u{2400}');
            rest = after;
        } else {
            // Any other escape (`\\` included) is kept whole, so its second character is
            // never read as the start of one.
            let len = 1 + escape[1..].chars().next().map_or(0, char::len_utf8);
            out.push_str(&escape[..len]);
            rest = &escape[len..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Appends one event inside the caller's transaction.
pub(super) fn insert(
    tx: &impl Exec,
    issue_id: Option<i64>,
    actor: &ActorId,
    kind: &EventKind,
) -> Result<i64> {
    let (kind, mut data) = to_columns(kind)?;
    if tx.backend() == Backend::Postgres {
        data = without_nul_escapes(&data).into_owned();
    }
    Ok(tx.query_row(
        "INSERT INTO events (ts, kind, issue_id, actor, data) VALUES (?1, ?2, ?3, ?4, ?5)
         RETURNING id",
        vals![now(), kind, issue_id, actor.to_string(), data],
        |r| r.get(0),
    )?)
}

fn from_row(r: &Row) -> Result<Event, SqlError> {
    let label: String = r.get(4)?;
    let data: String = r.get(5)?;
    Ok(Event {
        id: r.get(0)?,
        ts: r.get(1)?,
        kind: from_columns(r.get(2)?, &data),
        issue_id: r.get(3)?,
        // Every label is written as `kind:name`; one that is not still names someone.
        actor: label.parse().unwrap_or_else(|_| ActorId::system(label)),
    })
}

impl Store {
    /// The newest event id (0 for an empty log).
    pub fn max_event_id(&self) -> Result<i64> {
        Ok(self
            .db()
            .query_row("SELECT coalesce(max(id), 0) FROM events", &[], |r| r.get(0))?)
    }

    /// The newest event id, and whether any event after `after` can have freed work for an
    /// idle runner slot: anything but runs starting and finishing (a move, a new issue, a
    /// dependency or hold lifted, a setting).
    pub fn news_since(&self, after: i64) -> Result<(i64, bool)> {
        Ok(self.db().query_row(
            "SELECT coalesce(max(id), ?1),
                    count(*) FILTER (WHERE kind NOT IN ('run.started', 'run.finished')) > 0
             FROM events WHERE id > ?1",
            vals![after],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Up to `limit` events after `after`, oldest first.
    pub fn events_since(&self, after: i64, limit: i64) -> Result<Vec<Event>> {
        Ok(self.db().query_map(
            "SELECT id, ts, kind, issue_id, actor, data FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
            vals![after, limit],
            from_row,
        )?)
    }

    /// Every event about one issue, oldest first.
    pub fn issue_events(&self, issue_id: i64) -> Result<Vec<Event>> {
        Ok(self.db().query_map(
            "SELECT id, ts, kind, issue_id, actor, data FROM events WHERE issue_id = ?1 ORDER BY id",
            vals![issue_id],
            from_row,
        )?)
    }
}
