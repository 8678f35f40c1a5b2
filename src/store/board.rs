//! The board's reads: issues in board order, one window of a column at a time, and the
//! count of each column.

use super::issues::{issue_from_row, parse_col, ISSUE_COLS};
use super::sql::{vals, Backend, Exec};
use super::{Result, Store};
use crate::domain::{Issue, Status};

/// How many issues each column holds, in [`Status::ALL`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts(pub [i64; Status::ALL.len()]);

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

/// Whether an issue's title, body or `#id` contains the text parameter `param`, ignoring
/// case.
fn matches(backend: Backend, param: &str) -> String {
    let find = match backend {
        Backend::Sqlite => "instr",
        Backend::Postgres => "strpos",
    };
    format!("{find}(lower(title || ' ' || body || ' #' || id), lower({param})) > 0")
}

/// A subquery of one `value` column: the ids in the JSON array `?1` (a list of ids as one
/// parameter, the same on both backends).
pub(super) fn json_ids(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SELECT value FROM json_each(?1)",
        Backend::Postgres => {
            "SELECT CAST(value AS BIGINT) AS value
             FROM jsonb_array_elements_text(CAST(CAST(?1 AS TEXT) AS jsonb))"
        }
    }
}

impl Store {
    /// Issues on the board (not archived), optionally of one status, in board order
    /// (priority, then age).
    pub fn list_issues(&self, status: Option<Status>) -> Result<Vec<Issue>> {
        let sql = format!(
            "SELECT {ISSUE_COLS} FROM issues
             WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1) AND archived_at IS NULL
             ORDER BY priority DESC, created_at, id"
        );
        Ok(self
            .db()
            .query_map(&sql, vals![status.map(Status::as_str)], issue_from_row)?)
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
        let matches = matches(self.db().backend(), "?2");
        let sql = format!(
            "SELECT {ISSUE_COLS} FROM issues
             WHERE status = ?1 AND archived_at IS NULL AND (?2 = '' OR {matches})
             ORDER BY priority DESC, created_at, id LIMIT ?3 OFFSET ?4"
        );
        Ok(self.db().query_map(
            &sql,
            vals![status.as_str(), filter, limit, offset],
            issue_from_row,
        )?)
    }

    /// Issue counts per column (archived issues left out), optionally only those matching
    /// `filter`.
    pub fn status_counts(&self, filter: &str) -> Result<StatusCounts> {
        // Unfiltered, the counts are the ones the triggers keep (schema v4); filtered, every
        // row is read.
        let sql = if filter.is_empty() {
            "SELECT status, n FROM status_counts WHERE ?1 = ''".to_string()
        } else {
            format!(
                "SELECT status, count(*) FROM issues
                 WHERE archived_at IS NULL AND {}
                 GROUP BY status",
                matches(self.db().backend(), "?1")
            )
        };
        let mut counts = StatusCounts::default();
        let rows = self.db().query_map(&sql, vals![filter], |r| {
            Ok((parse_col::<Status>(r, 0)?, r.get::<i64>(1)?))
        })?;
        for (s, n) in rows {
            counts.0[status_index(s)] = n;
        }
        Ok(counts)
    }
}
