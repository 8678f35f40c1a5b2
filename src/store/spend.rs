//! What has been spent: the sums budgets are checked against. A finished run counts with the
//! cost its agent reported, a running one with its live estimate, so a cap holds while work is
//! still going on.

use std::collections::HashMap;

use super::sql::{vals, Backend, Exec};
use super::{Result, Store};
use crate::domain::Millis;

/// A run's spend: the reported cost, else the live estimate.
pub(super) const RUN_SPEND: &str = "COALESCE(cost_usd, estimate_usd, 0.0)";

/// When a run's spend counts: when it ended (the cost is reported then), else when it started.
pub(super) const RUN_WHEN: &str = "COALESCE(ended_at, started_at)";

/// SQLite's `TOTAL(x)` on both backends: a float sum, 0.0 over no rows (PostgreSQL's `sum`
/// of a BIGINT is NUMERIC, which the portable layer does not read).
pub(super) fn total(x: &str) -> String {
    format!("coalesce(sum(CAST({x} AS DOUBLE PRECISION)), 0.0)")
}

/// A subquery of the ids in the JSON array `?1` (one statement, cached, for any number of ids).
pub(super) fn json_ids(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SELECT value FROM json_each(?1)",
        Backend::Postgres => {
            "SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST(CAST(?1 AS TEXT) AS jsonb))"
        }
    }
}

/// [`Store::spend_since`] on any connection or transaction (a claim checks it in its own).
pub(super) fn spend_since_in(conn: &impl Exec, since: Millis) -> Result<f64> {
    let sql = format!(
        "SELECT {} FROM runs WHERE {RUN_WHEN} >= ?1",
        total(RUN_SPEND)
    );
    Ok(conn.query_row(&sql, vals![since], |r| r.get(0))?)
}

/// [`Store::issue_spend`] on any connection or transaction.
pub(super) fn issue_spend_in(conn: &impl Exec, issue_id: i64) -> Result<f64> {
    let sql = format!("SELECT {} FROM runs WHERE issue_id = ?1", total(RUN_SPEND));
    Ok(conn.query_row(&sql, vals![issue_id], |r| r.get(0))?)
}

impl Store {
    /// The spend of every run that ended (or, still running, started) at or after `since`.
    pub fn spend_since(&self, since: Millis) -> Result<f64> {
        spend_since_in(self.db(), since)
    }

    /// Everything one issue's runs have cost so far, running ones by their estimate.
    pub fn issue_spend(&self, issue_id: i64) -> Result<f64> {
        issue_spend_in(self.db(), issue_id)
    }

    /// What each of `issue_ids` has cost so far (running runs by their estimate), in one query;
    /// issues without a run are left out.
    pub fn issue_spends(&self, issue_ids: &[i64]) -> Result<HashMap<i64, f64>> {
        if issue_ids.is_empty() {
            return Ok(HashMap::new());
        }
        // One constant statement (cached), the ids as a JSON array.
        let sql = format!(
            "SELECT issue_id, {} FROM runs WHERE issue_id IN ({}) GROUP BY issue_id",
            total(RUN_SPEND),
            json_ids(self.db().backend())
        );
        let ids = serde_json::to_string(issue_ids)?;
        let rows = self
            .db()
            .query_map(&sql, vals![ids], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.into_iter().collect())
    }

    /// Records a running run's live cost estimate; a run that has ended keeps its reported cost.
    pub fn set_run_estimate(&mut self, run_id: i64, usd: f64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET estimate_usd = ?2 WHERE id = ?1 AND ended_at IS NULL",
                vals![run_id, usd],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{NewIssue, RunEnd, Store};
    use crate::domain::now_millis;

    #[test]
    fn spend_counts_reported_costs_and_running_estimates() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("autopilot.db")).unwrap();
        let new = NewIssue {
            title: "t".into(),
            ready: true,
            ..NewIssue::default()
        };
        let id = store.create_issue(&new, "me").unwrap().id;
        let other = store.create_issue(&new, "me").unwrap().id;
        store.claim_next("a-1", 60_000).unwrap().unwrap();
        let before = now_millis();
        let done = store.start_run(id, "a-1", 0, "host").unwrap();
        store.set_run_estimate(done, 0.10).unwrap();
        let end = RunEnd {
            cost_usd: Some(0.25),
            ..RunEnd::default()
        };
        store.finish_run(done, "a-1", &end).unwrap();
        // An estimate that arrives after the end does not replace the reported cost.
        store.set_run_estimate(done, 9.0).unwrap();
        let running = store.start_run(id, "a-1", 0, "host").unwrap();
        assert_eq!(store.issue_spend(id).unwrap(), 0.25);
        store.set_run_estimate(running, 0.5).unwrap();
        assert_eq!(store.issue_spend(id).unwrap(), 0.75);
        assert_eq!(store.issue_spend(other).unwrap(), 0.0);
        let spends = store.issue_spends(&[id, other, 999]).unwrap();
        assert_eq!(spends.get(&id), Some(&0.75));
        assert_eq!(spends.len(), 1, "issues without runs are left out");
        assert!(store.issue_spends(&[]).unwrap().is_empty());
        assert_eq!(store.spend_since(before).unwrap(), 0.75);
        assert_eq!(store.spend_since(now_millis() + 60_000).unwrap(), 0.0);
    }
}
