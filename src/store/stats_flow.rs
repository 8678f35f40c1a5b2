//! Flow times from the event log's `issue.status` rows (and the runs, for first tries): one
//! statement per metric over every issue at once, never a query per issue.

use super::sql::{vals, Backend, Exec, Value};
use super::{Result, Store};
use crate::domain::stats::{Durations, Flow};
use crate::domain::Millis;

/// An event's JSON `data` field `key` as text (`key` is a constant, never input).
fn data_field(backend: Backend, key: &str) -> String {
    match backend {
        Backend::Sqlite => format!("json_extract(data, '$.{key}')"),
        Backend::Postgres => format!("(CAST(data AS jsonb) ->> '{key}')"),
    }
}

/// Status changes, with the column entered and, per issue, when the next change came.
pub(super) fn moves(backend: Backend) -> String {
    format!(
        "moves AS (
    SELECT issue_id, ts, {} AS entered,
           LEAD(ts) OVER (PARTITION BY issue_id ORDER BY id) AS left_at
    FROM events WHERE kind = 'issue.status' AND issue_id IS NOT NULL)",
        data_field(backend, "to")
    )
}

/// Created → first moved to done, for issues first done at or after `?1`.
const LEAD_TIME: &str = "SELECT MIN(m.ts) - i.created_at
    FROM moves m JOIN issues i ON i.id = m.issue_id
    WHERE m.entered = 'done'
    GROUP BY m.issue_id, i.created_at HAVING CAST(?1 AS BIGINT) IS NULL OR MIN(m.ts) >= ?1";

/// First ready (created ready counts) → first in_review after it, first reviewed at or after `?1`.
fn cycle_time(backend: Backend) -> String {
    // The field is read only from `issue.created` rows (PostgreSQL may test the kind second).
    let status = data_field(backend, "status");
    format!(
        "readied AS (
        SELECT issue_id, MIN(ts) AS at FROM (
            SELECT issue_id, ts FROM moves WHERE entered = 'ready'
            UNION ALL
            SELECT issue_id, ts FROM events
            WHERE kind = 'issue.created'
              AND CASE WHEN kind = 'issue.created' THEN {status} END = 'ready') AS starts
        GROUP BY issue_id)
    SELECT MIN(m.ts) - r.at
    FROM readied r JOIN moves m ON m.issue_id = r.issue_id AND m.entered = 'in_review' AND m.ts >= r.at
    GROUP BY r.issue_id, r.at HAVING CAST(?1 AS BIGINT) IS NULL OR MIN(m.ts) >= ?1"
    )
}

/// Each issue's stays in blocked, cut to [`?1`, `?2` = now].
fn blocked(backend: Backend) -> String {
    let (max, min) = match backend {
        Backend::Sqlite => ("max", "min"),
        Backend::Postgres => ("greatest", "least"),
    };
    format!(
        "SELECT CAST(SUM({max}(0, {min}(COALESCE(left_at, ?2), ?2) - {max}(ts, COALESCE(?1, ts)))) AS BIGINT)
    FROM moves
    WHERE entered = 'blocked' AND (CAST(?1 AS BIGINT) IS NULL OR COALESCE(left_at, ?2) > ?1)
    GROUP BY issue_id"
    )
}

/// Issues whose first implement run ended at or after `?1`, and how many of them reached review
/// on that try (see [`Flow::first_try_reviews`]).
const FIRST_TRIES: &str = "impl AS (
        SELECT issue_id, started_at, ended_at, outcome,
               ROW_NUMBER() OVER (PARTITION BY issue_id ORDER BY id) AS n
        FROM runs WHERE role = 'implement'),
    reviewed AS (SELECT issue_id, MIN(ts) AS at FROM moves WHERE entered = 'in_review' GROUP BY issue_id)
    SELECT count(*), count(CASE WHEN f.outcome = 'implemented' AND v.at IS NOT NULL
                                 AND (s.started_at IS NULL OR v.at <= s.started_at) THEN 1 END)
    FROM impl f
    LEFT JOIN impl s ON s.issue_id = f.issue_id AND s.n = 2
    LEFT JOIN reviewed v ON v.issue_id = f.issue_id
    WHERE f.n = 1 AND f.ended_at IS NOT NULL AND (CAST(?1 AS BIGINT) IS NULL OR f.ended_at >= ?1)";

impl Store {
    /// Flow metrics over the window from `since` (all time when `None`) to `now`.
    pub fn flow(&self, since: Option<Millis>, now: Millis) -> Result<Flow> {
        let db = self.db();
        let b = db.backend();
        let moves = moves(b);
        let millis = |sql: String, args: &[Value]| -> Result<Vec<i64>> {
            Ok(db.query_map(&sql, args, |r| r.get::<i64>(0))?)
        };
        let lead = millis(format!("WITH {moves} {LEAD_TIME}"), vals![since])?;
        let cycle = millis(format!("WITH {moves}, {}", cycle_time(b)), vals![since])?;
        let blocked: Vec<i64> = millis(format!("WITH {moves} {}", blocked(b)), vals![since, now])?
            .into_iter()
            .filter(|&ms| ms > 0)
            .collect();
        // A fold from 0.0: an empty `sum` of floats is -0.0.
        let blocked_total_secs = blocked.iter().fold(0.0, |t, &ms| t + ms as f64) / 1000.0;
        let (first_runs, first_try_reviews): (i64, i64) =
            db.query_row(&format!("WITH {moves}, {FIRST_TRIES}"), vals![since], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        Ok(Flow {
            lead_time: Durations::of_millis(lead),
            cycle_time: Durations::of_millis(cycle),
            blocked_time: Durations::of_millis(blocked),
            blocked_total_secs,
            first_runs,
            first_try_reviews,
            success_rate: (first_runs > 0).then(|| first_try_reviews as f64 / first_runs as f64),
        })
    }
}
