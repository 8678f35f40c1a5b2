//! Learnings in the store: the lessons runs stated, each written with an event row in one
//! transaction, redacted and capped on every write, and found again by an issue's words
//! (SQLite: the `learnings_index` FTS5 table of migration 20, kept by triggers; PostgreSQL:
//! the generated `learnings.tsv` column and its GIN index).

use super::sql::{vals, Backend, Exec, Row, SqlError};
use super::{events, now, Result, Store, StoreError};
use crate::domain::learning::{cap, normalize, Learning};
use crate::domain::redact::Redactor;
use crate::domain::{ActorId, EventKind};

/// Most words of an issue's title and body a relevance query looks for.
const MAX_QUERY_WORDS: usize = 64;
/// Words too common to say what an issue is about.
const STOP_WORDS: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "from", "are", "was", "not", "but", "have", "has",
    "its", "into", "when", "then", "than", "should", "would", "could", "can", "will", "all", "any",
    "our", "you", "your", "they", "them", "their", "there", "what", "which", "who", "how", "why",
    "also", "only", "some", "more", "most", "other", "such", "each", "does", "did", "been",
    "being", "were", "out", "use", "one", "two", "new", "add", "make", "get", "set",
];

/// The lesson as stored: one printable line, secrets redacted, capped; `None` when nothing
/// is left.
fn prepare(red: &Redactor, text: &str) -> Option<String> {
    let line = normalize(text);
    let stored = cap(red.text(&line).trim());
    (!stored.is_empty()).then_some(stored)
}

fn learning(r: &Row) -> Result<Learning, SqlError> {
    Ok(Learning {
        id: r.get(0)?,
        text: r.get(1)?,
        issue_id: r.get(2)?,
        run_id: r.get(3)?,
        created_at: r.get(4)?,
    })
}

const COLUMNS: &str = "l.id, l.text, l.issue_id, l.run_id, l.created_at";

/// The FTS5 query of an issue's words: each alphanumeric word of three letters or more
/// (no stop words, no repeats, at most [`MAX_QUERY_WORDS`]) quoted as a string, so no word is
/// ever read as FTS5 syntax, joined by `OR`. `None` when no word is left.
pub(crate) fn relevance_query(title: &str, body: &str) -> Option<String> {
    let quoted: Vec<String> = query_words(title, body)
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(" OR "))
}

/// PostgreSQL's `tsquery` of the same words as [`relevance_query`]: each one a quoted lexeme
/// (`'` doubled, `\` escaped), so no word is ever read as query syntax, joined by `|`.
pub(crate) fn relevance_tsquery(title: &str, body: &str) -> Option<String> {
    let quoted: Vec<String> = query_words(title, body)
        .iter()
        .map(|w| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''")))
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(" | "))
}

/// The words an issue is about: alphanumeric, three letters or more, lower case, no stop
/// words, no repeats, at most [`MAX_QUERY_WORDS`].
fn query_words(title: &str, body: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let text = format!("{title}\n{body}");
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let word = word.to_lowercase();
        if word.chars().count() < 3 || STOP_WORDS.contains(&word.as_str()) || words.contains(&word)
        {
            continue;
        }
        words.push(word);
        if words.len() == MAX_QUERY_WORDS {
            break;
        }
    }
    words
}

