//! Contention: 4 processes × 4 slots (threads, each with its own connection, as runner slots
//! have) claim 10,000 ready issues with the real `Store::claim_next` until none is left.
//! Checks that no issue is claimed twice and reports claims/s. Baseline, same run: 1 process ×
//! 1 slot claiming the same 10,000 on a fresh database.
//!
//! Both backends, measured alternately in the same run: an SQLite file, and PostgreSQL on
//! loopback (a throwaway server, see benches/common/backends.rs). On each, every issue must be
//! claimed exactly once: by the ids the claimers got, and by the rows and events in the store.
//!
//! `cargo bench --bench contention` (`BENCH_CLAIMS=2000` for a quick run)

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Claims until nothing is left with `slots` threads; prints one claimed id per line.
fn child(location: &str, proc_no: usize, slots: usize) {
    let threads: Vec<_> = (0..slots)
        .map(|slot| {
            let location = location.to_string();
            std::thread::spawn(move || {
                let mut store = open_location(&location);
                let agent = format!("bench-{proc_no}-{slot}");
                let mut ids = Vec::new();
                while let Some(issue) = store.claim_next(&agent, 600_000).unwrap() {
                    ids.push(issue.id);
                }
                ids
            })
        })
        .collect();
    let ids: Vec<i64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let out: String = ids.iter().map(|i| format!("{i}\n")).collect();
    print!("{out}");
}

fn ready_db(db: &Backend, n: u64) {
    db.seed(n, 0);
    db.execute("UPDATE issues SET status = 'ready'");
}

/// Runs `procs` processes of `slots` slots; returns every claimed id and the wall time.
fn claim_all(db: &Backend, procs: usize, slots: usize) -> (Vec<i64>, Duration) {
    let exe = std::env::current_exe().unwrap();
    let start = Instant::now();
    let children: Vec<_> = (0..procs)
        .map(|p| {
            Command::new(&exe)
                .args(["--contention-child", &db.location()])
                .arg(p.to_string())
                .arg(slots.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a claiming process failed");
        ids.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| l.parse::<i64>().unwrap()),
        );
    }
    (ids, start.elapsed())
}

/// One backend's runs: its 1 × 1 baseline and its 4 × 4 load.
struct Runs {
    db: Backend,
    base: (Vec<i64>, Duration),
    load: (Vec<i64>, Duration),
    /// Transactions the 4 × 4 run rolled back (conflicts retried; PostgreSQL only).
    rollbacks: i64,
}

/// Every issue claimed exactly once: by the ids handed out and by what the store holds (each
/// issue in progress under a claimer, one claim event each, counters in step).
fn check_exactly_once(db: &Backend, ids: &[i64], n: u64) -> usize {
    let unique: HashSet<i64> = ids.iter().copied().collect();
    let doubles = ids.len() - unique.len();
    let name = db.name();
    assert_eq!(doubles, 0, "{name}: an issue was claimed twice");
    assert_eq!(unique.len() as u64, n, "{name}: every issue was claimed");
    let n = n as i64;
    let held = db.count(
        "SELECT count(*) FROM issues WHERE status = 'in_progress' AND claimed_by LIKE 'bench-%'",
    );
    assert_eq!(
        held, n,
        "{name}: every issue is in progress under a claimer"
    );
    let events = db.count("SELECT count(*) FROM events WHERE kind = 'issue.status'");
    let claimed =
        db.count("SELECT count(DISTINCT issue_id) FROM events WHERE kind = 'issue.status'");
    assert_eq!(
        (events, claimed),
        (n, n),
        "{name}: one claim event per issue"
    );
    db.check_counters();
    doubles
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--contention-child") {
        child(
            &args[i + 1],
            args[i + 2].parse().unwrap(),
            args[i + 3].parse().unwrap(),
        );
        return;
    }
    let n = env_num("BENCH_CLAIMS", 10_000);
    println!("contention: {n} ready issues, 4 processes × 4 slots vs 1 × 1");
    let dir = tempfile::tempdir().unwrap();
    // A fresh database per run and backend; the backends take turns, run by run.
    let fresh = |name: &str| -> Vec<Backend> {
        let mut dbs = vec![Backend::sqlite(dir.path(), name)];
        dbs.extend(Backend::postgres());
        dbs
    };
    let bases: Vec<_> = fresh("base")
        .into_iter()
        .map(|db| {
            ready_db(&db, n);
            let run = claim_all(&db, 1, 1);
            check_exactly_once(&db, &run.0, n);
            (db, run)
        })
        .collect();
    let mut all = Vec::new();
    for ((_, base), db) in bases.into_iter().zip(fresh("load")) {
        ready_db(&db, n);
        let before = db.rollbacks();
        let load = claim_all(&db, 4, 4);
        let rollbacks = db.rollbacks() - before;
        all.push(Runs {
            db,
            base,
            load,
            rollbacks,
        });
    }
    let mut pairs = Vec::new();
    let mut rates = Vec::new();
    for r in &all {
        let (ids, t) = (&r.load.0, r.load.1);
        let (base_ids, base_t) = (&r.base.0, r.base.1);
        let unique: HashSet<i64> = ids.iter().copied().collect();
        let rate = ids.len() as f64 / t.as_secs_f64();
        let base_rate = base_ids.len() as f64 / base_t.as_secs_f64();
        println!(
            "{}4×4: {} claims ({} unique) in {:.2} s; 1×1: {} claims in {:.2} s",
            match r.db {
                Backend::Sqlite(_) => "",
                Backend::Postgres(_) => "PostgreSQL ",
            },
            ids.len(),
            unique.len(),
            t.as_secs_f64(),
            base_ids.len(),
            base_t.as_secs_f64()
        );
        let doubles = check_exactly_once(&r.db, ids, n);
        print_table(
            &titled("contention", &r.db),
            &[Row {
                what: format!("4 processes × 4 slots claiming {n} issues"),
                figure: format!("{rate:.0} claims/s, {doubles} double claims"),
                baseline: format!("{base_rate:.0} claims/s (1 process × 1 slot)"),
                ratio: format!("{:.2}×", rate / base_rate),
                target: "zero double claims; claims/s reported".into(),
                met: Some(doubles == 0),
            }],
        );
        rates.push((rate, base_rate, r.rollbacks));
    }
    if let [(s, sb, _), (p, pb, rollbacks)] = rates[..] {
        pairs.push(Pair {
            what: "1 process × 1 slot, claims/s".into(),
            sqlite: format!("{sb:.0}"),
            postgres: format!("{pb:.0}"),
            ratio: format!("{:.2}× the rate", pb / sb),
        });
        pairs.push(Pair {
            what: format!("4 processes × 4 slots, claims/s ({n} issues, each claimed once)"),
            sqlite: format!("{s:.0}"),
            postgres: format!("{p:.0} ({rollbacks} conflicts retried)"),
            ratio: format!("{:.2}× the rate", p / s),
        });
        pairs.push(Pair {
            what: "4 × 4 over 1 × 1 (scaling)".into(),
            sqlite: format!("{:.2}×", s / sb),
            postgres: format!("{:.2}×", p / pb),
            ratio: "—".into(),
        });
        print_pairs("contention: PostgreSQL beside SQLite", &pairs);
    }
}
