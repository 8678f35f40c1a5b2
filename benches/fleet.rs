//! A fleet of agents: BENCH_FLEET_AGENTS (64) stand-ins, each replaying a real Claude Code
//! transcript at a human pace (`benches/support/replay-agent`: a line every 250 ms), watched by
//! the release binary in a 200×50 pseudo-terminal, on a database of BENCH_FLEET_ISSUES (10,000)
//! issues. Measured from outside through /proc, the bytes written and the event log:
//!
//! - `tui`: one TUI process running every agent (`--agents 64`). Its CPU and RSS over
//!   BENCH_FLEET_SECS (60) and key-to-frame latency (as `tui_process -- load`), with the agents
//!   streaming, next to the same process idle before any started. The agents are started one
//!   at a time from another process (`autopilot-tui move ID ready`), and each start is a
//!   ready-to-claimed sample: from the event that made the issue ready to the claim's event,
//!   both from the event log (the runner has idle slots all along; 1 to 64 agents stream).
//! - `attach`: a headless `autopilot-tui run --agents 64` runs the agents; a TUI attached with
//!   `--no-runner` shows them as remote panes. Its CPU, RSS and key latency with the 64 remote
//!   agents streaming, next to the same process before they started.
//!
//! `cargo bench --bench fleet` (or `-- tui`, `-- attach`). Quick: `BENCH_FLEET_AGENTS=8
//! BENCH_FLEET_SECS=10 BENCH_KEYS=40`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use autopilot_tui::domain::Kind;
use autopilot_tui::store::{NewIssue, Store};
use common::*;

const COLS: u16 = 200;
const ROWS: u16 = 50;
const LIMIT: Duration = Duration::from_secs(60);
/// The longest a sample waits for its claim before it counts as this long.
const CLAIM_LIMIT: Duration = Duration::from_secs(10);

/// The stand-in agent.
fn replay_agent() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/support/replay-agent")
}

struct Knobs {
    agents: usize,
    secs: u64,
    keys: usize,
    issues: u64,
}

/// A temp git repo with a seeded database and `agents` fleet issues in the backlog, below the
/// seeded ones (title(1) and title(2) stay the top two backlog cards for the keys).
struct Env {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    db: PathBuf,
    fleet: Vec<i64>,
}

