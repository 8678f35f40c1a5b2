//! Scheduled and repeating issues in the store: the copy a repeating issue leaves when it is
//! done (inside the transaction of that move, so it happens once per done), and the earliest
//! scheduled time a runner's idle nap waits for.

use super::comments::insert_comment;
use super::sql::{vals, Exec};
use super::{events, now, Result, Store, StoreError};
use crate::domain::redact::Redactor;
use crate::domain::schedule::{format_every, next_occurrence, MIN_EVERY};
use crate::domain::{ActorId, AuthorKind, EventKind, Issue, Millis, Status};

/// Refuses a repetition shorter than [`MIN_EVERY`] (the CLI's parser already does; this keeps
/// every other writer honest).
pub(super) fn check_every(every: Option<Millis>, what: &str) -> Result<()> {
    match every {
        Some(ms) if ms < MIN_EVERY => Err(StoreError::Invalid(format!(
            "an issue repeats at most once a minute (nothing was {what})"
        ))),
        _ => Ok(()),
    }
}

/// An issue's schedule as an `issue.updated` event reports it (`at TIME, every 1d`; "": none).
pub(super) fn schedule_text(issue: &Issue) -> String {
    let at = issue
        .not_before
        .map(|t| format!("at {}", crate::domain::format_millis(t)));
    let every = issue.every_ms.map(|e| format!("every {}", format_every(e)));
    [at, every]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Queues the next occurrence of `done` when it repeats: a fresh issue with its title, body,
/// kind, priority, model, effort, cap, assignee and agent, ready when the done one had been
/// handed off (it always had, to be done) — in ready, not before its next time, linked by
/// `previous_id`, with a system comment saying so.
pub(super) fn after_done(tx: &impl Exec, done: &Issue) -> Result<()> {
    let Some(every) = done.every_ms else {
        return Ok(());
    };
    let ts = now();
    let at = next_occurrence(done.not_before, ts, every, ts);
    let id: i64 = tx.query_row(
        "INSERT INTO issues (title, body, kind, status, priority, created_at, updated_at,
             model, effort, budget_usd, assignee, agent, template, not_before, every_ms,
             previous_id)
         SELECT title, body, kind, 'ready', priority, ?2, ?2,
             model, effort, budget_usd, assignee, agent, template, ?3, every_ms, id
         FROM issues WHERE id = ?1
         RETURNING id",
        vals![done.id, ts, at],
        |r| r.get(0),
    )?;
    let kind = EventKind::IssueCreated {
        title: done.title.clone(),
        kind: done.kind,
        status: Status::Ready,
        priority: done.priority,
    };
    events::insert(tx, Some(id), &ActorId::system("schedule"), &kind)?;
    let text = format!(
        "Repeats #{} (every {}): not claimed before {}.",
        done.id,
        format_every(every),
        crate::domain::format_millis(at)
    );
    // The text is the store's own words and numbers: nothing in it to redact.
    insert_comment(
        tx,
        &Redactor::builtin(),
        id,
        "autopilot",
        AuthorKind::System,
        &text,
    )?;
    Ok(())
}

impl Store {
    /// The earliest time after `after` at which a ready issue becomes claimable (`None`: no
    /// ready issue waits for a time). A runner with nothing to do naps no longer than this.
    pub fn next_scheduled(&self, after: Millis) -> Result<Option<Millis>> {
        Ok(self
            .db()
            .query_opt(
                "SELECT min(not_before) FROM issues
                 WHERE status = 'ready' AND not_before > ?1 AND archived_at IS NULL",
                vals![after],
                |r| r.get::<Option<Millis>>(0),
            )?
            .flatten())
    }
}

#[cfg(test)]
#[path = "repeat_tests.rs"]
mod tests;
