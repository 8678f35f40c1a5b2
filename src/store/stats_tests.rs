//! The `stats` report on real database files: sums, local days in a zone that is not UTC
//! (a run crossing local midnight), groupings, the window, and flow times worked out by hand.

use super::sql::{vals, Exec};
use jiff::tz::TimeZone;

use super::*;
use crate::domain::clock::{day_start, parse_day};
use crate::domain::{Kind, Status};

const SEC: i64 = 1000;
const HOUR: i64 = 3_600_000;

fn ny() -> TimeZone {
    TimeZone::get("America/New_York").expect("zone in the system tz database")
}

/// Midnight starting a local day in New York (UTC-5 in November).
fn ny_day(day: &str) -> Millis {
    day_start(parse_day(day).unwrap(), &ny()).unwrap()
}

fn open() -> (tempfile::TempDir, Store) {
    crate::store::test_db::temp_store()
}

fn issue(store: &mut Store, title: &str, kind: Kind, ready: bool) -> i64 {
    let new = NewIssue {
        title: title.into(),
        kind,
        ready,
        ..NewIssue::default()
    };
    store.create_issue(&new, "me").unwrap().id
}

/// A run as the runner leaves it; times and figures are set directly so sums are known.
struct R<'a> {
    issue: i64,
    agent: &'a str,
    role: &'a str,
    start: Millis,
    end: Option<Millis>,
    outcome: Option<&'a str>,
    cost: Option<f64>,
    estimate: Option<f64>,
    tokens: [i64; 4],
    model: Option<&'a str>,
}

fn run(store: &Store, r: R<'_>) {
    store
        .db()
        .execute(
            "INSERT INTO runs (issue_id, agent_id, slot, role, started_at, ended_at, outcome,
                 cost_usd, estimate_usd, input_tokens, output_tokens, cache_read_tokens,
                 cache_write_tokens, model)
             VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            vals![
                r.issue,
                r.agent,
                r.role,
                r.start,
                r.end,
                r.outcome,
                r.cost,
                r.estimate,
                r.tokens[0],
                r.tokens[1],
                r.tokens[2],
                r.tokens[3],
                r.model
            ],
        )
        .unwrap();
}

fn base<'a>(issue: i64, start: Millis, end: Option<Millis>) -> R<'a> {
    R {
        issue,
        agent: "a-1",
        role: "implement",
        start,
        end,
        outcome: end.map(|_| "implemented"),
        cost: None,
        estimate: None,
        tokens: [0; 4],
        model: None,
    }
}

fn query(since: Option<&str>, now: Millis) -> StatsQuery {
    StatsQuery {
        since: since.map(|d| parse_day(d).unwrap()),
        tz: ny(),
        now,
        top_issues: 10,
    }
}

