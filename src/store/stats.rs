//! The `stats` report: spend and tokens summed over runs, grouped in SQL (one scan for every
//! grouping, one for days, one for the costliest issues); flow times are in `stats_flow.rs`.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::issues::parse_col;
use super::spend::{total, RUN_SPEND, RUN_WHEN};
use super::sql::{vals, Exec};
use super::{Result, Store};
use crate::domain::clock;
use crate::domain::stats::{DaySpend, IssueSpend, Stats, Usage};
use crate::domain::Millis;

/// A run's four token counts summed, 0 over no rows (BIGINT on both backends).
const TOKEN_SUMS: &str = "CAST(COALESCE(SUM(r.input_tokens), 0) AS BIGINT),
    CAST(COALESCE(SUM(r.output_tokens), 0) AS BIGINT),
    CAST(COALESCE(SUM(r.cache_read_tokens), 0) AS BIGINT),
    CAST(COALESCE(SUM(r.cache_write_tokens), 0) AS BIGINT)";

/// What to add up.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    /// Count only runs (and flow) from the start of this local day on; `None`: all time.
    pub since: Option<Date>,
    /// The time zone of days (`clock::local_zone()` outside tests).
    pub tz: TimeZone,
    /// The present: today's spend, and blocked stays not yet over, end here.
    pub now: Millis,
    /// How many of the most expensive issues to list.
    pub top_issues: usize,
}

impl StatsQuery {
    /// All time, in the local zone, now, with the ten most expensive issues.
    pub fn all_time() -> StatsQuery {
        StatsQuery {
            since: None,
            tz: clock::local_zone(),
            now: crate::domain::now_millis(),
            top_issues: 10,
        }
    }

    /// The first millisecond counted; a day the zone cannot place counts as far past or future.
    fn since_ms(&self) -> Option<Millis> {
        let day = self.since?;
        Some(clock::day_start(day, &self.tz).unwrap_or_else(|| {
            let past = clock::day_of(self.now, &self.tz).is_some_and(|today| day < today);
            if past {
                Millis::MIN
            } else {
                Millis::MAX
            }
        }))
    }
}

/// Running sums of one group, before the means are taken.
#[derive(Default)]
struct Sums {
    usage: Usage,
    ended: i64,
    duration_ms: f64,
}

impl Sums {
    fn add(&mut self, row: &GroupRow) {
        let u = &mut self.usage;
        u.runs += row.runs;
        u.cost_usd += row.cost;
        u.input_tokens += row.tokens[0];
        u.output_tokens += row.tokens[1];
        u.cache_read_tokens += row.tokens[2];
        u.cache_write_tokens += row.tokens[3];
        self.ended += row.ended;
        self.duration_ms += row.duration_ms;
    }

    fn finish(self) -> Usage {
        let mut u = self.usage;
        u.mean_cost_usd = (u.runs > 0).then(|| u.cost_usd / u.runs as f64);
        u.mean_duration_secs =
            (self.ended > 0).then(|| self.duration_ms / self.ended as f64 / 1000.0);
        u
    }
}

/// One row of the grouping scan: the runs sharing an outcome, kind, model and agent.
struct GroupRow {
    outcome: String,
    kind: String,
    model: String,
    agent: String,
    runs: i64,
    cost: f64,
    tokens: [i64; 4],
    ended: i64,
    duration_ms: f64,
}

fn finish_all(map: BTreeMap<String, Sums>) -> BTreeMap<String, Usage> {
    map.into_iter().map(|(k, s)| (k, s.finish())).collect()
}

impl Store {
    /// The whole report for `q`: totals, groupings, days, the costliest issues and flow times.
    pub fn stats(&self, q: &StatsQuery) -> Result<Stats> {
        let since = q.since_ms();
        let mut stats = Stats {
            since: q.since.map(|d| d.to_string()),
            time_zone: q.tz.iana_name().unwrap_or("local").to_string(),
            ..Stats::default()
        };
        self.add_groups(since, &mut stats)?;
        stats.failures = self.failures(since)?;
        stats.by_day = self.spend_by_day(since, &q.tz)?;
        stats.top_issues = self.costliest_issues(since, q.top_issues)?;
        stats.flow = self.flow(since, q.now)?;
        stats.by_template = self.by_template(since)?;
        if let Some(start) = clock::today_start(q.now, &q.tz) {
            stats.today_cost_usd = self.spend_since(start)?;
        }
        Ok(stats)
    }

