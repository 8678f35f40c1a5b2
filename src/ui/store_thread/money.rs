//! What the header, the cards and the stats overlay show about spend: read on the store thread
//! when the store changes (or the overlay opens), never per frame.

use std::collections::HashMap;

use jiff::civil::Date;
use jiff::ToSpan;

use crate::domain::clock;
use crate::domain::stats::{DaySpend, Stats};
use crate::domain::{now_millis, Millis, Printable};
use crate::store::{PauseState, Result as StoreResult, StatsQuery, Store};

/// Days the overlay's chart covers, today included.
pub const CHART_DAYS: i16 = 14;
/// Issues the overlay lists, most expensive first.
pub const TOP_ISSUES: usize = 10;

/// The stats overlay's data: the report over the last `CHART_DAYS` local days, and every one
/// of those days (the report leaves out days without runs; these have them at zero).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsReport {
    /// The report, printable.
    pub stats: Stats,
    /// One entry per local day, oldest first, ending today.
    pub days: Vec<DaySpend>,
}

/// What today's runs have cost so far (local day), running ones by their estimate.
pub fn today_spend(store: &Store) -> f64 {
    let tz = clock::local_zone();
    clock::today_start(now_millis(), &tz)
        .and_then(|start| store.spend_since(start).ok())
        .unwrap_or(0.0)
}

/// When the header goes stale without any write: a hold lifts, or a new local day starts
/// (today's spend is zero again). The store thread reports again at that moment.
pub fn next_rollover(pause: &PauseState, now: Millis) -> Millis {
    let midnight = clock::next_midnight(now, &clock::local_zone()).unwrap_or(Millis::MAX);
    pause
        .until
        .filter(|u| *u > now)
        .map_or(midnight, |u| u.min(midnight))
}

/// What each of `ids` has cost, one query; issues without runs are absent.
pub fn spends(store: &Store, ids: &[i64]) -> HashMap<i64, f64> {
    store.issue_spends(ids).unwrap_or_default()
}

/// The overlay's report, over the last `CHART_DAYS` local days.
pub fn report(store: &Store) -> StoreResult<StatsReport> {
    let mut q = StatsQuery::all_time();
    q.top_issues = TOP_ISSUES;
    let today = clock::day_of(q.now, &q.tz);
    let first = today.and_then(|d| d.checked_sub((CHART_DAYS - 1).days()).ok());
    q.since = first;
    let stats = store.stats(&q)?.printable();
    let days = match (first, today) {
        (Some(first), Some(today)) => fill_days(&stats.by_day, first, today),
        _ => stats.by_day.clone(),
    };
    Ok(StatsReport { stats, days })
}

/// Every day from `first` to `last`, with the spend of `known` where it has the day.
fn fill_days(known: &[DaySpend], first: Date, last: Date) -> Vec<DaySpend> {
    let by_day: HashMap<&str, &DaySpend> = known.iter().map(|d| (d.day.as_str(), d)).collect();
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        let name = day.to_string();
        let (cost_usd, runs) = by_day
            .get(name.as_str())
            .map_or((0.0, 0), |d| (d.cost_usd, d.runs));
        out.push(DaySpend {
            day: name,
            cost_usd,
            runs,
        });
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{handle, StoreReply, StoreRequest};
    use super::*;
    use crate::domain::Status;
    use crate::runner::agent::renderer;
    use crate::store::{NewIssue, RunEnd};

    #[test]
    fn cards_today_and_the_report_carry_what_runs_cost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("a.db")).expect("open");
        let new = |title: &str| NewIssue {
            title: title.into(),
            ready: true,
            ..NewIssue::default()
        };
        let costly = store
            .create_issue(&new("Cost\u{1b}[2Jly"), "me")
            .expect("add")
            .id;
        let free = store.create_issue(&new("Free"), "me").expect("add").id;
        store.claim_next("a-1", 60_000).expect("claim");
        let run = store.start_run(costly, "a-1", 0, "host").expect("run");
        let end = RunEnd {
            cost_usd: Some(1.25),
            ..RunEnd::default()
        };
        store.finish_run(run, "a-1", &end).expect("finish");
        // A running run counts by its estimate.
        let running = store.start_run(costly, "a-1", 0, "host").expect("run");
        store.set_run_estimate(running, 0.5).expect("estimate");
        assert_eq!(today_spend(&store), 1.75);

        let board = StoreRequest::Board {
            gen: 1,
            filter: String::new(),
            windows: [(0, 10); Status::ALL.len()],
        };
        let (reply, _) = handle(&mut store, &board, "me", &*renderer(None));
        let Some(StoreReply::Board { columns, .. }) = reply else {
            panic!("not a board: {reply:?}");
        };
        let spend = |id: i64| {
            columns
                .iter()
                .flat_map(|c| &c.cards)
                .find(|c| c.issue.id == id)
                .map(|c| c.spend_usd)
        };
        assert_eq!(spend(costly), Some(1.75));
        assert_eq!(spend(free), Some(0.0));

        let (reply, wrote) = handle(&mut store, &StoreRequest::Stats, "me", &*renderer(None));
        assert!(!wrote);
        let Some(StoreReply::Stats(r)) = reply else {
            panic!("not stats: {reply:?}");
        };
        assert_eq!(r.days.len(), usize::try_from(CHART_DAYS).expect("days"));
        assert_eq!(r.days.last().map(|d| d.cost_usd), Some(1.75));
        assert_eq!(r.stats.top_issues[0].id, costly);
        assert!(!r.stats.top_issues[0].title.contains('\u{1b}'));
    }

    #[test]
    fn days_without_runs_are_filled_with_zeros() {
        let known = vec![DaySpend {
            day: "2026-11-29".into(),
            cost_usd: 1.5,
            runs: 2,
        }];
        let first: Date = "2026-11-27".parse().unwrap();
        let last: Date = "2026-11-30".parse().unwrap();
        let days = fill_days(&known, first, last);
        let got: Vec<(&str, f64, i64)> = days
            .iter()
            .map(|d| (d.day.as_str(), d.cost_usd, d.runs))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-11-27", 0.0, 0),
                ("2026-11-28", 0.0, 0),
                ("2026-11-29", 1.5, 2),
                ("2026-11-30", 0.0, 0),
            ]
        );
    }
}
