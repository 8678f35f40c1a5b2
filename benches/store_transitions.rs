//! Store transitions: claim (ready → in_progress) → in_review → ready cycles through the real
//! `Store` (each move checked by the state machine, with its event row, `BEGIN IMMEDIATE`,
//! WAL). Baseline, same file, same run: a bare rusqlite loop of the same number of
//! `BEGIN IMMEDIATE; UPDATE issues; INSERT INTO events; COMMIT` transactions.
//!
//! The same on PostgreSQL on loopback (a throwaway server, see benches/common/backends.rs),
//! measured alternately with SQLite in the same run: the store's SERIALIZABLE transactions
//! (each with its NOTIFY), and as baseline the same bare transactions through the plain
//! `postgres` client at the same isolation level. Afterwards each backend's rows are checked:
//! the 100 issues back in ready, three events per cycle, counters in step.
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

const SEEDED_EVENTS: u64 = 10_000;

/// One cycle through the store; the closing checks count them.
fn cycle(store: &mut Store, cycles: &mut i64) {
    let issue = store.claim_next("bench-1", 60_000).unwrap().unwrap();
    store
        .move_issue(issue.id, Status::InReview, Actor::Agent, "bench-1")
        .unwrap();
    store
        .move_issue(issue.id, Status::Ready, Actor::Human, "bench")
        .unwrap();
    *cycles += 1;
}

/// The 100 ready issues are ready again, nothing is left in progress, and each cycle (store
/// or bare) wrote its three events.
fn check(db: &Backend, cycles: i64) {
    let name = db.name();
    let ready = db.count("SELECT count(*) FROM issues WHERE status = 'ready'");
    let held = db.count("SELECT count(*) FROM issues WHERE status = 'in_progress'");
    assert_eq!(
        (ready, held),
        (100, 0),
        "{name}: every cycle ended in ready"
    );
    let events = db.count("SELECT count(*) FROM events");
    assert_eq!(
        events,
        SEEDED_EVENTS as i64 + 3 * cycles,
        "{name}: three events per cycle"
    );
    db.check_counters();
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Backend::sqlite(dir.path(), "autopilot");
    let pg = Backend::postgres();
    let Backend::Sqlite(db) = &sqlite else {
        unreachable!()
    };
    let mut dbs = vec![sqlite.clone()];
    dbs.extend(pg.clone());
    for b in &dbs {
        b.seed(10_000, SEEDED_EVENTS);
        // 100 ready issues to cycle through (claims take the oldest ready one).
        b.execute(
            "UPDATE issues SET status = 'ready' WHERE id IN (SELECT id FROM issues WHERE status = 'backlog' ORDER BY id LIMIT 100)",
        );
    }
    let mut store = sqlite.open();
    let mut pg_store = pg.as_ref().map(Backend::open);
    let (mut cycles, mut pg_cycles) = (0i64, 0i64);
    let mut g = c.benchmark_group("store_transitions");
    g.bench_function("store: claim → in_review → ready (3 moves)", |b| {
        b.iter_custom(|iters| timed("store", iters, || cycle(&mut store, &mut cycles)))
    });
    if let Some(pg_store) = pg_store.as_mut() {
        g.bench_function(
            "postgres store: claim → in_review → ready (3 moves)",
            |b| b.iter_custom(|iters| timed("pg store", iters, || cycle(pg_store, &mut pg_cycles))),
        );
    }
    let mut conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .unwrap();
    let mut id = 0i64;
    g.bench_function("baseline: bare UPDATE+INSERT transactions (×3)", |b| {
        b.iter_custom(|iters| {
            timed("bare", iters, || {
                id = id % 100 + 1;
                cycles += 1;
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
    if let Some(Backend::Postgres(url)) = &pg {
        let mut client = pg_client(url);
        let update = client
            .prepare("UPDATE issues SET status = $1, updated_at = $2 WHERE id = $3")
            .unwrap();
        let insert = client
            .prepare("INSERT INTO events (ts, kind, issue_id, actor, data) VALUES ($1, 'issue.status', $2, 'bench', '{}')")
            .unwrap();
        let mut id = 0i64;
        g.bench_function(
            "postgres baseline: bare UPDATE+INSERT transactions (×3)",
            |b| {
                b.iter_custom(|iters| {
                    timed("pg bare", iters, || {
                        id = id % 100 + 1;
                        pg_cycles += 1;
                        for to in ["in_progress", "in_review", "ready"] {
                            let mut tx = client
                                .build_transaction()
                                .isolation_level(::postgres::IsolationLevel::Serializable)
                                .start()
                                .unwrap();
                            tx.execute(&update, &[&to, &1i64, &id]).unwrap();
                            tx.execute(&insert, &[&1i64, &id]).unwrap();
                            tx.commit().unwrap();
                        }
                    })
                })
            },
        );
    }
    g.finish();
    c.final_summary();
    drop((store, pg_store));
    check(&sqlite, cycles);
    if let Some(pg) = &pg {
        check(pg, pg_cycles);
    }
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
    let (ps, pb) = (mean("pg store"), mean("pg bare"));
    if ps.is_zero() || pb.is_zero() {
        return;
    }
    let pg_ratio = pb.as_secs_f64() / ps.as_secs_f64();
    print_table(
        "store_transitions (PostgreSQL)",
        &[Row {
            what: "claim → in_review → ready cycle (3 transitions + 3 events, SERIALIZABLE)".into(),
            figure: format!(
                "{} / cycle ({:.0} cycles/s)",
                us(ps),
                1.0 / ps.as_secs_f64()
            ),
            baseline: format!("{} / 3 bare UPDATE+INSERT txns", us(pb)),
            ratio: format!("{pg_ratio:.2}× the bare rate"),
            target: "≥ 0.5×".into(),
            met: Some(pg_ratio >= 0.5),
        }],
    );
    print_pairs(
        "store_transitions: PostgreSQL beside SQLite",
        &[
            Pair {
                what: "store cycle: claim → in_review → ready (3 transactions)".into(),
                sqlite: format!("{} ({:.0} cycles/s)", us(s), 1.0 / s.as_secs_f64()),
                postgres: format!("{} ({:.0} cycles/s)", us(ps), 1.0 / ps.as_secs_f64()),
                ratio: format!("{:.2}× the time", ps.as_secs_f64() / s.as_secs_f64()),
            },
            Pair {
                what: "bare: 3 UPDATE+INSERT transactions".into(),
                sqlite: us(b),
                postgres: us(pb),
                ratio: format!("{:.2}× the time", pb.as_secs_f64() / b.as_secs_f64()),
            },
            Pair {
                what: "store over bare (the store's own cost)".into(),
                sqlite: format!("{:.2}×", s.as_secs_f64() / b.as_secs_f64()),
                postgres: format!("{:.2}×", ps.as_secs_f64() / pb.as_secs_f64()),
                ratio: "—".into(),
            },
        ],
    );
}
