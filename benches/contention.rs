//! Contention: 4 processes × 4 slots (threads, each with its own connection, as runner slots
//! have) claim 10,000 ready issues with the real `Store::claim_next` until none is left.
//! Checks that no issue is claimed twice and reports claims/s. Baseline, same run: 1 process ×
//! 1 slot claiming the same 10,000 on a fresh database.
//!
//! `cargo bench --bench contention` (`BENCH_CLAIMS=2000` for a quick run)

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use autopilot_tui::store::Store;
use common::*;

/// Claims until nothing is left with `slots` threads; prints one claimed id per line.
fn child(db: &Path, proc_no: usize, slots: usize) {
    let threads: Vec<_> = (0..slots)
        .map(|slot| {
            let db = db.to_path_buf();
            std::thread::spawn(move || {
                let mut store = Store::open(&db).unwrap();
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

fn ready_db(dir: &Path, n: u64) -> PathBuf {
    let db = dir.join("autopilot.db");
    seed(&db, n, 0);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE issues SET status = 'ready'", [])
        .unwrap();
    db
}

/// Runs `procs` processes of `slots` slots; returns every claimed id and the wall time.
fn claim_all(db: &Path, procs: usize, slots: usize) -> (Vec<i64>, Duration) {
    let exe = std::env::current_exe().unwrap();
    let start = Instant::now();
    let children: Vec<_> = (0..procs)
        .map(|p| {
            Command::new(&exe)
                .args(["--contention-child", &db.display().to_string()])
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--contention-child") {
        child(
            Path::new(&args[i + 1]),
            args[i + 2].parse().unwrap(),
            args[i + 3].parse().unwrap(),
        );
        return;
    }
    let n = env_num("BENCH_CLAIMS", 10_000);
    println!("contention: {n} ready issues, 4 processes × 4 slots vs 1 × 1");
    let dir = tempfile::tempdir().unwrap();
    let base_dir = dir.path().join("base");
    let load_dir = dir.path().join("load");
    std::fs::create_dir_all(&base_dir).unwrap();
    std::fs::create_dir_all(&load_dir).unwrap();
    let (base_ids, base_t) = claim_all(&ready_db(&base_dir, n), 1, 1);
    let (ids, t) = claim_all(&ready_db(&load_dir, n), 4, 4);
    let unique: HashSet<i64> = ids.iter().copied().collect();
    let doubles = ids.len() - unique.len();
    let rate = ids.len() as f64 / t.as_secs_f64();
    let base_rate = base_ids.len() as f64 / base_t.as_secs_f64();
    println!(
        "4×4: {} claims ({} unique) in {:.2} s; 1×1: {} claims in {:.2} s",
        ids.len(),
        unique.len(),
        t.as_secs_f64(),
        base_ids.len(),
        base_t.as_secs_f64()
    );
    assert_eq!(doubles, 0, "an issue was claimed twice");
    assert_eq!(unique.len() as u64, n, "every issue was claimed");
    print_table(
        "contention",
        &[Row {
            what: format!("4 processes × 4 slots claiming {n} issues"),
            figure: format!("{rate:.0} claims/s, {doubles} double claims"),
            baseline: format!("{base_rate:.0} claims/s (1 process × 1 slot)"),
            ratio: format!("{:.2}×", rate / base_rate),
            target: "zero double claims; claims/s reported".into(),
            met: Some(doubles == 0),
        }],
    );
}