impl Store {
    /// Stores the lessons run `run_id` of issue `issue_id` stated (see
    /// [`crate::domain::learning::parse`]), one event row each, in one transaction. A lesson
    /// already stored word for word is not stored again. Returns the new ids.
    pub fn add_learnings(
        &mut self,
        issue_id: i64,
        run_id: i64,
        agent_id: &str,
        lessons: &[String],
    ) -> Result<Vec<i64>> {
        let red = std::sync::Arc::clone(&self.redactor);
        let texts: Vec<String> = lessons.iter().filter_map(|t| prepare(&red, t)).collect();
        let by = ActorId::agent(agent_id);
        self.write(|tx| {
            let mut ids = Vec::new();
            for text in &texts {
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM learnings WHERE text = ?1)",
                    vals![text],
                    |r| r.get(0),
                )?;
                if exists {
                    continue;
                }
                let id: i64 = tx.query_row(
                    "INSERT INTO learnings (text, issue_id, run_id, created_at) VALUES (?1, ?2, ?3, ?4)
                     RETURNING id",
                    vals![text, issue_id, run_id, now()],
                    |r| r.get(0),
                )?;
                let kind = EventKind::LearningAdded {
                    learning_id: id,
                    run_id: Some(run_id),
                };
                events::insert(tx, Some(issue_id), &by, &kind)?;
                ids.push(id);
            }
            Ok(ids)
        })
    }

    /// Every learning, oldest first.
    pub fn learnings(&self) -> Result<Vec<Learning>> {
        Ok(self.db().query_map(
            &format!("SELECT {COLUMNS} FROM learnings l ORDER BY l.id"),
            &[],
            learning,
        )?)
    }

    /// One learning.
    pub fn learning(&self, id: i64) -> Result<Learning> {
        self.db()
            .query_opt(
                &format!("SELECT {COLUMNS} FROM learnings l WHERE l.id = ?1"),
                vals![id],
                learning,
            )?
            .ok_or_else(|| not_found(id))
    }

    /// Replaces a learning's text (made one line, redacted and capped as a run's would be).
    pub fn edit_learning(&mut self, id: i64, text: &str, who: &str) -> Result<Learning> {
        let red = std::sync::Arc::clone(&self.redactor);
        let text = prepare(&red, text).ok_or_else(|| {
            StoreError::Invalid(format!(
                "a learning needs some text; to delete #{id}, use `autopilot-tui learnings rm {id}` (nothing was changed)"
            ))
        })?;
        let by = ActorId::human(who);
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE learnings SET text = ?2 WHERE id = ?1",
                vals![id, &text],
            )?;
            if n == 0 {
                return Err(not_found(id));
            }
            events::insert(
                tx,
                None,
                &by,
                &EventKind::LearningEdited { learning_id: id },
            )?;
            Ok(())
        })?;
        self.learning(id)
    }

    /// Deletes a learning; later prompts no longer carry it.
    pub fn remove_learning(&mut self, id: i64, who: &str) -> Result<()> {
        let by = ActorId::human(who);
        self.write(|tx| {
            if tx.execute("DELETE FROM learnings WHERE id = ?1", vals![id])? == 0 {
                return Err(not_found(id));
            }
            events::insert(
                tx,
                None,
                &by,
                &EventKind::LearningRemoved { learning_id: id },
            )?;
            Ok(())
        })
    }

    /// The learnings that match the words of an issue's `title` and `body` best (SQLite: FTS5's
    /// rank; PostgreSQL: `ts_rank`, ties oldest first),
    /// at most `limit`, leaving out those stated on issue `except` (its own runs: the agent
    /// has its thread and session already).
    pub fn relevant_learnings(
        &self,
        title: &str,
        body: &str,
        except: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Learning>> {
        let db = self.db();
        let (query, sql) = match db.backend() {
            Backend::Sqlite => (
                relevance_query(title, body),
                format!(
                    "SELECT {COLUMNS} FROM learnings_index JOIN learnings l ON l.id = learnings_index.rowid
                     WHERE learnings_index MATCH ?1 AND (?2 IS NULL OR l.issue_id IS NOT ?2)
                     ORDER BY rank LIMIT ?3"
                ),
            ),
            Backend::Postgres => (
                relevance_tsquery(title, body),
                format!(
                    "SELECT {COLUMNS} FROM learnings l, to_tsquery('simple', ?1) q
                     WHERE l.tsv @@ q
                       AND (CAST(?2 AS BIGINT) IS NULL OR l.issue_id IS DISTINCT FROM ?2)
                     ORDER BY ts_rank(l.tsv, q) DESC, l.id LIMIT ?3"
                ),
            ),
        };
        let Some(query) = query else {
            return Ok(Vec::new());
        };
        Ok(db.query_map(&sql, vals![query, except, limit.max(0)], learning)?)
    }
}

fn not_found(id: i64) -> StoreError {
    StoreError::Invalid(format!(
        "no learning #{id}; `autopilot-tui learnings` lists them (nothing was changed)"
    ))
}

#[cfg(test)]
#[path = "learnings_tests.rs"]
mod tests;
