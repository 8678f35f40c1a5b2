//! Agent output ingest: a child writes FLOOD_LINES (default 1,000,000) stream-json lines of
//! ~300 bytes as fast as it can. The real `Runner` (Claude adapter from the real `Config`)
//! claims the issue, parses every line, stores it in the transcript and emits pane output,
//! which is folded into the real `App` pane ring buffer. Baseline, same run: the same child
//! writing the same bytes into a pipe that is read into /dev/null.
//!
//! `cargo bench --bench ingest` (`BENCH_INGEST_LINES=100000` for a quick run,
//! `BENCH_INGEST_ROUNDS` for more or fewer rounds; 3 by default).

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use autopilot_tui::config::{Config, Paths};
use autopilot_tui::runner::{Runner, RunnerEvent};
use autopilot_tui::store::{NewIssue, Store};
use autopilot_tui::ui::app::{App, PANE_CAPACITY};
use autopilot_tui::ui::keymap::Keymap;
use autopilot_tui::ui::theme::Theme;
use common::*;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Reads the flood child's stdout into a sink; returns (bytes, lines, time).
fn baseline(lines: u64) -> (u64, u64, Duration) {
    let start = Instant::now();
    let mut child = Command::new(flood_agent())
        .env("FLOOD_LINES", lines.to_string())
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn flood agent");
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 256 << 10];
    let (mut bytes, mut nl) = (0u64, 0u64);
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        bytes += n as u64;
        nl += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    child.wait().unwrap();
    (bytes, nl, start.elapsed())
}

struct Ingest {
    time: Duration,
    stored_lines: i64,
    max_pane_lines: usize,
    rss_before: u64,
    rss_peak: u64,
    /// CPU time of this process (runner, store, pane) during the run.
    cpu_runner: Duration,
    /// CPU time of the agent and the processes it started.
    cpu_agent: Duration,
}

fn ingest(lines: u64) -> Ingest {
    let (_dir, root) = git_repo();
    let db = root.join(".autopilot/autopilot.db");
    let mut store = Store::open(&db).unwrap();
    let issue = store
        .create_issue(
            &NewIssue {
                title: "Flood".into(),
                body: "print a lot".into(),
                kind: autopilot_tui::domain::Kind::Chore,
                priority: 0,
                ready: true,
                depends_on: Vec::new(),
                ..Default::default()
            },
            "bench",
        )
        .unwrap();
    let agent = flood_agent();
    let n = lines.to_string();
    let env = move |k: &str| match k {
        "AUTOPILOT_CLAUDE_BIN" => Some(agent.display().to_string()),
        "AUTOPILOT_AGENT_ID" => Some("bench".into()),
        _ => None,
    };
    let paths = Paths::for_repo(&root, Some(db.clone().into()));
    paths.ensure_state_dir().unwrap();
    let config = Config::load(paths, &env).unwrap();
    let adapter = config.adapter().unwrap();
    let mut settings = config.runner_settings(Some(1));
    // Store every line: the default 512 MiB cap per run would stop short of a large flood.
    settings.transcript_cap = 64 << 30;
    std::env::set_var("FLOOD_LINES", &n);
    // The runner refuses bypassPermissions as root without it, as it would for real claude.
    std::env::set_var("IS_SANDBOX", "1");

    let rt = autopilot_tui::sys::runtime().unwrap();
    let pid = std::process::id();
    let rss_before = rss_kib(pid).0;
    let (cpu_before, children_before) = (cpu_ns(pid), children_cpu_ns());
    let (time, max_pane_lines, rss_peak, cpu_runner, cpu_agent) = rt.block_on(async move {
        let (etx, mut erx) = mpsc::unbounded_channel::<RunnerEvent>();
        let (_ctx, crx) = mpsc::unbounded_channel();
        let runner = Runner::new(settings, adapter, etx);
        let start = Instant::now();
        let task = tokio::spawn(runner.run(true, crx, CancellationToken::new()));
        // The UI side: the same App and pane ring buffer the TUI folds runner events into.
        let mut app = App::new(
            Theme::default_dark(),
            Keymap::default(),
            "bench".into(),
            "bench".into(),
        );
        let (mut max_lines, mut peak) = (0usize, 0u64);
        let mut events = 0u64;
        while let Some(ev) = erx.recv().await {
            let finished = matches!(ev, RunnerEvent::RunFinished { .. });
            app.on_runner(ev);
            events += 1;
            if let Some(p) = app.panes().list().first() {
                max_lines = max_lines.max(p.lines.len());
            }
            if events % 64 == 0 {
                peak = peak.max(rss_kib(pid).0);
            }
            if finished {
                break;
            }
        }
        let time = start.elapsed();
        task.await.unwrap().unwrap();
        let cpu_runner = Duration::from_nanos(cpu_ns(pid).saturating_sub(cpu_before));
        let cpu_agent = Duration::from_nanos(children_cpu_ns().saturating_sub(children_before));
        (
            time,
            max_lines,
            peak.max(rss_kib(pid).0),
            cpu_runner,
            cpu_agent,
        )
    });
    let run = store.runs(issue.id).unwrap();
    let stored_lines = run.last().map_or(0, |r| r.transcript_lines);
    Ingest {
        time,
        stored_lines,
        max_pane_lines,
        rss_before,
        rss_peak,
        cpu_runner,
        cpu_agent,
    }
}

