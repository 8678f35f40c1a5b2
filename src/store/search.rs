//! Full-text search over titles, bodies, comments and transcripts (SQLite FTS5).
//!
//! The `search_index` table (migration 10) holds one row per title, body, comment and
//! transcript chunk. Triggers keep the issue and comment rows in the transactions that change
//! them; a chunk's row is written here, by [`index_chunk`], in the transaction that stores the
//! chunk, from the chunk's rendered text ([`push_search_text`]), never its raw JSON.

use std::borrow::Cow;

use rusqlite::types::ValueRef;
use rusqlite::{params, ErrorCode, Transaction};
use serde::Serialize;

use super::{Result, Store, StoreError};
use crate::domain::redact::Redactor;
use crate::domain::sanitize::strip_all;
use crate::domain::transcript_text::push_search_text;

/// Marks the start of a match inside a snippet (a private-use character, never shown).
const OPEN: char = '\u{e000}';
/// Marks the end of a match.
const CLOSE: char = '\u{e001}';
/// Longest piece of a snippet kept, in characters (one token may be megabytes long).
const MAX_PART_CHARS: usize = 200;
/// Chunks the migration reads at a time while indexing existing transcripts.
const BACKFILL_BATCH: i64 = 2_000;

/// Where a hit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchSource {
    /// The issue's title.
    Title,
    /// The issue's description.
    Body,
    /// One of its comments.
    Comment,
    /// A run's transcript.
    Transcript,
}

impl SearchSource {
    fn parse(s: &str) -> Self {
        match s {
            "title" => Self::Title,
            "body" => Self::Body,
            "comment" => Self::Comment,
            _ => Self::Transcript,
        }
    }
}

/// One search hit, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    /// The issue it belongs to.
    pub issue_id: i64,
    /// Where in the issue.
    #[serde(rename = "where")]
    pub source: SearchSource,
    /// The run, for a transcript hit.
    pub run_id: Option<i64>,
    /// The text around the match, printable, matches between `[` and `]`.
    pub snippet: String,
    /// The same snippet in pieces, each with whether it is a match (for highlighting).
    #[serde(skip)]
    pub parts: Vec<(String, bool)>,
}

impl Store {
    /// The best `limit` hits of an FTS5 `query` (words, "phrases", prefix*, AND / OR / NOT).
    /// A query FTS5 cannot read is refused as [`StoreError::BadQuery`].
    pub fn search(&self, query: &str, limit: i64) -> Result<Vec<SearchHit>> {
        let bad = |detail: String| StoreError::BadQuery {
            query: strip_all(query).chars().take(200).collect(),
            detail,
        };
        if query.trim().is_empty() {
            return Err(bad("it is empty".into()));
        }
        // The best rows are picked first, then only they get a snippet: a snippet reads its
        // whole row (a transcript chunk holds thousands of lines), and in one statement
        // SQLite computes it for every match before sorting.
        let best = {
            let mut stmt = self.conn().prepare_cached(
                "SELECT rowid FROM search_index WHERE search_index MATCH ?1 ORDER BY rank LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![query, limit.max(0)], |r| r.get::<_, i64>(0));
            rows.and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
                .map_err(|e| match e.sqlite_error_code() {
                    // FTS5 reports every query it cannot parse as a plain SQLITE_ERROR.
                    Some(ErrorCode::Unknown) => bad(e.to_string()),
                    _ => StoreError::Sqlite(e),
                })?
        };
        let rows = if best.is_empty() {
            Vec::new()
        } else if query.contains('*') {
            self.snippets_in_one_scan(query, &best)?
        } else {
            self.snippets_by_rowid(query, &best)?
        };
        Ok(rows
            .into_iter()
            .map(|(source, issue_id, run_id, raw)| {
                let parts = split_snippet(&raw);
                let snippet = parts
                    .iter()
                    .map(|(t, m)| if *m { format!("[{t}]") } else { t.clone() })
                    .collect();
                SearchHit {
                    issue_id,
                    source,
                    run_id: if source == SearchSource::Transcript {
                        run_id
                    } else {
                        None
                    },
                    snippet,
                    parts,
                }
            })
            .collect())
    }
}

/// A hit's columns: where, issue, run, and FTS5's marked snippet.
type RawHit = (SearchSource, i64, Option<i64>, String);

/// Reads a row that starts with [`SNIPPET_COLUMNS`].
fn raw_hit(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawHit> {
    let source: String = r.get(0)?;
    let snippet = match r.get_ref(3)? {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        _ => String::new(),
    };
    Ok((SearchSource::parse(&source), r.get(1)?, r.get(2)?, snippet))
}

/// The columns of a hit, the snippet's matches between the private-use marks.
const SNIPPET_COLUMNS: &str = "source, issue_id, run_id,
    snippet(search_index, 0, char(57344), char(57345), '…', 12)";

impl Store {
    /// The hits of `best` (rowids, best first), each looked up on its own: a plain term seeks
    /// straight to the row.
    fn snippets_by_rowid(&self, query: &str, best: &[i64]) -> Result<Vec<RawHit>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {SNIPPET_COLUMNS} FROM search_index WHERE search_index MATCH ?1 AND rowid = ?2"
        ))?;
        let mut rows = Vec::with_capacity(best.len());
        for rowid in best {
            rows.push(stmt.query_row(params![query, rowid], raw_hit)?);
        }
        Ok(rows)
    }

    /// The hits of `best` (rowids, best first) from one pass over the matches. A prefix term
    /// is expanded into every word it starts once per statement: looked up row by row, that
    /// expansion was repeated for each hit (5× the whole query's time on a large index). The
    /// rowid filter is kept away from FTS5 (`+rowid`), so the matches are scanned once and
    /// only the best rows get a snippet.
    fn snippets_in_one_scan(&self, query: &str, best: &[i64]) -> Result<Vec<RawHit>> {
        let wanted = serde_json::to_string(best).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {SNIPPET_COLUMNS}, rowid FROM search_index WHERE search_index MATCH ?1
             AND +rowid IN (SELECT value FROM json_each(?2))"
        ))?;
        let mut found = std::collections::HashMap::with_capacity(best.len());
        let mut rows = stmt.query(params![query, wanted])?;
        while let Some(r) = rows.next()? {
            found.insert(r.get::<_, i64>(4)?, raw_hit(r)?);
        }
        Ok(best.iter().filter_map(|id| found.remove(id)).collect())
    }
}

