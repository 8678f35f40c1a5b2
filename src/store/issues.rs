//! Issues and comments: creation, edits, moves, the atomic claim and claim leases.

use std::sync::Arc;

use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde_json::json;

use super::{events, now, Result, Store, StoreError};
use crate::domain::redact::Redactor;
use crate::domain::{
    transition, Actor, AuthorKind, Comment, Issue, IssueDetail, Kind, Millis, Status,
};

/// What `add` needs to create an issue.
#[derive(Debug, Clone, Default)]
pub struct NewIssue {
    /// One-line summary (required, non-empty).
    pub title: String,
    /// Description.
    pub body: String,
    /// Sort of work.
    pub kind: Kind,
    /// Higher is claimed first.
    pub priority: i64,
    /// Start in ready (handed off) instead of backlog.
    pub ready: bool,
    /// Issues that must be done before this one may be claimed.
    pub depends_on: Vec<i64>,
}

/// A partial edit: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct IssueEdit {
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// New kind.
    pub kind: Option<Kind>,
    /// New priority.
    pub priority: Option<i64>,
    /// New base branch (the branch runs start from and merge in before a rerun).
    pub base: Option<String>,
}

/// How many issues each column holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts(pub [i64; 6]);

impl StatusCounts {
    /// The count for one status.
    pub fn get(&self, s: Status) -> i64 {
        self.0[status_index(s)]
    }
}