#[test]
fn costs_and_tokens_add_up_by_local_day_outcome_model_agent_and_kind() {
    let (_dir, mut store) = open();
    let a = issue(&mut store, "Feature \u{1b}[2Jwork", Kind::Feature, true);
    let b = issue(&mut store, "A bug", Kind::Bug, true);
    let d28 = ny_day("2026-11-28");
    let d29 = ny_day("2026-11-29");
    let d30 = ny_day("2026-11-30");
    // Crosses local midnight: started on the 29th, ended on the 30th, counts on the 30th.
    run(
        &store,
        R {
            cost: Some(1.0),
            tokens: [10, 20, 30, 40],
            model: Some("opus"),
            ..base(a, d30 - HOUR / 2, Some(d30 + HOUR / 2))
        },
    );
    // 20:00–21:00 on the 29th in New York is already the 30th in UTC.
    run(
        &store,
        R {
            agent: "a-2",
            outcome: Some("blocked"),
            cost: Some(0.5),
            tokens: [1, 2, 3, 4],
            model: Some("sonnet"),
            ..base(b, d29 + 20 * HOUR, Some(d29 + 21 * HOUR))
        },
    );
    // Still running: counts by its estimate, on the day it started.
    run(
        &store,
        R {
            estimate: Some(0.25),
            ..base(b, d30 + 10 * HOUR, None)
        },
    );
    run(
        &store,
        R {
            outcome: Some("failed"),
            cost: Some(2.0),
            model: Some("opus"),
            ..base(a, d28 + HOUR, Some(d28 + 3 * HOUR))
        },
    );

    let now = d30 + 12 * HOUR;
    let s = store.stats(&query(None, now)).unwrap();
    assert_eq!(s.total_cost_usd, 3.75);
    assert_eq!(s.runs, 4);
    assert_eq!(
        s.today_cost_usd, 1.25,
        "the midnight run and the running one"
    );
    assert_eq!(
        (
            s.input_tokens,
            s.output_tokens,
            s.cache_read_tokens,
            s.cache_write_tokens
        ),
        (11, 22, 33, 44)
    );
    let days: Vec<(&str, f64, i64)> = s
        .by_day
        .iter()
        .map(|d| (d.day.as_str(), d.cost_usd, d.runs))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-28", 2.0, 1),
            ("2026-11-29", 0.5, 1),
            ("2026-11-30", 1.25, 2)
        ]
    );
    let outcomes: Vec<(&str, i64)> = s.by_outcome.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(
        outcomes,
        [
            ("blocked", 1),
            ("failed", 1),
            ("implemented", 1),
            ("running", 1)
        ]
    );
    let opus = &s.by_model["opus"];
    assert_eq!((opus.runs, opus.cost_usd, opus.input_tokens), (2, 3.0, 10));
    assert_eq!(s.by_model["unknown"].cost_usd, 0.25);
    assert_eq!(s.by_agent["a-1"].runs, 3);
    assert_eq!(s.by_agent["a-2"].cost_usd, 0.5);
    let feature = &s.per_kind["feature"];
    assert_eq!(feature.mean_cost_usd, Some(1.5));
    assert_eq!(
        feature.mean_duration_secs,
        Some(1.5 * 3600.0),
        "1 h and 2 h"
    );
    let bug = &s.per_kind["bug"];
    assert_eq!(bug.mean_cost_usd, Some(0.375));
    assert_eq!(
        bug.mean_duration_secs,
        Some(3600.0),
        "the running run has no time yet"
    );
    assert_eq!(s.per_outcome["running"].mean_duration_secs, None);
    let top: Vec<(i64, f64, i64)> = s
        .top_issues
        .iter()
        .map(|i| (i.id, i.cost_usd, i.runs))
        .collect();
    assert_eq!(top, [(a, 3.0, 2), (b, 0.75, 2)]);
    assert_eq!(s.top_issues[0].status, Status::Ready);
    assert_eq!(s.time_zone, "America/New_York");

    // From the 29th on: the run of the 28th is left out; today is today whatever the window.
    let s = store.stats(&query(Some("2026-11-29"), now)).unwrap();
    assert_eq!(
        (s.total_cost_usd, s.runs, s.today_cost_usd),
        (1.75, 3, 1.25)
    );
    assert_eq!(s.by_day.first().map(|d| d.day.as_str()), Some("2026-11-29"));
    assert_eq!(s.since.as_deref(), Some("2026-11-29"));
    let mut q = query(Some("2026-11-29"), now);
    q.top_issues = 1;
    assert_eq!(store.stats(&q).unwrap().top_issues.len(), 1);

    // A day still to come is an empty report, not an error.
    let s = store.stats(&query(Some("2027-01-01"), now)).unwrap();
    assert_eq!((s.total_cost_usd, s.runs), (0.0, 0));
    assert!(s.by_day.is_empty() && s.by_outcome.is_empty() && s.top_issues.is_empty());
    assert_eq!(s.flow.success_rate, None);
}

#[test]
fn an_empty_database_reports_zeros_and_no_samples() {
    let (_dir, store) = open();
    let s = store.stats(&query(None, ny_day("2026-11-30"))).unwrap();
    assert_eq!((s.total_cost_usd, s.today_cost_usd, s.runs), (0.0, 0.0, 0));
    assert_eq!(s.flow.lead_time.mean_secs, None);
    assert_eq!(s.flow.cycle_time.samples, 0);
    assert_eq!(s.flow.blocked_time.median_secs, None);
    assert_eq!(s.flow.success_rate, None);
    let json = serde_json::to_value(&s).unwrap();
    assert!(json["flow"]["lead_time"]["mean_secs"].is_null(), "{json}");
}

