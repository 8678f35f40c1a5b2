//! Subtasks: an issue's parent (at most one, never a cycle), its children and their progress,
//! and the parent's move once its last child is done.
//!
//! The rule: a parent with open (not done) children is never claimed. When its last child
//! moves to done, in the same transaction, a parent waiting in backlog, ready or blocked moves
//! to in_review when it has a branch of its own (its agent worked on it before it was split),
//! else straight to done, with a system comment listing what its children did. A parent in
//! progress, in review or done is left where it is: a person or its agent decides.

use std::collections::HashMap;

use super::comments::insert_comment;
use super::issues::{get, parse_col, set_status};
use super::sql::{vals, Exec};
use super::{events, now, Result, Store, StoreError};
use crate::domain::redact::Redactor;
use crate::domain::sanitize::one_line;
use crate::domain::{Actor, ActorId, AuthorKind, Child, EventKind, Issue, Status};

/// Who writes the parent's comment and move.
pub const AUTHOR: &str = "autopilot";
/// Most characters of a child's summary line in its parent's comment.
const SUMMARY_MAX: usize = 200;

/// Checks that `parent` may hold `child` (`None`: an issue not created yet): it exists, is not
/// done, is not `child` itself and not one of its descendants. `what` ends the error ("nothing
/// was added").
pub(super) fn check_parent(
    tx: &impl Exec,
    parent: i64,
    child: Option<i64>,
    what: &str,
) -> Result<()> {
    let p = get(tx, parent).map_err(|e| match e {
        StoreError::IssueNotFound(_) => StoreError::Invalid(format!(
            "there is no issue #{parent} to be the parent ({what})"
        )),
        other => other,
    })?;
    if p.status == Status::Done {
        return Err(StoreError::Invalid(format!(
            "#{parent} is done: reopen it before giving it subtasks ({what})"
        )));
    }
    let Some(child) = child else {
        return Ok(());
    };
    if child == parent {
        return Err(StoreError::Invalid(format!(
            "#{child} cannot be its own parent ({what})"
        )));
    }
    // Walk up from the would-be parent: meeting the child means the parent is its descendant.
    let mut chain = vec![parent];
    let mut at = p.parent;
    while let Some(up) = at {
        if up == child || chain.len() > 10_000 {
            let path: Vec<String> = chain.iter().rev().map(|i| format!("#{i}")).collect();
            return Err(StoreError::Invalid(format!(
                "#{parent} cannot be the parent of #{child}: it is a subtask of it already \
                 (#{child} → {}), and parents cannot go in a circle ({what})",
                path.join(" → ")
            )));
        }
        chain.push(up);
        at = parent_of(tx, up)?;
    }
    Ok(())
}

fn parent_of(tx: &impl Exec, id: i64) -> Result<Option<i64>> {
    Ok(tx
        .query_opt(
            "SELECT parent_id FROM issues WHERE id = ?1",
            vals![id],
            |r| r.get::<Option<i64>>(0),
        )?
        .flatten())
}

/// After `child` moved to done: when it was its parent's last open child, moves the parent as
/// the module's rule says, with the comment listing its children; up the tree while parents
/// move to done.
pub(super) fn after_done(tx: &impl Exec, red: &Redactor, child: &Issue) -> Result<()> {
    let mut next = child.parent;
    while let Some(pid) = next.take() {
        let open: i64 = tx.query_row(
            "SELECT count(*) FROM issues WHERE parent_id = ?1 AND status != 'done'",
            vals![pid],
            |r| r.get(0),
        )?;
        let parent = get(tx, pid)?;
        if open > 0
            || !matches!(
                parent.status,
                Status::Backlog | Status::Ready | Status::Blocked
            )
        {
            return Ok(());
        }
        let to = if parent.branch.is_some() {
            Status::InReview
        } else {
            Status::Done
        };
        let text = done_comment(tx, &parent, to)?;
        insert_comment(tx, red, pid, AUTHOR, AuthorKind::System, &text)?;
        set_status(tx, &parent, to, Actor::System, AUTHOR)?;
        if to == Status::Done {
            next = parent.parent;
        }
    }
    Ok(())
}