    /// Totals and every grouping from one `GROUP BY` over the runs.
    fn add_groups(&self, since: Option<Millis>, stats: &mut Stats) -> Result<()> {
        let sql = format!(
            "SELECT COALESCE(r.outcome, 'running'), i.kind, '',
                    r.agent_id, count(*), {},
                    {TOKEN_SUMS},
                    count(r.ended_at), {}
             FROM runs r JOIN issues i ON i.id = r.issue_id
             WHERE CAST(?1 AS BIGINT) IS NULL OR {RUN_WHEN} >= ?1
             GROUP BY 1, 2, 4",
            total(RUN_SPEND),
            total("r.ended_at - r.started_at"),
        );
        let rows = self.db().query_map(&sql, vals![since], |r| {
            Ok(GroupRow {
                outcome: r.get(0)?,
                kind: r.get(1)?,
                model: r.get(2)?,
                agent: r.get(3)?,
                runs: r.get(4)?,
                cost: r.get(5)?,
                tokens: [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?],
                ended: r.get(10)?,
                duration_ms: r.get(11)?,
            })
        })?;
        let (mut total, mut outcome, mut kind, mut agent) = (
            Sums::default(),
            BTreeMap::<String, Sums>::new(),
            BTreeMap::<String, Sums>::new(),
            BTreeMap::<String, Sums>::new(),
        );
        for row in rows {
            total.add(&row);
            outcome.entry(row.outcome.clone()).or_default().add(&row);
            kind.entry(row.kind.clone()).or_default().add(&row);
            agent.entry(row.agent.clone()).or_default().add(&row);
        }
        let t = total.finish();
        stats.total_cost_usd = t.cost_usd;
        stats.runs = t.runs;
        stats.input_tokens = t.input_tokens;
        stats.output_tokens = t.output_tokens;
        stats.cache_read_tokens = t.cache_read_tokens;
        stats.cache_write_tokens = t.cache_write_tokens;
        stats.per_outcome = finish_all(outcome);
        stats.by_outcome = stats
            .per_outcome
            .iter()
            .map(|(k, u)| (k.clone(), u.runs))
            .collect();
        stats.per_kind = finish_all(kind);
        stats.by_model = finish_all(self.model_groups(since)?);
        stats.by_agent = finish_all(agent);
        Ok(())
    }

    /// Failed runs per failure class.
    fn failures(&self, since: Option<Millis>) -> Result<BTreeMap<String, i64>> {
        let sql = format!(
            "SELECT r.failure, count(*) FROM runs r
             WHERE r.failure IS NOT NULL AND (CAST(?1 AS BIGINT) IS NULL OR {RUN_WHEN} >= ?1)
             GROUP BY 1"
        );
        let rows = self
            .db()
            .query_map(&sql, vals![since], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.into_iter().collect())
    }