/// Walks an issue through `moves` (by whom each is legal), then dates its creation and each
/// move: `times[0]` is its creation, the rest the moves in order (seconds).
fn walk(store: &mut Store, id: i64, moves: &[(Status, Actor)], times: &[i64]) {
    for (to, actor) in moves {
        store.move_issue(id, *to, *actor, "x").unwrap();
    }
    let conn = store.db();
    conn.execute(
        "UPDATE issues SET created_at = ?2 WHERE id = ?1",
        vals![id, times[0] * SEC],
    )
    .unwrap();
    conn.execute(
        "UPDATE events SET ts = ?2 WHERE issue_id = ?1 AND kind = 'issue.created'",
        vals![id, times[0] * SEC],
    )
    .unwrap();
    let ids: Vec<i64> = conn
        .query_map(
            "SELECT id FROM events WHERE issue_id = ?1 AND kind = 'issue.status' ORDER BY id",
            vals![id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ids.len(), times.len() - 1);
    for (event, t) in ids.iter().zip(&times[1..]) {
        conn.execute(
            "UPDATE events SET ts = ?2 WHERE id = ?1",
            vals![event, t * SEC],
        )
        .unwrap();
    }
}

#[test]
fn flow_times_and_first_tries_come_from_the_status_changes() {
    use Actor::{Agent, Human};
    use Status::{Blocked, Done, InProgress, InReview, Ready};
    let (_dir, mut store) = open();
    // x: in backlog at 0, ready 100, blocked 300–1000, in review 1500, done 2000.
    let x = issue(&mut store, "x", Kind::Feature, false);
    walk(
        &mut store,
        x,
        &[
            (Ready, Human),
            (InProgress, Agent),
            (Blocked, Agent),
            (Ready, Human),
            (InProgress, Agent),
            (InReview, Agent),
            (Done, Human),
        ],
        &[0, 100, 200, 300, 1000, 1100, 1500, 2000],
    );
    // y: created ready at 50, blocked from 100 and still blocked.
    let y = issue(&mut store, "y", Kind::Bug, true);
    walk(
        &mut store,
        y,
        &[(InProgress, Agent), (Blocked, Agent)],
        &[50, 60, 100],
    );
    // z: created ready at 0, reviewed at 400 after one run.
    let z = issue(&mut store, "z", Kind::Bug, true);
    walk(
        &mut store,
        z,
        &[(InProgress, Agent), (InReview, Agent)],
        &[0, 10, 400],
    );
    // w: its first run committed, a check failed, a second run began (500) before review (900).
    let w = issue(&mut store, "w", Kind::Chore, true);
    walk(
        &mut store,
        w,
        &[(InProgress, Agent), (InReview, Agent)],
        &[0, 10, 900],
    );

    let implement = |issue, start: i64, end: i64, outcome| R {
        outcome: Some(outcome),
        ..base(issue, start * SEC, Some(end * SEC))
    };
    run(&store, implement(x, 200, 300, "blocked"));
    run(&store, implement(x, 1100, 1500, "implemented"));
    run(&store, implement(y, 60, 100, "blocked"));
    run(&store, implement(z, 10, 390, "implemented"));
    run(
        &store,
        R {
            role: "check",
            ..implement(z, 390, 395, "passed")
        },
    );
    run(&store, implement(w, 10, 300, "implemented"));
    run(
        &store,
        R {
            role: "check",
            ..implement(w, 300, 310, "failed")
        },
    );
    run(&store, implement(w, 500, 890, "implemented"));

    let now = 2000 * SEC;
    let f = store.flow(None, now).unwrap();
    assert_eq!(
        (f.lead_time.samples, f.lead_time.mean_secs),
        (1, Some(2000.0))
    );
    // Cycle: x 100 → 1500, z 0 → 400, w 0 → 900.
    assert_eq!(f.cycle_time.samples, 3);
    assert_eq!(f.cycle_time.mean_secs, Some(900.0));
    assert_eq!(f.cycle_time.median_secs, Some(900.0));
    // Blocked: x 700 s, y 100 → now (2000) = 1900 s.
    assert_eq!(f.blocked_time.samples, 2);
    assert_eq!(f.blocked_time.mean_secs, Some(1300.0));
    assert_eq!(f.blocked_total_secs, 2600.0);
    // First tries: only z reached review on its first run.
    assert_eq!((f.first_runs, f.first_try_reviews), (4, 1));
    assert_eq!(f.success_rate, Some(0.25));

    // From 350 s on: stays are cut to the window; only z's first run ended in it.
    let f = store.flow(Some(350 * SEC), now).unwrap();
    assert_eq!(f.blocked_total_secs, 650.0 + 1650.0);
    assert_eq!(
        f.cycle_time.samples, 3,
        "all three first reached review after 350 s"
    );
    assert_eq!((f.first_runs, f.first_try_reviews), (1, 1));
    assert_eq!(f.success_rate, Some(1.0));
    let f = store.flow(Some(1600 * SEC), 3000 * SEC).unwrap();
    assert_eq!((f.lead_time.samples, f.cycle_time.samples), (1, 0));
    assert_eq!(
        f.blocked_total_secs, 1400.0,
        "y is still blocked, 1600 → 3000"
    );
}
