//! `stats`' `by_template`: how the implement runs that carried each prompt template went, in
//! one grouped scan. A first run's success is counted as the flow's first tries are (see
//! [`crate::domain::stats::Flow::first_try_reviews`]).

use std::collections::BTreeMap;

use super::spend::total;
use super::sql::{vals, Exec};
use super::stats_flow::moves;
use super::{Result, Store};
use crate::domain::stats::{TemplateStats, TemplateUsage};
use crate::domain::Millis;

/// Per template and model, over implement runs that ended at or after `?1`: runs, first runs,
/// first runs that reached review on that try, cost (reported, else estimated: as `RUN_SPEND`),
/// turns (sum and count), time.
fn by_template() -> String {
    format!(
        "impl AS (
        SELECT id, issue_id, started_at, ended_at, outcome, template, model, turns,
               cost_usd, estimate_usd,
               ROW_NUMBER() OVER (PARTITION BY issue_id ORDER BY id) AS n
        FROM runs WHERE role = 'implement'),
    reviewed AS (SELECT issue_id, MIN(ts) AS at FROM moves WHERE entered = 'in_review' GROUP BY issue_id)
    SELECT COALESCE(f.template, 'none'), COALESCE(f.model, 'unknown'), count(*),
           count(CASE WHEN f.n = 1 THEN 1 END),
           count(CASE WHEN f.n = 1 AND f.outcome = 'implemented' AND v.at IS NOT NULL
                       AND (s.started_at IS NULL OR v.at <= s.started_at) THEN 1 END),
           {}, {}, count(f.turns),
           {}
    FROM impl f
    LEFT JOIN impl s ON s.issue_id = f.issue_id AND s.n = f.n + 1
    LEFT JOIN reviewed v ON v.issue_id = f.issue_id
    WHERE f.ended_at IS NOT NULL AND (CAST(?1 AS BIGINT) IS NULL OR f.ended_at >= ?1)
    GROUP BY 1, 2",
        total("COALESCE(f.cost_usd, f.estimate_usd, 0.0)"),
        total("f.turns"),
        total("f.ended_at - f.started_at"),
    )
}

/// Running sums of one group.
#[derive(Default, Clone, Copy)]
struct Sums {
    runs: i64,
    first_runs: i64,
    first_try_reviews: i64,
    cost: f64,
    turns: f64,
    turned: i64,
    duration_ms: f64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.runs += o.runs;
        self.first_runs += o.first_runs;
        self.first_try_reviews += o.first_try_reviews;
        self.cost += o.cost;
        self.turns += o.turns;
        self.turned += o.turned;
        self.duration_ms += o.duration_ms;
    }

    fn finish(self) -> TemplateUsage {
        let per_run = |v: f64| (self.runs > 0).then(|| v / self.runs as f64);
        TemplateUsage {
            runs: self.runs,
            first_runs: self.first_runs,
            first_try_reviews: self.first_try_reviews,
            success_rate: (self.first_runs > 0)
                .then(|| self.first_try_reviews as f64 / self.first_runs as f64),
            cost_usd: self.cost,
            mean_cost_usd: per_run(self.cost),
            mean_turns: (self.turned > 0).then(|| self.turns / self.turned as f64),
            mean_duration_secs: per_run(self.duration_ms / 1000.0),
        }
    }
}

impl Store {
    /// How implement runs went per template and model, from `since` on (all time: `None`).
    pub(super) fn by_template(
        &self,
        since: Option<Millis>,
    ) -> Result<BTreeMap<String, TemplateStats>> {
        let sql = format!("WITH {}, {}", moves(self.db().backend()), by_template());
        let rows = self.db().query_map(&sql, vals![since], |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                Sums {
                    runs: r.get(2)?,
                    first_runs: r.get(3)?,
                    first_try_reviews: r.get(4)?,
                    cost: r.get(5)?,
                    turns: r.get(6)?,
                    turned: r.get(7)?,
                    duration_ms: r.get(8)?,
                },
            ))
        })?;
        let mut groups: BTreeMap<String, (Sums, BTreeMap<String, Sums>)> = BTreeMap::new();
        for (template, model, sums) in rows {
            let (all, models) = groups.entry(template).or_default();
            all.add(&sums);
            models.entry(model).or_default().add(&sums);
        }
        Ok(groups
            .into_iter()
            .map(|(t, (all, models))| {
                let by_model = models.into_iter().map(|(m, s)| (m, s.finish())).collect();
                (
                    t,
                    TemplateStats {
                        all: all.finish(),
                        by_model,
                    },
                )
            })
            .collect())
    }
}
