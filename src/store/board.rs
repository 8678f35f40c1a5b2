//! The board's reads: issues in board order, one window of a column at a time, and the
//! count of each column.

use rusqlite::params;

use super::issues::{issue_from_row, parse_col, ISSUE_COLS};
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

impl Store {
    /// Issues on the board (not archived), optionally of one status, in board order
    /// (priority, then age).
    pub fn list_issues(&self, status: Option<Status>) -> Result<Vec<Issue>> {
        let sql = format!(
            "SELECT {ISSUE_COLS} FROM issues WHERE (?1 IS NULL OR status = ?1) AND archived_at IS NULL
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
             WHERE status = ?1 AND archived_at IS NULL AND (?2 = '' OR instr(lower(title || ' ' || body || ' #' || id), lower(?2)) > 0)
             ORDER BY priority DESC, created_at, id LIMIT ?3 OFFSET ?4"
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![status.as_str(), filter, limit, offset],
            issue_from_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Issue counts per column (archived issues left out), optionally only those matching
    /// `filter`.
    pub fn status_counts(&self, filter: &str) -> Result<StatusCounts> {
        // Unfiltered, the counts are the ones the triggers keep (schema v4); filtered, every
        // row is read.
        let mut stmt = if filter.is_empty() {
            self.conn()
                .prepare_cached("SELECT status, n FROM status_counts WHERE ?1 = ''")?
        } else {
            self.conn().prepare_cached(
                "SELECT status, count(*) FROM issues
                 WHERE archived_at IS NULL
                   AND instr(lower(title || ' ' || body || ' #' || id), lower(?1)) > 0
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
}
