//! Archiving done issues (off the board, kept whole) and deleting backlog issues that never
//! ran. Everything that ran is history: it is archived, never deleted.

use super::issues::{get, issue_from_row, ISSUE_COLS};
use super::sql::{vals, Backend, Exec};
use super::{events, now, Result, Store, StoreError};
use crate::domain::{ActorId, EventKind, Issue, Status};

impl Store {
    /// Archives a done issue: it leaves the board and `list` and stays reachable by id.
    /// `false` when it was archived already (nothing changed).
    pub fn archive_issue(&mut self, id: i64, author: &str) -> Result<bool> {
        let by = ActorId::human(author);
        self.write(|tx| {
            let issue = get(tx, id)?;
            if issue.archived_at.is_some() {
                return Ok(false);
            }
            if issue.status != Status::Done {
                return Err(StoreError::Invalid(format!(
                    "#{id} is {}, not done: only done issues are archived (accept it first, or `autopilot-tui delete {id}` a backlog issue that never ran; nothing was changed)",
                    issue.status
                )));
            }
            tx.execute(
                "UPDATE issues SET archived_at = ?2, updated_at = ?2 WHERE id = ?1",
                vals![id, now()],
            )?;
            events::insert(tx, Some(id), &by, &EventKind::IssueArchived {})?;
            Ok(true)
        })
    }

    /// Puts an archived issue back in the done column. `false` when it was not archived.
    pub fn unarchive_issue(&mut self, id: i64, author: &str) -> Result<bool> {
        let by = ActorId::human(author);
        self.write(|tx| {
            if get(tx, id)?.archived_at.is_none() {
                return Ok(false);
            }
            tx.execute(
                "UPDATE issues SET archived_at = NULL, updated_at = ?2 WHERE id = ?1",
                vals![id, now()],
            )?;
            events::insert(tx, Some(id), &by, &EventKind::IssueUnarchived {})?;
            Ok(true)
        })
    }

    /// Archived issues, the most recently archived first.
    pub fn list_archived(&self) -> Result<Vec<Issue>> {
        let sql = format!(
            "SELECT {ISSUE_COLS} FROM issues WHERE archived_at IS NOT NULL
             ORDER BY archived_at DESC, id DESC"
        );
        Ok(self.db().query_map(&sql, &[], issue_from_row)?)
    }

    /// Deletes a backlog issue that never ran (no run, never claimed, no branch) and that no
    /// issue waits on, with its comments and its own dependencies; returns what it was. The
    /// `issue.deleted` event keeps its id and title (the events table has no foreign key).
    pub fn delete_issue(&mut self, id: i64, author: &str) -> Result<Issue> {
        let by = ActorId::human(author);
        self.write(|tx| {
            let issue = get(tx, id)?;
            let refuse = |why: String| {
                Err(StoreError::Invalid(format!(
                    "cannot delete #{id}: {why} (nothing was deleted)"
                )))
            };
            if issue.status == Status::Done {
                return refuse(format!(
                    "it is done, and what was done is kept — archive it instead (`autopilot-tui archive {id}`)"
                ));
            }
            if issue.status != Status::Backlog {
                return refuse(format!(
                    "it is {}; only a backlog issue that never ran can be deleted",
                    issue.status
                ));
            }
            let runs: i64 = tx.query_row(
                "SELECT count(*) FROM runs WHERE issue_id = ?1",
                vals![id],
                |r| r.get(0),
            )?;
            let to = match tx.backend() {
                Backend::Sqlite => "json_extract(data, '$.to')",
                Backend::Postgres => "CAST(data AS jsonb) ->> 'to'",
            };
            let claimed: bool = tx.query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM events WHERE issue_id = ?1 AND kind = 'issue.status'
                         AND {to} = 'in_progress')"
                ),
                vals![id],
                |r| r.get(0),
            )?;
            if runs > 0 || claimed || issue.branch.is_some() {
                return refuse(
                    "it has run, and its history is kept — archive it once it is done instead"
                        .into(),
                );
            }
            let waiting: Vec<i64> = tx.query_map(
                "SELECT issue_id FROM issue_deps WHERE depends_on = ?1 ORDER BY issue_id",
                vals![id],
                |r| r.get(0),
            )?;
            if let Some(first) = waiting.first() {
                let names: Vec<String> = waiting.iter().map(|w| format!("#{w}")).collect();
                return refuse(format!(
                    "{} {} on it; remove that first (`autopilot-tui undepend {first} --on {id}`)",
                    names.join(", "),
                    if waiting.len() == 1 { "waits" } else { "wait" }
                ));
            }
            let children: Vec<i64> = tx.query_map(
                "SELECT id FROM issues WHERE parent_id = ?1 ORDER BY id",
                vals![id],
                |r| r.get(0),
            )?;
            if let Some(first) = children.first() {
                let names: Vec<String> = children.iter().map(|c| format!("#{c}")).collect();
                return refuse(format!(
                    "its subtasks {} would lose their parent; delete them or move them first (`autopilot-tui edit {first} --parent none`)",
                    names.join(", ")
                ));
            }
            // Comments and its own dependencies go with it (ON DELETE CASCADE).
            tx.execute("DELETE FROM issues WHERE id = ?1", vals![id])?;
            let kind = EventKind::IssueDeleted {
                title: issue.title.clone(),
            };
            events::insert(tx, Some(id), &by, &kind)?;
            Ok(issue)
        })
    }
}

#[cfg(test)]
#[path = "archive/tests.rs"]
mod tests;