/// The parent's comment: each child with its title, status and summary (its agent's last
/// word, else its newest comment), and where the parent goes.
fn done_comment(tx: &impl Exec, parent: &Issue, to: Status) -> Result<String> {
    let rows = tx.query_map(
        "SELECT i.id, i.title, i.status,
             (SELECT c.body FROM comments c WHERE c.issue_id = i.id
              ORDER BY (c.author_kind = 'agent') DESC, c.id DESC LIMIT 1)
         FROM issues i WHERE i.parent_id = ?1 ORDER BY i.id",
        vals![parent.id],
        |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<Option<String>>(3)?,
            ))
        },
    )?;
    let mut lines = Vec::new();
    for (id, title, status, summary) in rows {
        let summary = summary
            .as_deref()
            .and_then(|s| s.lines().find(|l| !l.trim().is_empty()))
            .map(|l| {
                one_line(l.trim())
                    .chars()
                    .take(SUMMARY_MAX)
                    .collect::<String>()
            })
            .unwrap_or_else(|| "(no comment)".into());
        lines.push(format!(
            "- #{id} {} [{status}]: {summary}",
            one_line(&title)
        ));
    }
    let then = match (to, parent.branch.as_deref()) {
        (Status::InReview, Some(b)) => format!(
            "It moves to in_review: its own branch `{}` waits for a person.",
            one_line(b)
        ),
        _ => "It moves to done: it has no branch of its own.".to_string(),
    };
    Ok(format!(
        "All {} subtasks are done. {then}\n{}",
        lines.len(),
        lines.join("\n")
    ))
}

impl Store {
    /// Creates `subtasks` (title, body) under `parent`, in backlog and of its kind, with a
    /// system comment on the parent naming them and `note`: all or nothing. Their ids.
    pub fn create_subtasks(
        &mut self,
        parent: i64,
        subtasks: &[(String, String)],
        note: &str,
    ) -> Result<Vec<i64>> {
        let red = std::sync::Arc::clone(&self.redactor);
        let by = ActorId::system(AUTHOR);
        self.write(|tx| {
            check_parent(tx, parent, None, "nothing was added")?;
            let p = get(tx, parent)?;
            let mut ids = Vec::with_capacity(subtasks.len());
            for (title, body) in subtasks {
                let title = red.text(title.trim()).into_owned();
                if title.is_empty() {
                    return Err(StoreError::Invalid(
                        "a subtask needs a non-empty title (nothing was added)".into(),
                    ));
                }
                let body = red.text(body).into_owned();
                let id: i64 = tx.query_row(
                    "INSERT INTO issues (title, body, kind, status, priority, created_at, updated_at,
                         parent_id)
                     VALUES (?1, ?2, ?3, 'backlog', ?4, ?5, ?5, ?6)
                     RETURNING id",
                    vals![title.as_str(), body, p.kind.as_str(), p.priority, now(), parent],
                    |r| r.get(0),
                )?;
                let kind = EventKind::IssueCreated {
                    title,
                    kind: p.kind,
                    status: Status::Backlog,
                    priority: p.priority,
                };
                events::insert(tx, Some(id), &by, &kind)?;
                ids.push(id);
            }
            let list: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
            let text = format!("Split into {} in backlog. {note}", list.join(", "));
            insert_comment(tx, &red, parent, AUTHOR, AuthorKind::System, &text)?;
            Ok(ids)
        })
    }

    /// An issue's subtasks, oldest first.
    pub fn children(&self, id: i64) -> Result<Vec<Child>> {
        Ok(self.db().query_map(
            "SELECT id, title, status FROM issues WHERE parent_id = ?1 ORDER BY id",
            vals![id],
            |r| {
                Ok(Child {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    status: parse_col(r, 2)?,
                })
            },
        )?)
    }

    /// `(done, total)` subtasks of each of `ids` that has any, in one query (a board window's
    /// cards).
    pub fn subtask_progress(&self, ids: &[i64]) -> Result<HashMap<i64, (i64, i64)>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids_of = super::board::json_ids(self.db().backend());
        let ids = serde_json::to_string(ids)?;
        let rows = self.db().query_map(
            &format!(
                "SELECT parent_id, count(*) FILTER (WHERE status = 'done'), count(*) FROM issues
                 WHERE parent_id IN ({ids_of}) GROUP BY parent_id"
            ),
            vals![ids],
            |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))),
        )?;
        Ok(rows.into_iter().collect())
    }
}
