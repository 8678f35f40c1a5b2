//! Claims and their leases: the atomic claim, renewals, expiry, interruptions and stop
//! requests.

use std::sync::Arc;

use super::comments::insert_comment;
use super::issues::{get, issue_from_row, set_status, ISSUE_COLS};
use super::sql::{vals, Backend, Exec};
use super::{events, now, Result, Store};
use crate::domain::redact::Redactor;
use crate::domain::{Actor, ActorId, AuthorKind, EventKind, Issue, Millis, Status};

/// Closes an issue's open runs as interrupted, with `why` as their error.
pub(super) fn close_open_runs(tx: &impl Exec, issue_id: i64, why: &str) -> Result<()> {
    tx.execute(
        "UPDATE runs SET ended_at = ?2, outcome = 'interrupted', error = ?3
         WHERE issue_id = ?1 AND ended_at IS NULL",
        vals![issue_id, now(), why],
    )?;
    Ok(())
}

/// Hands an in-progress issue back after its run was interrupted: to ready, or to blocked once
/// it has been interrupted `max_interruptions` times. Open runs close as interrupted.
pub(super) fn interrupt(
    tx: &impl Exec,
    redactor: &Redactor,
    issue: &Issue,
    why: &str,
    max_interruptions: i64,
) -> Result<()> {
    close_open_runs(tx, issue.id, why)?;
    let count: i64 = tx.query_row(
        "UPDATE issues SET interruptions = interruptions + 1 WHERE id = ?1 RETURNING interruptions",
        vals![issue.id],
        |r| r.get(0),
    )?;
    let (to, tail) = if count >= max_interruptions {
        (
            Status::Blocked,
            format!(" It has been interrupted {count} times, so it is parked here; comment to hand it back. Branch and worktree are kept."),
        )
    } else {
        (
            Status::Ready,
            " Handed back to ready; branch and worktree are kept.".to_string(),
        )
    };
    insert_comment(
        tx,
        redactor,
        issue.id,
        "autopilot",
        AuthorKind::System,
        &format!("{why}{tail}"),
    )?;
    set_status(tx, issue, to, Actor::System, "recovery")
}

/// Moves the best ready issue (highest priority, then oldest, whose dependencies and subtasks
/// are all done) to in progress for `agent_id`, without its event row; its id, or `None` when none is ready.
pub(super) fn claim_one(
    tx: &impl Exec,
    agent_id: &str,
    lease_ms: Millis,
    ts: Millis,
) -> Result<Option<i64>> {
    let sql = match tx.backend() {
        // SQLite's writers take turns (BEGIN IMMEDIATE): the row cannot be claimed under us.
        Backend::Sqlite => CLAIM.replace("{lock}", ""),
        // Claimers on other hosts pass over a row another claim holds instead of waiting for
        // it, and never both take it.
        Backend::Postgres => CLAIM.replace("{lock}", "FOR UPDATE OF i SKIP LOCKED"),
    };
    Ok(tx.query_opt(
        &sql,
        vals![
            agent_id,
            ts + lease_ms,
            ts,
            i64::from(std::process::id()),
            crate::sys::host_name()
        ],
        |r| r.get(0),
    )?)
}

/// The claim: one statement, whose inner SELECT picks the row (`{lock}`: how it is locked).
const CLAIM: &str = "UPDATE issues SET status = 'in_progress', claimed_by = ?1, lease_until = ?2,
         updated_at = ?3, claim_pid = ?4, claim_host = ?5
     WHERE id = (
         SELECT i.id FROM issues i
         WHERE i.status = 'ready'
           AND (i.not_before IS NULL OR i.not_before <= ?3)
           AND NOT EXISTS (
               SELECT 1 FROM issue_deps d JOIN issues x ON x.id = d.depends_on
               WHERE d.issue_id = i.id AND x.status != 'done')
           AND NOT EXISTS (
               SELECT 1 FROM issues c WHERE c.parent_id = i.id AND c.status != 'done')
         ORDER BY i.priority DESC, i.created_at, i.id
         LIMIT 1 {lock})
       AND status = 'ready'
     RETURNING id";

/// The event row of a claim.
pub(super) fn claim_event(agent_id: &str) -> EventKind {
    EventKind::IssueStatus {
        from: Status::Ready,
        to: Status::InProgress,
        actor: Actor::Agent,
        claimed_by: Some(agent_id.into()),
    }
}

impl Store {
    /// Atomically claims the best ready issue: highest priority, then oldest, whose
    /// dependencies are all done. `None` when nothing is claimable or claiming is paused.
    pub fn claim_next(&mut self, agent_id: &str, lease_ms: Millis) -> Result<Option<Issue>> {
        let (by, kind) = (ActorId::agent(agent_id), claim_event(agent_id));
        self.write(|tx| {
            let ts = now();
            if super::paused_in(tx)? || super::held_until(tx, ts)?.is_some() {
                return Ok(None);
            }
            let claimed = claim_one(tx, agent_id, lease_ms, ts)?;
            let Some(id) = claimed else {
                return Ok(None);
            };
            events::insert(tx, Some(id), &by, &kind)?;
            // The claim that takes the issue takes its secret answers too; this caller
            // cannot pass them on, so they go.
            super::needs::take_secrets(tx, id)?;
            Ok(Some(get(tx, id)?))
        })
    }

    /// Extends the claim lease; `false` when the claim is no longer ours (it expired and
    /// was handed back, or a person moved the issue).
    pub fn renew_lease(&mut self, id: i64, agent_id: &str, lease_ms: Millis) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE issues SET lease_until = ?3
                 WHERE id = ?1 AND status = 'in_progress' AND claimed_by = ?2",
                vals![id, agent_id, now() + lease_ms],
            )?;
            Ok(n == 1)
        })
    }

    /// Hands issues whose claim lease ran out back to ready (or to blocked after
    /// `max_interruptions`), closing their open runs as interrupted. Branch and worktree stay.
    /// Returns the ids handed back.
    pub fn release_expired(&mut self, max_interruptions: i64) -> Result<Vec<i64>> {
        let red = Arc::clone(&self.redactor);
        self.write(|tx| {
            let expired: Vec<Issue> = tx.query_map(
                &format!(
                    "SELECT {ISSUE_COLS} FROM issues
                     WHERE status = 'in_progress' AND (lease_until IS NULL OR lease_until < ?1)"
                ),
                vals![now()],
                issue_from_row,
            )?;
            let mut ids = Vec::new();
            for issue in expired {
                let holder = issue.claimed_by.clone().unwrap_or_else(|| "unknown".into());
                let why = format!(
                    "The claim of {holder} expired: its runner stopped renewing it (crashed, killed or lost its connection)."
                );
                interrupt(tx, &red, &issue, &why, max_interruptions)?;
                ids.push(issue.id);
            }
            Ok(ids)
        })
    }

    /// Pending stop requests among `ids`: issue id and who asked.
    pub fn stop_requests(&self, ids: &[i64]) -> Result<Vec<(i64, String)>> {
        let mut out = Vec::new();
        for id in ids {
            let by = self.db().query_opt(
                "SELECT stop_requested_by FROM issues WHERE id = ?1 AND stop_requested_by IS NOT NULL",
                vals![*id],
                |r| r.get::<String>(0),
            )?;
            if let Some(by) = by {
                out.push((*id, by));
            }
        }
        Ok(out)
    }
}
