//! The release binary in a pseudo-terminal (200×50), measured from outside through /proc and
//! the bytes it writes:
//!
//! - `startup`: process start to first frame on a database with 100,000 issues and 1,000,000
//!   events, next to an empty database (medians of 5, alternating).
//! - `idle`: TUI open on the 100,000-issue database, nothing happening, BENCH_IDLE_SECS (60):
//!   CPU time of all its threads and bytes written to the terminal, against wall time.
//! - `load`: 4 agents (the test fake claude, scenario flood) stream output while `j`/`k` are
//!   typed; key-to-frame latency (key written to the pty → the newly selected card's title
//!   written back), next to the same keys with no agent running, in the same process. Then
//!   RSS with 100,000 issues loaded and 4 full panes, next to the idle RSS.
//!
//! `cargo bench --bench tui_process` (or `-- startup`, `-- idle`, `-- load`).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

const COLS: u16 = 200;
const ROWS: u16 = 50;
const LIMIT: Duration = Duration::from_secs(60);

struct Env {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    home: std::path::PathBuf,
    empty: std::path::PathBuf,
    big: std::path::PathBuf,
}

fn env() -> Env {
    let (dir, root) = git_repo();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let empty = dir.path().join("empty.db");
    seed(&empty, 0, 0);
    let big = dir.path().join("big.db");
    let t = Instant::now();
    seed(&big, 100_000, 1_000_000);
    println!(
        "seeded 100,000 issues and 1,000,000 events in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Env {
        _dir: dir,
        root,
        home,
        empty,
        big,
    }
}