    /// Spend and tokens per model: a run the agent broke down by model (side calls on a smaller
    /// one) counts in each model's group with that model's share; any other run counts whole
    /// under its model. A run in two groups counts as a run (and its time) in both.
    fn model_groups(&self, since: Option<Millis>) -> Result<BTreeMap<String, Sums>> {
        let duration = total("r.ended_at - r.started_at");
        let sql = format!(
            "SELECT m.model, count(*), {},
                    CAST(SUM(m.input_tokens) AS BIGINT), CAST(SUM(m.output_tokens) AS BIGINT),
                    CAST(SUM(m.cache_read_tokens) AS BIGINT),
                    CAST(SUM(m.cache_write_tokens) AS BIGINT),
                    count(r.ended_at), {duration}
             FROM run_models m JOIN runs r ON r.id = m.run_id
             WHERE CAST(?1 AS BIGINT) IS NULL OR {RUN_WHEN} >= ?1
             GROUP BY 1
             UNION ALL
             SELECT COALESCE(r.model, 'unknown'), count(*), {},
                    {TOKEN_SUMS},
                    count(r.ended_at), {duration}
             FROM runs r
             WHERE (CAST(?1 AS BIGINT) IS NULL OR {RUN_WHEN} >= ?1)
               AND NOT EXISTS (SELECT 1 FROM run_models m WHERE m.run_id = r.id)
             GROUP BY 1",
            total("COALESCE(m.cost_usd, 0.0)"),
            total(RUN_SPEND),
        );
        let rows = self.db().query_map(&sql, vals![since], |r| {
            Ok(GroupRow {
                outcome: String::new(),
                kind: String::new(),
                model: r.get(0)?,
                agent: String::new(),
                runs: r.get(1)?,
                cost: r.get(2)?,
                tokens: [r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
                ended: r.get(7)?,
                duration_ms: r.get(8)?,
            })
        })?;
        let mut groups = BTreeMap::<String, Sums>::new();
        for row in rows {
            groups.entry(row.model.clone()).or_default().add(&row);
        }
        Ok(groups)
    }

    /// Spend and runs per local day from `since` on, oldest first; days without runs are left
    /// out. Days are not fixed lengths of time (DST), so each run's day is found in Rust, from
    /// one streamed scan.
    pub fn spend_by_day(&self, since: Option<Millis>, tz: &TimeZone) -> Result<Vec<DaySpend>> {
        let sql = format!(
            "SELECT {RUN_WHEN}, {RUN_SPEND} FROM runs
             WHERE CAST(?1 AS BIGINT) IS NULL OR {RUN_WHEN} >= ?1"
        );
        let rows = self.db().query(&sql, vals![since])?;
        let mut days: BTreeMap<Date, (f64, i64)> = BTreeMap::new();
        // Runs come in bursts on one day: the last day's bounds spare most zone lookups.
        let mut last: Option<(Millis, Millis, Date)> = None;
        for row in &rows {
            let (when, cost): (Millis, f64) = (row.get(0)?, row.get(1)?);
            let day = match last {
                Some((start, end, day)) if (start..end).contains(&when) => day,
                _ => {
                    let Some(day) = clock::day_of(when, tz) else {
                        continue;
                    };
                    if let (Some(start), Some(end)) =
                        (clock::day_start(day, tz), clock::next_midnight(when, tz))
                    {
                        last = Some((start, end, day));
                    }
                    day
                }
            };
            let entry = days.entry(day).or_default();
            entry.0 += cost;
            entry.1 += 1;
        }
        Ok(days
            .into_iter()
            .map(|(day, (cost_usd, runs))| DaySpend {
                day: day.to_string(),
                cost_usd,
                runs,
            })
            .collect())
    }

    /// The `limit` issues whose runs from `since` on cost the most, costliest first.
    pub fn costliest_issues(&self, since: Option<Millis>, limit: usize) -> Result<Vec<IssueSpend>> {
        let sql = format!(
            "SELECT i.id, i.title, i.status, s.cost, s.runs
             FROM (SELECT issue_id, {} AS cost, count(*) AS runs FROM runs
                   WHERE CAST(?1 AS BIGINT) IS NULL OR {RUN_WHEN} >= ?1
                   GROUP BY issue_id ORDER BY cost DESC, issue_id LIMIT ?2) s
             JOIN issues i ON i.id = s.issue_id
             ORDER BY s.cost DESC, i.id",
            total(RUN_SPEND)
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(self.db().query_map(&sql, vals![since, limit], |r| {
            Ok(IssueSpend {
                id: r.get(0)?,
                title: r.get(1)?,
                status: parse_col(r, 2)?,
                cost_usd: r.get(3)?,
                runs: r.get(4)?,
            })
        })?)
    }
}
