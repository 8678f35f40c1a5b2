//! Store transitions: claim (ready → in_progress) → in_review → ready cycles through the real
//! `Store` (each move checked by the state machine, with its event row, `BEGIN IMMEDIATE`,
//! WAL). Baseline, same file, same run: a bare rusqlite loop of the same number of
//! `BEGIN IMMEDIATE; UPDATE issues; INSERT INTO events; COMMIT` transactions.
//!
//! `cargo bench --bench store_transitions`

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use autopilot_tui::domain::{Actor, Status};
use autopilot_tui::store::Store;
use common::*;
use criterion::Criterion;
use rusqlite::TransactionBehavior;

fn main() {
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("autopilot.db");
    seed(&db, 10_000, 10_000);
    // 100 ready issues to cycle through (claims take the oldest ready one).
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute(
        "UPDATE issues SET status = 'ready' WHERE id IN (SELECT id FROM issues WHERE status = 'backlog' LIMIT 100)",
        [],
    )
    .unwrap();
    let mut store = Store::open(&db).unwrap();
    let mut g = c.benchmark_group("store_transitions");
    g.bench_function("store: claim → in_review → ready (3 moves)", |b| {
        b.iter_custom(|iters| {
            timed("store", iters, || {
                let issue = store.claim_next("bench-1", 60_000).unwrap().unwrap();
                store
                    .move_issue(issue.id, Status::InReview, Actor::Agent, "bench-1")
                    .unwrap();
                store
                    .move_issue(issue.id, Status::Ready, Actor::Human, "bench")
                    .unwrap();
            })
        })
    });
    let mut conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .unwrap();
    let mut id = 0i64;
    g.bench_function("baseline: bare UPDATE+INSERT transactions (×3)", |b| {
        b.iter_custom(|iters| {
            timed("bare", iters, || {
                id = id % 100 + 1;
                for to in ["in_progress", "in_review", "ready"] {
                    let tx = conn
                        .transaction_with_behavior(TransactionBehavior::Immediate)
                        .unwrap();
                    tx.execute(
                        "UPDATE issues SET status = ?1, updated_at = ?2 WHERE id = ?3",
                        rusqlite::params![to, 1, id],
                    )
                    .unwrap();
                    tx.execute(
                        "INSERT INTO events (ts, kind, issue_id, actor, data) VALUES (?1, 'issue.status', ?2, 'bench', '{}')",
                        rusqlite::params![1, id],
                    )
                    .unwrap();
                    tx.commit().unwrap();
                }
            })
        })
    });
    g.finish();
    c.final_summary();
    let (s, b) = (mean("store"), mean("bare"));
    if s.is_zero() || b.is_zero() {
        return;
    }
    let ratio = b.as_secs_f64() / s.as_secs_f64();
    print_table(
        "store_transitions",
        &[Row {
            what: "claim → in_review → ready cycle (3 transitions + 3 events, WAL)".into(),
            figure: format!("{} / cycle ({:.0} cycles/s)", us(s), 1.0 / s.as_secs_f64()),
            baseline: format!("{} / 3 bare UPDATE+INSERT txns", us(b)),
            ratio: format!("{ratio:.2}× the bare rate"),
            target: "≥ 0.5×".into(),
            met: Some(ratio >= 0.5),
        }],
    );
}
