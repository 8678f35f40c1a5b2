//! Structured questions: the fields a blocked issue asks for, the answer that fills them, and
//! the secret values waiting for the next claim (which deletes them in its transaction).

use std::sync::Arc;

use super::comments::insert_comment;
use super::issues::{get, set_status};
use super::sql::{vals, Conn, Exec};
use super::{Result, Store, StoreError};
use crate::domain::needs::{self, Need, Secrets};
use crate::domain::{Actor, AuthorKind, Comment, Issue, Status};

/// Replaces the fields an issue's question asks for (none: the row goes).
pub(super) fn set(tx: &impl Exec, issue_id: i64, fields: &[Need]) -> Result<()> {
    tx.execute("DELETE FROM needs WHERE issue_id = ?1", vals![issue_id])?;
    if !fields.is_empty() {
        let json = serde_json::to_string(fields)
            .map_err(|e| StoreError::Invalid(format!("cannot store the fields: {e}")))?;
        tx.execute(
            "INSERT INTO needs (issue_id, fields) VALUES (?1, ?2)",
            vals![issue_id, json],
        )?;
    }
    Ok(())
}

/// Takes the secret answers waiting for `issue_id`: they are deleted in the caller's
/// transaction (the claim), so they reach exactly one claim.
pub(super) fn take_secrets(tx: &impl Exec, issue_id: i64) -> Result<Secrets> {
    let mut out: Vec<(String, String)> = tx.query_map(
        "DELETE FROM pending_secrets WHERE issue_id = ?1 RETURNING name, value",
        vals![issue_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    out.sort();
    Ok(Secrets(out))
}

/// Empties the write-ahead log after secrets were taken: its frames still hold the pages that
/// stored them (`secure_delete` zeroes only the database's own pages), and it would keep them
/// on disk until a checkpoint happened to overwrite that part of the file. Best effort: a
/// reader in the middle of a long transaction leaves the log to the next checkpoint.
/// SQLite only: a PostgreSQL server's own log is its administrator's to manage.
pub(super) fn scrub_wal(db: &Conn) {
    if let Some(c) = db.sqlite() {
        let _ = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

fn read(conn: &impl Exec, issue_id: i64) -> Result<Vec<Need>> {
    let json: Option<String> = conn.query_opt(
        "SELECT fields FROM needs WHERE issue_id = ?1",
        vals![issue_id],
        |r| r.get(0),
    )?;
    // A row this version cannot read asks for nothing it can show.
    Ok(json
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default())
}

/// The thread's record of an answer: ordinary values as a list, secrets only as provided.
pub fn answer_comment(fields: &[Need], answers: &[(String, String)]) -> String {
    let mut body = String::from("Answers to the agent's fields:");
    for need in fields {
        let Some((_, value)) = answers.iter().find(|(n, _)| *n == need.name) else {
            continue;
        };
        if need.secret {
            body.push_str(&format!(
                "\n- {}: provided (secret: set in the next run's environment as ${}, stored nowhere else)",
                need.name, need.name
            ));
        } else {
            body.push_str(&format!(
                "\n- {}: {}",
                need.name,
                value.replace('\n', "\n  ")
            ));
        }
    }
    body
}

impl Store {
    /// The fields a blocked issue's question asks for (none when it asked for none).
    pub fn needs(&self, issue_id: i64) -> Result<Vec<Need>> {
        read(self.db(), issue_id)
    }

    /// Answers a blocked issue's fields: ordinary values become `author`'s comment, secrets
    /// wait for the next claim (the comment says only that they were provided), and the issue
    /// goes back to ready, all in one transaction. Every field must be given, and nothing
    /// else; any error changes nothing.
    pub fn answer(
        &mut self,
        issue_id: i64,
        author: &str,
        answers: &[(String, String)],
    ) -> Result<(Comment, Issue)> {
        let red = Arc::clone(&self.redactor);
        self.write(|tx| {
            let issue = get(tx, issue_id)?;
            if issue.status != Status::Blocked {
                return Err(StoreError::Invalid(format!(
                    "issue #{issue_id} is {}, not blocked: only a blocked issue's question can be answered",
                    issue.status
                )));
            }
            let fields = read(tx, issue_id)?;
            check(issue_id, &fields, answers)?;
            for need in fields.iter().filter(|n| n.secret) {
                if let Some((_, value)) = answers.iter().find(|(n, _)| *n == need.name) {
                    tx.execute(
                        "INSERT INTO pending_secrets (issue_id, name, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT (issue_id, name) DO UPDATE SET value = excluded.value",
                        vals![issue_id, &need.name, value],
                    )?;
                }
            }
            let comment = insert_comment(
                tx,
                &red,
                issue_id,
                author,
                AuthorKind::Human,
                &answer_comment(&fields, answers),
            )?;
            set(tx, issue_id, &[])?;
            set_status(tx, &issue, Status::Ready, Actor::Human, author)?;
            Ok((comment, get(tx, issue_id)?))
        })
    }

    /// Names of the secrets waiting for an issue's next claim (never their values).
    pub fn pending_secret_names(&self, issue_id: i64) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.db().query_map(
            "SELECT name FROM pending_secrets WHERE issue_id = ?1",
            vals![issue_id],
            |r| r.get(0),
        )?;
        // Sorted here: text order in SQL depends on the database's collation.
        names.sort();
        Ok(names)
    }
}

/// Whether `answers` fills `fields` exactly: each one once, none unknown, none missing.
fn check(issue_id: i64, fields: &[Need], answers: &[(String, String)]) -> Result<()> {
    let names = || {
        fields
            .iter()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if fields.is_empty() {
        return Err(StoreError::Invalid(format!(
            "issue #{issue_id}'s question asks for no fields: answer it with a comment"
        )));
    }
    for (i, (name, value)) in answers.iter().enumerate() {
        if !fields.iter().any(|n| n.name == *name) {
            return Err(StoreError::Invalid(format!(
                "issue #{issue_id} asks for no field {:?}; its fields are {}",
                crate::domain::sanitize::one_line(name),
                names()
            )));
        }
        if answers[..i].iter().any(|(n, _)| n == name) {
            return Err(StoreError::Invalid(format!("{name} is given twice")));
        }
        needs::check_value(name, value).map_err(StoreError::Invalid)?;
    }
    let missing: Vec<&str> = fields
        .iter()
        .filter(|n| !answers.iter().any(|(a, _)| *a == n.name))
        .map(|n| n.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(StoreError::Invalid(format!(
            "issue #{issue_id} also needs {} (every field must be given)",
            missing.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
#[path = "needs_tests.rs"]
mod tests;