fn main() {
    let lines = env_num("BENCH_INGEST_LINES", 1_000_000);
    let rounds = env_num("BENCH_INGEST_ROUNDS", 3).max(1);
    println!(
        "ingest: {lines} stream-json lines through the runner vs. a pipe into /dev/null, {rounds} rounds"
    );
    // Warm the page cache and the shell once. Each round times the runner between two
    // baseline runs; the round with the median ratio is reported, so a burst of other load
    // on the machine moves single rounds, not the figure.
    let _ = baseline(lines.min(10_000));
    let mut results = Vec::new();
    for round in 1..=rounds {
        let (bytes, nl, base1) = baseline(lines);
        let real = ingest(lines);
        let (_, _, base2) = baseline(lines);
        let base = (base1 + base2) / 2;
        let mb = bytes as f64 / 1e6;
        let base_rate = mb / base.as_secs_f64();
        let rate = mb / real.time.as_secs_f64();
        println!(
            "round {round}: baseline {nl} lines, {mb:.0} MB in {:.2} s / {:.2} s ({base_rate:.0} MB/s); \
             runner {} lines stored in {:.2} s ({rate:.0} MB/s, {:.0} lines/s) = {:.2}×; \
             CPU per line: runner {:.2} µs, agent {:.2} µs; wall per line {:.2} µs",
            base1.as_secs_f64(),
            base2.as_secs_f64(),
            real.stored_lines,
            real.time.as_secs_f64(),
            nl as f64 / real.time.as_secs_f64(),
            rate / base_rate,
            real.cpu_runner.as_secs_f64() * 1e6 / nl as f64,
            real.cpu_agent.as_secs_f64() * 1e6 / nl as f64,
            real.time.as_secs_f64() * 1e6 / nl as f64,
        );
        assert_eq!(
            real.stored_lines as u64, nl,
            "every line the agent printed is stored"
        );
        results.push((rate / base_rate, rate, base_rate, nl, real));
    }
    results.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (ratio, rate, base_rate, nl, real) = results.swap_remove(results.len() / 2);
    println!(
        "pane: at most {} lines (capacity {PANE_CAPACITY}); RSS {} → peak {} KiB",
        real.max_pane_lines, real.rss_before, real.rss_peak
    );
    print_table(
        "ingest",
        &[
            Row {
                what: format!("agent output ingest, {lines} lines, median of {rounds} rounds"),
                figure: format!("{rate:.0} MB/s"),
                baseline: format!("{base_rate:.0} MB/s (pipe → /dev/null)"),
                ratio: format!("{ratio:.2}×"),
                target: "≥ 0.5×".into(),
                met: Some(ratio >= 0.5),
            },
            Row {
                what: "pane lines held".into(),
                figure: real.max_pane_lines.to_string(),
                baseline: format!("{nl} lines printed"),
                ratio: format!("{:.4}", real.max_pane_lines as f64 / nl as f64),
                target: format!("≤ {PANE_CAPACITY} (bounded)"),
                met: Some(real.max_pane_lines <= PANE_CAPACITY),
            },
            Row {
                what: "bench process RSS during ingest".into(),
                figure: format!("{:.1} MB", real.rss_peak as f64 / 1024.0),
                baseline: format!("{:.1} MB before", real.rss_before as f64 / 1024.0),
                ratio: format!(
                    "{:.2}×",
                    real.rss_peak as f64 / real.rss_before.max(1) as f64
                ),
                target: "bounded".into(),
                met: None,
            },
        ],
    );
}