fn spawn(e: &Env, db: &Path, extra: &[(&'static str, String)]) -> PtyApp {
    let mut vars = app_env(&e.home, db, &fake_claude());
    vars.extend(extra.iter().cloned());
    PtyApp::spawn(&e.root, &[], &vars, COLS, ROWS)
}

fn startup(e: &Env, rows: &mut Vec<Row>) {
    let (mut empty, mut big, mut filled) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        for (db, out) in [(&e.empty, &mut empty), (&e.big, &mut big)] {
            let app = spawn(e, db, &[]);
            let (at, _) = app.wait_for(b" autopilot ", 0, LIMIT).expect("first frame");
            out.push(at - app.started);
            if db == &e.big {
                let (at, _) = app
                    .wait_for(title(1).as_bytes(), 0, LIMIT)
                    .expect("board filled");
                filled.push(at - app.started);
            }
            app.stop();
        }
    }
    let (m_empty, m_big, m_filled) = (median(empty), median(big), median(filled));
    let ratio = m_big.as_secs_f64() / m_empty.as_secs_f64();
    println!(
        "startup: empty {}, 100k {}, 100k board filled {}",
        ms(m_empty),
        ms(m_big),
        ms(m_filled)
    );
    rows.push(Row {
        what: "startup to first frame, 100,000 issues + 1,000,000 events".into(),
        figure: ms(m_big),
        baseline: format!("{} (empty database)", ms(m_empty)),
        ratio: format!("{ratio:.2}×"),
        target: "≤ 1.5×".into(),
        met: Some(ratio <= 1.5),
    });
    rows.push(Row {
        what: "startup to the board filled with cards, 100,000 issues".into(),
        figure: ms(m_filled),
        baseline: format!("{} (empty database, first frame)", ms(m_empty)),
        ratio: format!("{:.2}×", m_filled.as_secs_f64() / m_empty.as_secs_f64()),
        target: "—".into(),
        met: None,
    });
}

fn idle(e: &Env, rows: &mut Vec<Row>) {
    let secs = env_num("BENCH_IDLE_SECS", 60);
    let app = spawn(e, &e.big, &[]);
    app.wait_for(title(1).as_bytes(), 0, LIMIT)
        .expect("board filled");
    std::thread::sleep(Duration::from_secs(3));
    let pid = app.pid();
    let (watch, out0, t0) = (CpuWatch::start(pid), app.written(), Instant::now());
    std::thread::sleep(Duration::from_secs(secs));
    let (cpu, out1, wall) = (watch.stop(), app.written(), t0.elapsed());
    let rss = rss_kib(pid).0;
    app.stop();
    let share = cpu.as_secs_f64() / wall.as_secs_f64();
    println!(
        "idle {secs} s: cpu {}, {} bytes written, RSS {rss} KiB",
        ms(cpu),
        out1 - out0
    );
    rows.push(Row {
        what: format!("idle {secs} s, 100,000 issues, runner on"),
        figure: format!("{} CPU, {} bytes to the terminal", ms(cpu), out1 - out0),
        baseline: format!("{:.1} s wall (one core)", wall.as_secs_f64()),
        ratio: format!("{:.3} % of a core", share * 100.0),
        target: "≤ 0.1 %; no writes".into(),
        met: Some(share <= 0.001 && out1 == out0),
    });
}

fn transcript_lines(db: &Path) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(
        "SELECT coalesce(sum(lines), 0) FROM transcript_chunks",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

fn load(e: &Env, rows: &mut Vec<Row>) {
    // Four flooding issues at the bottom of the backlog, handed off once the baseline is in.
    let db = e.big.clone();
    let ids: Vec<i64> = {
        let mut store = autopilot_tui::store::Store::open(&db).unwrap();
        (0..4)
            .map(|i| {
                store
                    .create_issue(
                        &autopilot_tui::store::NewIssue {
                            title: format!("Flood {i}"),
                            body: "[scenario:flood]".into(),
                            kind: autopilot_tui::domain::Kind::Chore,
                            priority: -1,
                            ready: false,
                            depends_on: Vec::new(),
                            ..Default::default()
                        },
                        "bench",
                    )
                    .unwrap()
                    .id
            })
            .collect()
    };
    let samples = env_num("BENCH_KEYS", 150) as usize;
    let mut vars = app_env(&e.home, &db, &fake_claude());
    vars.push(("FAKE_CLAUDE_FLOOD_LINES", "3000000".into()));
    let mut app = PtyApp::spawn(&e.root, &["--agents", "4"], &vars, COLS, ROWS);
    app.wait_for(title(1).as_bytes(), 0, LIMIT)
        .expect("board filled");
    std::thread::sleep(Duration::from_secs(1));
    let quiet = key_latencies(&mut app, samples);
    let rss_idle = rss_kib(app.pid()).0;
    for id in &ids {
        let ok = std::process::Command::new(bin())
            .args(["move", &id.to_string(), "ready"])
            .current_dir(&e.root)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "move {id} ready");
    }
    // From the store, not the screen: a frame only rewrites the cells that changed, so
    // "4 running" need not ever be written out whole.
    wait_for("4 agents running", LIMIT, || {
        let c = rusqlite::Connection::open(&db).unwrap();
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM issues WHERE status = 'in_progress'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (n == 4).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    let lines0 = transcript_lines(&db);
    let t0 = Instant::now();
    let busy = key_latencies(&mut app, samples);
    let lines1 = transcript_lines(&db);
    let lps = (lines1 - lines0) as f64 / t0.elapsed().as_secs_f64();
    let (rss, hwm) = rss_kib(app.pid());
    // Every stdout line makes at least one pane line: more than 4 × capacity fills all four.
    let panes_full = lines1 >= 4 * autopilot_tui::ui::app::PANE_CAPACITY as i64;
    app.stop();
    let (q99, b99) = (percentile(&quiet, 99.0), percentile(&busy, 99.0));
    println!(
        "keys: quiet p50 {} p99 {}; 4 agents p50 {} p99 {} max {}; {lps:.0} lines/s stored meanwhile",
        ms(percentile(&quiet, 50.0)),
        ms(q99),
        ms(percentile(&busy, 50.0)),
        ms(b99),
        ms(percentile(&busy, 100.0))
    );
    rows.push(Row {
        what: format!("key-to-frame p99, 4 agents flooding ({lps:.0} lines/s stored)"),
        figure: format!("{} (p50 {})", ms(b99), ms(percentile(&busy, 50.0))),
        baseline: format!("{} p99 with no agent", ms(q99)),
        ratio: format!("{:.2}×", b99.as_secs_f64() / q99.as_secs_f64()),
        target: "p99 ≤ 50 ms".into(),
        met: Some(b99 <= Duration::from_millis(50)),
    });
    rows.push(Row {
        what: "RSS, 100,000 issues loaded, 4 panes full".into(),
        figure: format!(
            "{:.1} MB (peak {:.1} MB)",
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        ),
        baseline: format!("{:.1} MB idle, same process", rss_idle as f64 / 1024.0),
        ratio: format!("{:.2}×", rss as f64 / rss_idle.max(1) as f64),
        target: "≤ 64 MB".into(),
        met: Some(rss <= 64 * 1024 && panes_full),
    });
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| name.contains(a.as_str()));
    let e = env();
    let mut rows = Vec::new();
    if want("startup") {
        startup(&e, &mut rows);
    }
    if want("idle") {
        idle(&e, &mut rows);
    }
    if want("load") {
        load(&e, &mut rows);
    }
    print_table("tui_process", &rows);
}
