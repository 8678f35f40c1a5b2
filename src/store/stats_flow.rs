//! Flow times from the event log's `issue.status` rows (and the runs, for first tries): one
//! statement per metric over every issue at once, never a query per issue.

use rusqlite::params;

use super::{Result, Store};
use crate::domain::stats::{Durations, Flow};
use crate::domain::Millis;

/// Status changes, with the column entered and, per issue, when the next change came.
pub(super) const MOVES: &str = "moves AS (
    SELECT issue_id, ts, json_extract(data, '$.to') AS entered,
           LEAD(ts) OVER (PARTITION BY issue_id ORDER BY id) AS left_at
    FROM events WHERE kind = 'issue.status' AND issue_id IS NOT NULL)";

/// Created → first moved to done, for issues first done at or after `?1`.
const LEAD_TIME: &str = "SELECT MIN(m.ts) - i.created_at
    FROM moves m JOIN issues i ON i.id = m.issue_id
    WHERE m.entered = 'done'
    GROUP BY m.issue_id HAVING ?1 IS NULL OR MIN(m.ts) >= ?1";

/// First ready (created ready counts) → first in_review after it, first reviewed at or after `?1`.
const CYCLE_TIME: &str = "readied AS (
        SELECT issue_id, MIN(ts) AS at FROM (
            SELECT issue_id, ts FROM moves WHERE entered = 'ready'
            UNION ALL
            SELECT issue_id, ts FROM events
            WHERE kind = 'issue.created' AND json_extract(data, '$.status') = 'ready')
        GROUP BY issue_id)
    SELECT MIN(m.ts) - r.at
    FROM readied r JOIN moves m ON m.issue_id = r.issue_id AND m.entered = 'in_review' AND m.ts >= r.at
    GROUP BY r.issue_id HAVING ?1 IS NULL OR MIN(m.ts) >= ?1";

/// Each issue's stays in blocked, cut to [`?1`, `?2` = now].
const BLOCKED: &str =
    "SELECT SUM(MAX(0, MIN(COALESCE(left_at, ?2), ?2) - MAX(ts, COALESCE(?1, ts))))
    FROM moves
    WHERE entered = 'blocked' AND (?1 IS NULL OR COALESCE(left_at, ?2) > ?1)
    GROUP BY issue_id";

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
    WHERE f.n = 1 AND f.ended_at IS NOT NULL AND (?1 IS NULL OR f.ended_at >= ?1)";

impl Store {
    /// Flow metrics over the window from `since` (all time when `None`) to `now`.
    pub fn flow(&self, since: Option<Millis>, now: Millis) -> Result<Flow> {
        let millis = |sql: String, args: &[&dyn rusqlite::ToSql]| -> Result<Vec<i64>> {
            let mut stmt = self.conn().prepare_cached(&sql)?;
            let rows = stmt.query_map(args, |r| r.get::<_, i64>(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        let lead = millis(format!("WITH {MOVES} {LEAD_TIME}"), &[&since])?;
        let cycle = millis(format!("WITH {MOVES}, {CYCLE_TIME}"), &[&since])?;
        let blocked: Vec<i64> = millis(format!("WITH {MOVES} {BLOCKED}"), &[&since, &now])?
            .into_iter()
            .filter(|&ms| ms > 0)
            .collect();
        // A fold from 0.0: an empty `sum` of floats is -0.0.
        let blocked_total_secs = blocked.iter().fold(0.0, |t, &ms| t + ms as f64) / 1000.0;
        let (first_runs, first_try_reviews): (i64, i64) = self.conn().query_row(
            &format!("WITH {MOVES}, {FIRST_TRIES}"),
            params![since],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
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