/// Splits FTS5's marked snippet into printable one-line pieces, each capped in length.
fn split_snippet(raw: &str) -> Vec<(String, bool)> {
    let mut parts = Vec::new();
    let mut matched = false;
    for piece in raw.split([OPEN, CLOSE]) {
        let flat = strip_all(piece).replace('\n', " ");
        if !flat.is_empty() {
            let mut text: String = flat.chars().take(MAX_PART_CHARS).collect();
            if text.len() < flat.len() {
                text.push('…');
            }
            parts.push((text, matched));
        }
        matched = !matched;
    }
    parts
}

/// The searchable, redacted text of a stored chunk (lines joined by `\n`): `rendered` when the
/// caller rendered it already ([`super::TranscriptBatch::with_search_text`]), else from `data`.
/// Redacted either way: the index never trusts its writer with secrets.
pub(super) fn chunk_text<'a>(
    red: &Redactor,
    data: &[u8],
    rendered: Option<&'a str>,
) -> Cow<'a, str> {
    if let Some(text) = rendered {
        return red.text(text);
    }
    let mut text = String::new();
    for line in data.split(|b| *b == b'\n') {
        push_search_text(line, &mut text);
    }
    Cow::Owned(red.text(&text).into_owned())
}

/// Indexes a transcript chunk of `run_id` (issue `issue_id`): its id, stored bytes, and the
/// text rendered from them if the caller has it.
pub(super) fn index_chunk(
    tx: &Transaction<'_>,
    red: &Redactor,
    (chunk_id, data, rendered): (i64, &[u8], Option<&str>),
    issue_id: i64,
    run_id: i64,
) -> Result<()> {
    let text = chunk_text(red, data, rendered);
    if text.is_empty() {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO search_index (rowid, text, source, issue_id, run_id)
         VALUES (?1, ?2, 'transcript', ?3, ?4)",
    )?
    .execute(params![chunk_id * 4 + 3, text.as_ref(), issue_id, run_id])?;
    Ok(())
}

/// Indexes every transcript chunk already stored: the Rust half of migration 10, run in its
/// transaction.
pub(super) fn backfill(tx: &Transaction<'_>, red: &Redactor) -> Result<()> {
    let mut after = 0_i64;
    loop {
        let chunks: Vec<(i64, i64, i64, Vec<u8>)> = {
            let mut stmt = tx.prepare_cached(
                "SELECT t.id, r.issue_id, t.run_id, t.data FROM transcript_chunks t
                 JOIN runs r ON r.id = t.run_id WHERE t.id > ?1 ORDER BY t.id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after, BACKFILL_BATCH], |r| {
                let data = match r.get_ref(3)? {
                    ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
                    _ => Vec::new(),
                };
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, data))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let Some(last) = chunks.last() else {
            return Ok(());
        };
        after = last.0;
        for (id, issue_id, run_id, data) in &chunks {
            index_chunk(tx, red, (*id, data, None), *issue_id, *run_id)?;
        }
    }
}
