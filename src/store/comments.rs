//! Comments: the thread of an issue, the answers that unblock it and the agent's last
//! question on a blocked card.

use std::collections::HashMap;
use std::sync::Arc;

use super::issues::{get, parse_col, set_status};
use super::sql::{vals, Exec, Row, SqlError};
use super::{events, now, Result, Store, StoreError};
use crate::domain::redact::Redactor;
use crate::domain::{transition, Actor, ActorId, AuthorKind, Comment, EventKind, Issue, Status};

/// The comment columns every query reads, in the order [`comment_from_row`] expects.
const COMMENT_COLS: &str = "id, issue_id, author, author_kind, body, created_at";

fn comment_from_row(r: &Row) -> Result<Comment, SqlError> {
    Ok(Comment {
        id: r.get(0)?,
        issue_id: r.get(1)?,
        author: r.get(2)?,
        author_kind: parse_col(r, 3)?,
        body: r.get(4)?,
        created_at: r.get(5)?,
    })
}

/// Adds a comment inside a transaction, with its event. Every comment — a person's, an
/// agent's answer or question, a system note with an error or stderr — comes through here, and
/// its body is redacted here.
pub(super) fn insert_comment(
    tx: &impl Exec,
    redactor: &Redactor,
    issue_id: i64,
    author: &str,
    kind: AuthorKind,
    body: &str,
) -> Result<Comment> {
    let body = &*redactor.text(body);
    let ts = now();
    let id: i64 = tx.query_row(
        "INSERT INTO comments (issue_id, author, author_kind, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         RETURNING id",
        vals![issue_id, author, kind.as_str(), body, ts],
        |r| r.get(0),
    )?;
    let event = EventKind::CommentAdded {
        comment_id: id,
        author_kind: kind,
    };
    let by = ActorId::new(Actor::from(kind), author);
    events::insert(tx, Some(issue_id), &by, &event)?;
    Ok(Comment {
        id,
        issue_id,
        author: author.to_string(),
        author_kind: kind,
        body: body.to_string(),
        created_at: ts,
    })
}

impl Store {
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
            let issue = get(tx, id)?;
            let comment = insert_comment(tx, &red, id, author, kind, body)?;
            if kind == AuthorKind::Human && issue.status == Status::Blocked {
                set_status(tx, &issue, Status::Ready, Actor::Human, author)?;
            }
            Ok((comment, get(tx, id)?))
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
            let issue = get(tx, id)?;
            transition(issue.status, Status::Ready, Actor::Human)?;
            if issue.status != Status::InReview {
                return Err(StoreError::Invalid(format!(
                    "issue #{id} is {}, not in_review: only work in review can get a change request",
                    issue.status
                )));
            }
            insert_comment(tx, &red, id, author, AuthorKind::Human, body)?;
            set_status(tx, &issue, Status::Ready, Actor::Human, author)?;
            get(tx, id)
        })
    }

    /// Accepts an issue in review: the system comment saying what was merged (by `author`)
    /// and the move to done (by the person `by`) commit together. Refused, changing nothing,
    /// unless the issue is in review: another process may have accepted or moved it.
    pub fn complete_review(
        &mut self,
        id: i64,
        by: &str,
        author: &str,
        note: &str,
    ) -> Result<Issue> {
        let red = Arc::clone(&self.redactor);
        self.write(|tx| {
            let issue = get(tx, id)?;
            if issue.status != Status::InReview {
                return Err(StoreError::Invalid(format!(
                    "issue #{id} is {}, not in_review (it was moved meanwhile)",
                    issue.status
                )));
            }
            insert_comment(tx, &red, id, author, AuthorKind::System, note)?;
            set_status(tx, &issue, Status::Done, Actor::Human, by)?;
            super::subtasks::after_done(tx, &red, &issue)?;
            get(tx, id)
        })
    }

    /// An issue's comments, oldest first.
    pub fn comments(&self, id: i64) -> Result<Vec<Comment>> {
        Ok(self.db().query_map(
            &format!("SELECT {COMMENT_COLS} FROM comments WHERE issue_id = ?1 ORDER BY id"),
            vals![id],
            comment_from_row,
        )?)
    }

    /// The newest comment of one author kind (the agent's question on a blocked card), or of
    /// any kind.
    fn newest_comment(&self, id: i64, kind: Option<AuthorKind>) -> Result<Option<Comment>> {
        let kind = kind.map(AuthorKind::as_str);
        Ok(self.db().query_opt(
            &format!(
                "SELECT {COMMENT_COLS} FROM comments
                 WHERE issue_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR author_kind = ?2)
                 ORDER BY id DESC LIMIT 1"
            ),
            vals![id, kind],
            comment_from_row,
        )?)
    }

    /// The newest comment of one author kind (the agent's question on a blocked card).
    pub fn last_comment(&self, id: i64, kind: AuthorKind) -> Result<Option<Comment>> {
        self.newest_comment(id, Some(kind))
    }

    /// The newest comment of any kind.
    pub fn latest_comment(&self, id: i64) -> Result<Option<Comment>> {
        self.newest_comment(id, None)
    }

    /// [`Store::last_comment`] for many issues in one query (the blocked cards of a board
    /// window, the whole inbox), by issue id; issues without such a comment are absent.
    pub fn last_comments(&self, ids: &[i64], kind: AuthorKind) -> Result<HashMap<i64, Comment>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // One statement; each issue's newest comment is found walking its index backwards, as
        // `last_comment` does (a `max(id) ... GROUP BY` reads every comment of every issue and
        // took twice as long at ten comments per issue).
        let ids_of = super::board::json_ids(self.db().backend());
        let ids = serde_json::to_string(ids)?;
        let rows = self.db().query_map(
            &format!(
                "SELECT {COMMENT_COLS} FROM comments WHERE id IN (
                     SELECT (SELECT c.id FROM comments c
                             WHERE c.issue_id = j.value AND c.author_kind = ?2
                             ORDER BY c.id DESC LIMIT 1)
                     FROM ({ids_of}) AS j)"
            ),
            vals![ids, kind.as_str()],
            comment_from_row,
        )?;
        Ok(rows.into_iter().map(|c| (c.issue_id, c)).collect())
    }
}