fn env(k: &Knobs, name: &str) -> Env {
    let (dir, root) = git_repo();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let db = dir.path().join(format!("{name}.db"));
    seed(&db, k.issues, 0);
    let mut store = Store::open(&db).unwrap();
    let fleet = (0..k.agents)
        .map(|i| {
            store
                .create_issue(
                    &NewIssue {
                        title: format!("Fleet {i:02}"),
                        body: "Replay a transcript.".into(),
                        kind: Kind::Chore,
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
        .collect();
    Env {
        _dir: dir,
        root,
        home,
        db,
        fleet,
    }
}

fn vars(e: &Env, k: &Knobs) -> Vec<(&'static str, String)> {
    let mut v = app_env(&e.home, &e.db, &replay_agent());
    // Long enough to outlast every measurement; the agents are stopped with the process.
    v.push(("REPLAY_SECS", (k.secs * 4 + 600).to_string()));
    v
}

/// The CLI with the bench's environment, in the repo.
fn cli(e: &Env, vars: &[(&'static str, String)], args: &[&str]) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(&e.root)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ro(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

fn in_progress(db: &Path) -> i64 {
    ro(db)
        .query_row(
            "SELECT count(*) FROM issues WHERE status = 'in_progress'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn transcript_lines(db: &Path) -> i64 {
    ro(db)
        .query_row(
            "SELECT coalesce(sum(lines), 0) FROM transcript_chunks",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// Runs whose transcript grew between two readings of (run id, lines) per run.
fn run_lines(db: &Path) -> Vec<(i64, i64)> {
    let c = ro(db);
    let mut st = c
        .prepare("SELECT run_id, sum(lines) FROM transcript_chunks GROUP BY run_id ORDER BY run_id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// The time (epoch ms) of the event that moved `issue` to `to`, if there is one yet.
fn moved_at(c: &rusqlite::Connection, issue: i64, to: &str) -> Option<i64> {
    c.query_row(
        "SELECT ts FROM events WHERE issue_id = ?1 AND kind = 'issue.status'
         AND json_extract(data, '$.to') = ?2 ORDER BY id DESC LIMIT 1",
        rusqlite::params![issue, to],
        |r| r.get(0),
    )
    .ok()
}

/// Makes the fleet ready one issue at a time from another process and returns each issue's
/// ready-to-claimed latency from the event log, and the same from the outside (the CLI
/// started → the claim seen in the database, polled every 2 ms).
fn ramp(e: &Env, vars: &[(&'static str, String)]) -> (Vec<Duration>, Vec<Duration>) {
    let (mut logged, mut seen) = (Vec::new(), Vec::new());
    let c = ro(&e.db);
    for (i, id) in e.fleet.iter().enumerate() {
        // Spread the starts over the runner's 500 ms watch instead of keeping step with it.
        std::thread::sleep(Duration::from_millis(200 + (i as u64 * 137) % 500));
        let sent = Instant::now();
        cli(e, vars, &["move", &id.to_string(), "ready"]);
        let claimed = loop {
            if let Some(at) = moved_at(&c, *id, "in_progress") {
                break Some(at);
            }
            if sent.elapsed() > CLAIM_LIMIT {
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        seen.push(sent.elapsed().min(CLAIM_LIMIT));
        let ready = moved_at(&c, *id, "ready").unwrap();
        logged.push(match claimed {
            Some(at) => Duration::from_millis((at - ready).max(0) as u64),
            None => CLAIM_LIMIT,
        });
    }
    logged.sort();
    seen.sort();
    (logged, seen)
}

/// CPU share of one core, bytes written and wall time of `pid` over `secs`.
struct Window {
    share: f64,
    cpu: Duration,
    written: usize,
    wall: Duration,
    rss_kib: u64,
}

fn window(app: &PtyApp, secs: u64) -> Window {
    let pid = app.pid();
    let (watch, out0, t0) = (CpuWatch::start(pid), app.written(), Instant::now());
    std::thread::sleep(Duration::from_secs(secs));
    let (cpu, out1, wall) = (watch.stop(), app.written(), t0.elapsed());
    Window {
        share: cpu.as_secs_f64() / wall.as_secs_f64(),
        cpu,
        written: out1 - out0,
        wall,
        rss_kib: rss_kib(pid).0,
    }
}

fn pct(share: f64) -> String {
    format!("{:.2} % of a core", share * 100.0)
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

/// Lines stored per second over `secs`, and how many runs stored lines meanwhile.
fn streaming(db: &Path, before: &[(i64, i64)], wall: Duration) -> (f64, usize) {
    let after = run_lines(db);
    let grew = after
        .iter()
        .filter(|(run, n)| {
            before
                .iter()
                .find(|(r, _)| r == run)
                .map_or(true, |(_, m)| n > m)
        })
        .count();
    let total = |v: &[(i64, i64)]| v.iter().map(|(_, n)| n).sum::<i64>();
    (
        (total(&after) - total(before)) as f64 / wall.as_secs_f64(),
        grew,
    )
}

fn wait_all_running(e: &Env, n: usize) {
    wait_for("every fleet agent running", LIMIT, || {
        (in_progress(&e.db) == n as i64).then_some(())
    });
}

fn tui(k: &Knobs, rows: &mut Vec<Row>) {
    let e = env(k, "tui");
    let vars = vars(&e, k);
    let n = k.agents.to_string();
    let mut app = PtyApp::spawn(&e.root, &["--agents", &n], &vars, COLS, ROWS);
    app.wait_for(title(1).as_bytes(), 0, LIMIT)
        .expect("board filled");
    std::thread::sleep(Duration::from_secs(3));
    let idle = window(&app, k.secs);
    let quiet = key_latencies(&mut app, k.keys);
    println!(
        "tui idle {} s: {} ({} CPU, {} bytes written), RSS {}",
        k.secs,
        pct(idle.share),
        ms(idle.cpu),
        idle.written,
        mb(idle.rss_kib)
    );

    let (logged, seen) = ramp(&e, &vars);
    wait_all_running(&e, k.agents);
    std::thread::sleep(Duration::from_secs(3));
    let before = run_lines(&e.db);
    let busy = window(&app, k.secs);
    let (lps, grew) = streaming(&e.db, &before, busy.wall);
    let keys = key_latencies(&mut app, k.keys);
    let hwm = rss_kib(app.pid()).1;
    let lines = transcript_lines(&e.db);
    app.stop();
    println!(
        "tui with {} agents {} s: {} ({} CPU, {} bytes written), RSS {} (peak {}); \
         {lps:.0} lines/s stored by {grew} runs, {lines} lines in all",
        k.agents,
        k.secs,
        pct(busy.share),
        ms(busy.cpu),
        busy.written,
        mb(busy.rss_kib),
        mb(hwm)
    );
    print_latencies("ready → claimed (event log)", &logged);
    print_latencies("ready → claimed (CLI start → seen)", &seen);
    print_latencies("keys, idle", &quiet);
    print_latencies("keys, fleet streaming", &keys);

    let extra = busy.share - idle.share;
    rows.push(Row {
        what: format!(
            "CPU, {} agents streaming ({lps:.0} lines/s stored by {grew} runs), one TUI running them, {} s",
            k.agents, k.secs
        ),
        figure: format!("{} ({} bytes to the terminal)", pct(busy.share), busy.written),
        baseline: format!("{} idle, same process", pct(idle.share)),
        ratio: format!("+{:.2} points", extra * 100.0),
        target: "≤ +5 % of a core".into(),
        met: Some(extra <= 0.05 && grew >= k.agents),
    });
    rows.push(Row {
        what: format!("RSS, {} agents streaming", k.agents),
        figure: format!("{} (peak {})", mb(busy.rss_kib), mb(hwm)),
        baseline: format!("{} idle, same process", mb(idle.rss_kib)),
        ratio: format!("{:.2}×", busy.rss_kib as f64 / idle.rss_kib.max(1) as f64),
        target: "≤ 128 MB".into(),
        met: Some(hwm <= 128 * 1024),
    });
    let (q99, b99) = (percentile(&quiet, 99.0), percentile(&keys, 99.0));
    rows.push(Row {
        what: format!("key-to-frame p99, {} agents streaming", k.agents),
        figure: format!("{} (p50 {})", ms(b99), ms(percentile(&keys, 50.0))),
        baseline: format!("{} p99 idle, same process", ms(q99)),
        ratio: format!("{:.2}×", b99.as_secs_f64() / q99.as_secs_f64()),
        target: "p99 ≤ 50 ms".into(),
        met: Some(b99 <= Duration::from_millis(50)),
    });
    let (l99, s99) = (percentile(&logged, 99.0), percentile(&seen, 99.0));
    rows.push(Row {
        what: format!(
            "ready → claimed from another process, {} samples (event log), 0 to {} agents streaming",
            logged.len(),
            k.agents - 1
        ),
        figure: format!(
            "p99 {} (p50 {}, max {})",
            ms(l99),
            ms(percentile(&logged, 50.0)),
            ms(percentile(&logged, 100.0))
        ),
        baseline: format!("p99 {} CLI start → claim seen", ms(s99)),
        ratio: "—".into(),
        target: "p99 ≤ 1 s".into(),
        met: Some(l99 <= Duration::from_secs(1) && logged.len() >= 20),
    });
}

fn print_latencies(what: &str, sorted: &[Duration]) {
    println!(
        "{what}: {} samples, p50 {} p90 {} p99 {} max {}",
        sorted.len(),
        ms(percentile(sorted, 50.0)),
        ms(percentile(sorted, 90.0)),
        ms(percentile(sorted, 99.0)),
        ms(percentile(sorted, 100.0))
    );
}

/// A headless runner with `agents` slots, its output discarded.
fn headless(e: &Env, vars: &[(&'static str, String)], agents: usize) -> Child {
    Command::new(bin())
        .args(["run", "--agents", &agents.to_string()])
        .current_dir(&e.root)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn attach(k: &Knobs, rows: &mut Vec<Row>) {
    let e = env(k, "attach");
    let vars = vars(&e, k);
    let mut runner = headless(&e, &vars, k.agents);
    let mut app = PtyApp::spawn(&e.root, &["--no-runner"], &vars, COLS, ROWS);
    app.wait_for(title(1).as_bytes(), 0, LIMIT)
        .expect("board filled");
    std::thread::sleep(Duration::from_secs(3));
    let runner_watch = CpuWatch::start(runner.id());
    let idle = window(&app, k.secs);
    let runner_idle = runner_watch.stop();
    let quiet = key_latencies(&mut app, k.keys);

    for id in &e.fleet {
        cli(&e, &vars, &["move", &id.to_string(), "ready"]);
    }
    wait_all_running(&e, k.agents);
    // The attached TUI tails the new runs within a second of their first batch.
    std::thread::sleep(Duration::from_secs(3));
    let before = run_lines(&e.db);
    let runner_watch = CpuWatch::start(runner.id());
    let busy = window(&app, k.secs);
    let runner_busy = runner_watch.stop();
    let (lps, grew) = streaming(&e.db, &before, busy.wall);
    let keys = key_latencies(&mut app, k.keys);
    let hwm = rss_kib(app.pid()).1;
    app.stop();
    stop_runner(&mut runner);
    println!(
        "attached tui idle {} s: {} ({} bytes written), RSS {}; headless runner {}",
        k.secs,
        pct(idle.share),
        idle.written,
        mb(idle.rss_kib),
        pct(runner_idle.as_secs_f64() / idle.wall.as_secs_f64())
    );
    let runner_share = runner_busy.as_secs_f64() / busy.wall.as_secs_f64();
    println!(
        "attached tui with {} remote agents {} s: {} ({} bytes written), RSS {} (peak {}); \
         headless runner {}; {lps:.0} lines/s stored by {grew} runs",
        k.agents,
        k.secs,
        pct(busy.share),
        busy.written,
        mb(busy.rss_kib),
        mb(hwm),
        pct(runner_share)
    );
    print_latencies("attached keys, idle", &quiet);
    print_latencies("attached keys, fleet streaming", &keys);
    let extra = busy.share - idle.share;
    rows.push(Row {
        what: format!(
            "CPU of a `--no-runner` TUI watching {} remote agents ({lps:.0} lines/s stored by {grew} runs), {} s",
            k.agents, k.secs
        ),
        figure: format!("{} ({} bytes to the terminal)", pct(busy.share), busy.written),
        baseline: format!("{} before they started, same process", pct(idle.share)),
        ratio: format!("+{:.2} points", extra * 100.0),
        target: "—".into(),
        met: None,
    });
    rows.push(Row {
        what: format!(
            "CPU of the headless `run --agents {}` running them",
            k.agents
        ),
        figure: pct(runner_share),
        baseline: format!(
            "{} idle",
            pct(runner_idle.as_secs_f64() / idle.wall.as_secs_f64())
        ),
        ratio: "—".into(),
        target: "—".into(),
        met: None,
    });
    rows.push(Row {
        what: format!("RSS of the attached TUI, {} remote agents", k.agents),
        figure: format!("{} (peak {})", mb(busy.rss_kib), mb(hwm)),
        baseline: format!("{} before, same process", mb(idle.rss_kib)),
        ratio: format!("{:.2}×", busy.rss_kib as f64 / idle.rss_kib.max(1) as f64),
        target: "—".into(),
        met: None,
    });
    let (q99, b99) = (percentile(&quiet, 99.0), percentile(&keys, 99.0));
    rows.push(Row {
        what: format!(
            "key-to-frame p99 of the attached TUI, {} remote agents",
            k.agents
        ),
        figure: format!("{} (p50 {})", ms(b99), ms(percentile(&keys, 50.0))),
        baseline: format!("{} p99 before, same process", ms(q99)),
        ratio: format!("{:.2}×", b99.as_secs_f64() / q99.as_secs_f64()),
        target: "—".into(),
        met: None,
    });
}

/// SIGTERM, as a service manager would stop the runner, then a kill after a grace period.
fn stop_runner(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| name.contains(a.as_str()));
    let k = Knobs {
        agents: env_num("BENCH_FLEET_AGENTS", 64).max(1) as usize,
        secs: env_num("BENCH_FLEET_SECS", 60).max(1),
        keys: env_num("BENCH_KEYS", 150).max(2) as usize,
        issues: env_num("BENCH_FLEET_ISSUES", 10_000).max(2),
    };
    println!(
        "fleet: {} stand-in agents (a stream-json line every 250 ms each), {} s windows, {} keys, {} issues, {COLS}×{ROWS}",
        k.agents, k.secs, k.keys, k.issues
    );
    let mut rows = Vec::new();
    if want("tui") {
        tui(&k, &mut rows);
    }
    if want("attach") {
        attach(&k, &mut rows);
    }
    print_table("fleet", &rows);
}