/// The column index of a status (0 = backlog … 5 = done).
pub fn status_index(s: Status) -> usize {
    Status::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

const ISSUE_COLS: &str = "id, title, body, kind, status, priority, claimed_by, lease_until, \
     branch, worktree, base, session_id, created_at, updated_at";

fn parse_col<T: std::str::FromStr>(r: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = r.get(idx)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn issue_from_row(r: &Row<'_>) -> rusqlite::Result<Issue> {
    Ok(Issue {
        id: r.get(0)?,
        title: r.get(1)?,
        body: r.get(2)?,
        kind: parse_col(r, 3)?,
        status: parse_col(r, 4)?,
        priority: r.get(5)?,
        claimed_by: r.get(6)?,
        lease_until: r.get(7)?,
        branch: r.get(8)?,
        worktree: r.get(9)?,
        base: r.get(10)?,
        session_id: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
    })
}

fn comment_from_row(r: &Row<'_>) -> rusqlite::Result<Comment> {
    Ok(Comment {
        id: r.get(0)?,
        issue_id: r.get(1)?,
        author: r.get(2)?,
        author_kind: parse_col(r, 3)?,
        body: r.get(4)?,
        created_at: r.get(5)?,
    })
}

/// The label stored in events for who did something (`human:alice`).
pub(crate) fn actor_label(actor: Actor, name: &str) -> String {
    format!("{actor}:{name}")
}

pub(super) fn get_in(tx: &Transaction<'_>, id: i64) -> Result<Issue> {
    tx.query_row(
        &format!("SELECT {ISSUE_COLS} FROM issues WHERE id = ?1"),
        [id],
        issue_from_row,
    )
    .optional()?
    .ok_or(StoreError::IssueNotFound(id))
}

/// Moves an issue inside a transaction, checking the state machine and writing the event.
pub(super) fn set_status(
    tx: &Transaction<'_>,
    issue: &Issue,
    to: Status,
    actor: Actor,
    name: &str,
) -> Result<()> {
    transition(issue.status, to, actor)?;
    let keep_claim = to == Status::InProgress;
    tx.execute(
        "UPDATE issues SET status = ?2, updated_at = ?3,
             claimed_by = CASE WHEN ?4 THEN claimed_by ELSE NULL END,
             lease_until = CASE WHEN ?4 THEN lease_until ELSE NULL END,
             stop_requested_by = NULL
         WHERE id = ?1",
        params![issue.id, to.as_str(), now(), keep_claim],
    )?;
    events::insert(
        tx,
        "issue.status",
        Some(issue.id),
        &actor_label(actor, name),
        &json!({ "from": issue.status, "to": to, "actor": actor }),
    )?;
    Ok(())
}

/// Adds a comment inside a transaction, with its event. Every comment — a person's, an
/// agent's answer or question, a system note with an error or stderr — comes through here, and
/// its body is redacted here.
pub(super) fn insert_comment(
    tx: &Transaction<'_>,
    redactor: &Redactor,
    issue_id: i64,
    author: &str,
    kind: AuthorKind,
    body: &str,
) -> Result<Comment> {
    let body = &*redactor.text(body);
    let ts = now();
    tx.execute(
        "INSERT INTO comments (issue_id, author, author_kind, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![issue_id, author, kind.as_str(), body, ts],
    )?;
    let id = tx.last_insert_rowid();
    events::insert(
        tx,
        "comment.added",
        Some(issue_id),
        &format!("{kind}:{author}"),
        &json!({ "comment_id": id, "author_kind": kind }),
    )?;
    Ok(Comment {
        id,
        issue_id,
        author: author.to_string(),
        author_kind: kind,
        body: body.to_string(),
        created_at: ts,
    })
}

/// Closes an issue's open runs as interrupted, with `why` as their error.
pub(super) fn close_open_runs(tx: &Transaction<'_>, issue_id: i64, why: &str) -> Result<()> {
    tx.execute(
        "UPDATE runs SET ended_at = ?2, outcome = 'interrupted', error = ?3
         WHERE issue_id = ?1 AND ended_at IS NULL",
        params![issue_id, now(), why],
    )?;
    Ok(())
}

/// Hands an in-progress issue back after its run was interrupted: to ready, or to blocked once
/// it has been interrupted `max_interruptions` times. Open runs close as interrupted.
pub(super) fn interrupt(
    tx: &Transaction<'_>,
    redactor: &Redactor,
    issue: &Issue,
    why: &str,
    max_interruptions: i64,
) -> Result<()> {
    close_open_runs(tx, issue.id, why)?;
    let count: i64 = tx.query_row(
        "UPDATE issues SET interruptions = interruptions + 1 WHERE id = ?1 RETURNING interruptions",
        [issue.id],
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

impl Store {
    /// Creates an issue (in backlog, or ready when handed off at once).
    pub fn create_issue(&mut self, new: &NewIssue, author: &str) -> Result<Issue> {
        let title = new.title.trim();
        if title.is_empty() {
            return Err(StoreError::Invalid(
                "an issue needs a non-empty title".into(),
            ));
        }
        let status = if new.ready {
            Status::Ready
        } else {
            Status::Backlog
        };
        let title = self.redactor.text(title).into_owned();
        let body = self.redactor.text(&new.body).into_owned();
        let (title, body) = (title.as_str(), body.as_str());
        self.write(|tx| {
            let ts = now();
            tx.execute(
                "INSERT INTO issues (title, body, kind, status, priority, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![title, body, new.kind.as_str(), status.as_str(), new.priority, ts],
            )?;
            let id = tx.last_insert_rowid();
            for dep in &new.depends_on {
                // The new issue's own id is only known here; waiting for itself, it could
                // never be claimed.
                if *dep == id {
                    return Err(StoreError::Invalid(format!(
                        "#{id} cannot depend on itself: it would wait for its own completion and never be claimed (nothing was added)"
                    )));
                }
                get_in(tx, *dep).map_err(|e| match e {
                    StoreError::IssueNotFound(_) => StoreError::Invalid(format!(
                        "cannot depend on #{dep}: there is no issue #{dep} (nothing was added)"
                    )),
                    other => other,
                })?;
                tx.execute(
                    "INSERT OR IGNORE INTO issue_deps (issue_id, depends_on) VALUES (?1, ?2)",
                    [id, *dep],
                )?;
            }
            events::insert(
                tx,
                "issue.created",
                Some(id),
                &actor_label(Actor::Human, author),
                &json!({ "title": title, "kind": new.kind, "status": status, "priority": new.priority }),
            )?;
            get_in(tx, id)
        })
    }

    /// Edits title, body, kind or priority.
    pub fn update_issue(&mut self, id: i64, edit: &IssueEdit, author: &str) -> Result<Issue> {
        if let Some(t) = &edit.title {
            if t.trim().is_empty() {
                return Err(StoreError::Invalid(
                    "an issue needs a non-empty title".into(),
                ));
            }
        }
        let red = |t: &Option<String>| t.as_deref().map(|t| self.redactor.text(t).into_owned());
        let (title, body) = (red(&edit.title), red(&edit.body));
        self.write(|tx| {
            let before = get_in(tx, id)?;
            tx.execute(
                "UPDATE issues SET title = coalesce(?2, title), body = coalesce(?3, body),
                     kind = coalesce(?4, kind), priority = coalesce(?5, priority), updated_at = ?6,
                     base = coalesce(?7, base)
                 WHERE id = ?1",
                params![
                    id,
                    title.as_deref().map(str::trim),
                    body,
                    edit.kind.map(Kind::as_str),
                    edit.priority,
                    now(),
                    edit.base.as_deref().map(str::trim)
                ],
            )?;
            let after = get_in(tx, id)?;
            let mut changed = serde_json::Map::new();
            if before.title != after.title {
                changed.insert("title".into(), json!(after.title));
            }
            if before.body != after.body {
                changed.insert("body".into(), json!(true));
            }
            if before.kind != after.kind {
                changed.insert("kind".into(), json!(after.kind));
            }
            if before.priority != after.priority {
                changed.insert("priority".into(), json!(after.priority));
            }
            if before.base != after.base {
                changed.insert("base".into(), json!(after.base));
            }
            events::insert(
                tx,
                "issue.updated",
                Some(id),
                &actor_label(Actor::Human, author),
                &serde_json::Value::Object(changed),
            )?;
            Ok(after)
        })
    }

    /// Moves an issue, as the state machine allows for `actor`.
    pub fn move_issue(&mut self, id: i64, to: Status, actor: Actor, name: &str) -> Result<Issue> {
        self.write(|tx| {
            let issue = get_in(tx, id)?;
            set_status(tx, &issue, to, actor, name)?;
            get_in(tx, id)
        })
    }

    /// Adds a comment. A human comment on a blocked issue answers it: the issue goes back to
    /// ready in the same transaction. Returns the comment and the issue as it is afterwards.
    pub fn add_comment(
        &mut self,
        id: i64,
        author: &str,
        kind: AuthorKind,
        body: &str,
    ) -> Result<(Comment, Issue)> {
        if body.trim().is_empty() {
            return Err(StoreError::Invalid("a comment needs some text".into()));
        }
        let red = Arc::clone(&self.redactor);
        self.write(|tx| {
            let issue = get_in(tx, id)?;
            let comment = insert_comment(tx, &red, id, author, kind, body)?;
            if kind == AuthorKind::Human && issue.status == Status::Blocked {
                set_status(tx, &issue, Status::Ready, Actor::Human, author)?;
            }
            Ok((comment, get_in(tx, id)?))
        })
    }

    /// Requests changes on an issue in review: the comment and the move back to ready commit
    /// together, so the next run sees the request in its prompt.
    pub fn request_changes(&mut self, id: i64, author: &str, body: &str) -> Result<Issue> {
        if body.trim().is_empty() {
            return Err(StoreError::Invalid(
                "requesting changes needs a comment saying what to change".into(),
            ));
        }
        let red = Arc::clone(&self.redactor);
        self.write(|tx| {
            let issue = get_in(tx, id)?;
            transition(issue.status, Status::Ready, Actor::Human)?;
            if issue.status != Status::InReview {
                return Err(StoreError::Invalid(format!(
                    "issue #{id} is {}, not in_review: only work in review can get a change request",
                    issue.status
                )));
            }
            insert_comment(tx, &red, id, author, AuthorKind::Human, body)?;
            set_status(tx, &issue, Status::Ready, Actor::Human, author)?;
            get_in(tx, id)
        })
    }

    /// Atomically claims the best ready issue: highest priority, then oldest, whose
    /// dependencies are all done. `None` when nothing is claimable or claiming is paused.
    pub fn claim_next(&mut self, agent_id: &str, lease_ms: Millis) -> Result<Option<Issue>> {
        self.write(|tx| {
            let ts = now();
            if super::paused_in(tx)? || super::held_until(tx, ts)?.is_some() {
                return Ok(None);
            }
            let claimed: Option<i64> = tx
                .query_row(
                    "UPDATE issues SET status = 'in_progress', claimed_by = ?1, lease_until = ?2, updated_at = ?3
                     WHERE id = (
                         SELECT i.id FROM issues i
                         WHERE i.status = 'ready'
                           AND NOT EXISTS (
                               SELECT 1 FROM issue_deps d JOIN issues x ON x.id = d.depends_on
                               WHERE d.issue_id = i.id AND x.status != 'done')
                         ORDER BY i.priority DESC, i.created_at, i.id
                         LIMIT 1)
                       AND status = 'ready'
                     RETURNING id",
                    params![agent_id, ts + lease_ms, ts],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(id) = claimed else {
                return Ok(None);
            };
            events::insert(
                tx,
                "issue.status",
                Some(id),
                &actor_label(Actor::Agent, agent_id),
                &json!({ "from": Status::Ready, "to": Status::InProgress, "actor": Actor::Agent, "claimed_by": agent_id }),
            )?;
            Ok(Some(get_in(tx, id)?))
        })
    }

    /// Extends the claim lease; `false` when the claim is no longer ours (it expired and
    /// was handed back, or a person moved the issue).
    pub fn renew_lease(&mut self, id: i64, agent_id: &str, lease_ms: Millis) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE issues SET lease_until = ?3
                 WHERE id = ?1 AND status = 'in_progress' AND claimed_by = ?2",
                params![id, agent_id, now() + lease_ms],
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
            let expired: Vec<Issue> = {
                let mut stmt = tx.prepare(&format!(
                    "SELECT {ISSUE_COLS} FROM issues
                     WHERE status = 'in_progress' AND (lease_until IS NULL OR lease_until < ?1)"
                ))?;
                let rows = stmt.query_map([now()], issue_from_row)?;
                rows.collect::<rusqlite::Result<_>>()?
            };
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
        let mut stmt = self.conn().prepare_cached(
            "SELECT stop_requested_by FROM issues WHERE id = ?1 AND stop_requested_by IS NOT NULL",
        )?;
        for id in ids {
            if let Some(by) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional()? {
                out.push((*id, by));
            }
        }
        Ok(out)
    }

    /// Records the branch, worktree and base an issue's runs use.
    pub fn set_workspace(
        &mut self,
        id: i64,
        branch: &str,
        worktree: &str,
        base: &str,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE issues SET branch = ?2, worktree = ?3, base = ?4, updated_at = ?5 WHERE id = ?1",
                params![id, branch, worktree, base, now()],
            )?;
            events::insert(
                tx,
                "issue.updated",
                Some(id),
                &actor_label(Actor::System, "runner"),
                &json!({ "branch": branch, "worktree": worktree, "base": base }),
            )?;
            Ok(())
        })
    }

    /// One issue.
    pub fn issue(&self, id: i64) -> Result<Issue> {
        self.conn()
            .query_row(
                &format!("SELECT {ISSUE_COLS} FROM issues WHERE id = ?1"),
                [id],
                issue_from_row,
            )
            .optional()?
            .ok_or(StoreError::IssueNotFound(id))
    }

    /// Issues, optionally of one status, in board order (priority, then age).
    pub fn list_issues(&self, status: Option<Status>) -> Result<Vec<Issue>> {
        let sql = format!(
            "SELECT {ISSUE_COLS} FROM issues WHERE (?1 IS NULL OR status = ?1)
             ORDER BY priority DESC, created_at, id"
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map([status.map(Status::as_str)], issue_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One window of a column, for views that show only what fits: issues of `status` whose
    /// title or body contains `filter` (case-insensitive), skipping `offset`.
    pub fn issues_page(
        &self,
        status: Status,
        filter: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Issue>> {
        let sql = format!(
            "SELECT {ISSUE_COLS} FROM issues
             WHERE status = ?1 AND (?2 = '' OR instr(lower(title || ' ' || body || ' #' || id), lower(?2)) > 0)
             ORDER BY priority DESC, created_at, id LIMIT ?3 OFFSET ?4"
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![status.as_str(), filter, limit, offset],
            issue_from_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Issue counts per column, optionally only those matching `filter`.
    pub fn status_counts(&self, filter: &str) -> Result<StatusCounts> {
        // Unfiltered, the counts are the ones the triggers keep (schema v4); filtered, every
        // row is read.
        let mut stmt = if filter.is_empty() {
            self.conn()
                .prepare_cached("SELECT status, n FROM status_counts WHERE ?1 = ''")?
        } else {
            self.conn().prepare_cached(
                "SELECT status, count(*) FROM issues
                 WHERE instr(lower(title || ' ' || body || ' #' || id), lower(?1)) > 0
                 GROUP BY status",
            )?
        };
        let mut counts = StatusCounts::default();
        let rows = stmt.query_map([filter], |r| {
            Ok((parse_col::<Status>(r, 0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (s, n) = row?;
            counts.0[status_index(s)] = n;
        }
        Ok(counts)
    }

    /// An issue's comments, oldest first.
    pub fn comments(&self, id: i64) -> Result<Vec<Comment>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, issue_id, author, author_kind, body, created_at FROM comments
             WHERE issue_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id], comment_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest comment of one author kind (the agent's question on a blocked card).
    pub fn last_comment(&self, id: i64, kind: AuthorKind) -> Result<Option<Comment>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, issue_id, author, author_kind, body, created_at FROM comments
                 WHERE issue_id = ?1 AND author_kind = ?2 ORDER BY id DESC LIMIT 1",
                params![id, kind.as_str()],
                comment_from_row,
            )
            .optional()?)
    }

    /// The newest comment of any kind.
    pub fn latest_comment(&self, id: i64) -> Result<Option<Comment>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, issue_id, author, author_kind, body, created_at FROM comments
                 WHERE issue_id = ?1 ORDER BY id DESC LIMIT 1",
                [id],
                comment_from_row,
            )
            .optional()?)
    }

    /// An issue with its thread and runs.
    pub fn issue_detail(&self, id: i64) -> Result<IssueDetail> {
        Ok(IssueDetail {
            issue: self.issue(id)?,
            comments: self.comments(id)?,
            runs: self.runs(id)?,
        })
    }

    /// Ids this issue waits for that are not done yet.
    pub fn open_dependencies(&self, id: i64) -> Result<Vec<i64>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT d.depends_on FROM issue_deps d JOIN issues x ON x.id = d.depends_on
             WHERE d.issue_id = ?1 AND x.status != 'done' ORDER BY d.depends_on",
        )?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
