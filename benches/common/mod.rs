//! Shared bench helpers: seeded databases, temp git repos, the release binary in a pty, /proc
//! readings and the ratio table every bench prints.
//!
//! Seeding writes rows with plain SQL in one transaction (after `Store::open` created the real
//! schema): it is set-up, not what is measured, and 100,000 issues with 1,000,000 events would
//! otherwise take minutes. Everything measured goes through the product's own code.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use autopilot_tui::store::Store;

// The tests' helpers (the binary, the fake claude, git) serve the benches too.
#[path = "../../tests/support/mod.rs"]
mod test_support;
#[allow(unused_imports)] // each bench uses some of them
pub use test_support::{bin, fake_claude, git, wait_for};

mod backends;
#[allow(unused_imports)] // only the store benches compare backends
pub use backends::*;

/// The flood agent of the ingest bench.
pub fn flood_agent() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/support/flood-agent")
}

/// A number from the environment, else `default` (lets a quick run shrink a bench).
pub fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A temp dir holding a git repo with one commit (`<dir>/repo`).
pub fn git_repo() -> (tempfile::TempDir, PathBuf) {
    let repo = test_support::TestRepo::new();
    (repo.dir, repo.root)
}

/// How seeded issues are spread over the columns (per mille, `Status::ALL` order minus
/// in_progress, which needs runs): most work is done, as on a long-lived board.
const SPREAD: [(&str, u64); 5] = [
    ("backlog", 100),
    ("ready", 0),
    ("blocked", 10),
    ("in_review", 40),
    ("done", 850),
];

/// The title of seeded issue `id`: unique, one word, so it can be found in a terminal stream.
pub fn title(id: i64) -> String {
    format!("Card-{id:06}")
}

/// Creates (migrating) the database and adds `issues` issues spread over the columns, with
/// `events` event rows. Backlog issues come first, so `title(1)` is the top backlog card.
pub fn seed(db: &Path, issues: u64, events: u64) {
    drop(Store::open(db).expect("open store"));
    let mut conn = rusqlite::Connection::open(db).expect("open");
    let tx = conn.transaction().expect("tx");
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO issues (id, title, body, kind, status, priority, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6)",
            )
            .expect("prepare");
        let kinds = ["feature", "bug", "chore", "feedback"];
        let mut id = 0i64;
        for (status, share) in SPREAD {
            let n = if status == "done" {
                issues - id as u64
            } else {
                issues * share / 1000
            };
            for _ in 0..n {
                id += 1;
                ins.execute(rusqlite::params![
                    id,
                    title(id),
                    "Seeded for the benchmarks.\nSecond line of the body.",
                    kinds[id as usize % 4],
                    status,
                    1_700_000_000_000i64 + id,
                ])
                .expect("insert issue");
            }
        }
        let mut ev = tx
            .prepare(
                "INSERT INTO events (ts, kind, issue_id, actor, data) VALUES (?1, 'issue.created', ?2, 'human:bench', '{}')",
            )
            .expect("prepare");
        for e in 0..events {
            let issue = (e % issues.max(1)) as i64 + 1;
            ev.execute(rusqlite::params![1_700_000_000_000i64 + e as i64, issue])
                .expect("insert event");
        }
        // Blocked cards show the agent's question.
        tx.execute(
            "INSERT INTO comments (issue_id, author, author_kind, body, created_at)
             SELECT id, 'bench-1', 'agent', 'Which way should this go?', updated_at FROM issues WHERE status = 'blocked'",
            [],
        )
        .expect("questions");
    }
    tx.commit().expect("commit");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
        .expect("checkpoint");
}

/// Resident set size and its peak, in KiB, from /proc.
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Each live thread of `pid` and its CPU time so far (nanoseconds, from schedstat).
fn thread_times(pid: u32) -> Vec<(String, u64)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| {
            let ns = std::fs::read_to_string(t.path().join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some((t.file_name().to_string_lossy().into_owned(), ns))
        })
        .collect()
}

/// A process's CPU time over a window, thread by thread: a sum over live threads shrinks when
/// a thread with a past exits (a blocking-pool thread idles out after 10 s), and the process's
/// own tick counts are sampled, not measured. So each thread is watched every 100 ms, and its
/// last reading counts when it is gone.
pub struct CpuWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Duration>,
}

impl CpuWatch {
    /// Starts watching `pid`.
    pub fn start(pid: u32) -> CpuWatch {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut seen: std::collections::HashMap<String, (u64, u64)> = thread_times(pid)
                .into_iter()
                .map(|(tid, ns)| (tid, (ns, ns)))
                .collect();
            loop {
                let done = flag.load(std::sync::atomic::Ordering::SeqCst);
                for (tid, ns) in thread_times(pid) {
                    // A thread born in the window counts from zero.
                    seen.entry(tid).or_insert((0, 0)).1 = ns;
                }
                if done {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Duration::from_nanos(seen.values().map(|(a, b)| b.saturating_sub(*a)).sum())
        });
        CpuWatch { stop, thread }
    }

    /// The CPU time spent since [`CpuWatch::start`].
    pub fn stop(self) -> Duration {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}

/// CPU time (user + system, all threads) of a process, in nanoseconds, from schedstat.
pub fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// CPU time (user + system) of this process's waited-for children and their descendants, in
/// nanoseconds, from /proc/self/stat (clock ticks, so 10 ms steps).
pub fn children_cpu_ns() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // Fields after the command name (which may hold spaces) start at field 3, `state`;
    // cutime and cstime are fields 16 and 17.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(13)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    fields.iter().sum::<u64>() * 10_000_000
}

/// The p-th percentile (0..=100) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The median of unsorted samples.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    percentile(&samples, 50.0)
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// One line of the closing table: a figure, its baseline, the ratio and the target.
pub struct Row {
    pub what: String,
    pub figure: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    pub met: Option<bool>,
}

/// Prints the closing table in the Markdown format BENCHMARKS.md uses.
pub fn print_table(title: &str, rows: &[Row]) {
    println!("\n## {title}\n");
    println!("| what | figure | baseline (same run) | ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.what, r.figure, r.baseline, r.ratio, r.target, met
        );
    }
    println!();
}

/// Everything read from a pty master so far, with a signal for each new chunk.
#[derive(Default)]
struct Screen {
    bytes: Vec<u8>,
    closed: bool,
}

/// The release binary running full-screen in a pseudo-terminal of its own (a new session
/// whose controlling terminal is the pty, as a terminal emulator would start it).
pub struct PtyApp {
    pub child: Child,
    master: std::fs::File,
    screen: Arc<(Mutex<Screen>, Condvar)>,
    pub started: Instant,
}

impl PtyApp {
    /// Starts `bin()` with `args` in `cwd`, a `cols`×`rows` terminal and `env` on top of a
    /// clean environment.
    pub fn spawn(
        cwd: &Path,
        args: &[&str],
        env: &[(&str, String)],
        cols: u16,
        rows: u16,
    ) -> PtyApp {
        let size = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
        let slave = std::fs::File::from(pty.slave);
        let master = std::fs::File::from(pty.master);
        let mut cmd = Command::new("setsid");
        // -c: make the pty (our stdin) the controlling terminal, which crossterm opens as /dev/tty.
        cmd.arg("-c")
            .arg(bin())
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TERM", "xterm-256color")
            .stdin(slave.try_clone().expect("dup"))
            .stdout(slave.try_clone().expect("dup"))
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let child = cmd.spawn().expect("spawn the TUI");
        drop(slave);
        let screen: Arc<(Mutex<Screen>, Condvar)> = Arc::default();
        let reader = master.try_clone().expect("dup master");
        let s = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut reader = reader;
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let n = reader.read(&mut buf).unwrap_or(0);
                let (lock, cv) = &*s;
                let mut g = lock.lock().unwrap();
                if n == 0 {
                    g.closed = true;
                    cv.notify_all();
                    return;
                }
                g.bytes.extend_from_slice(&buf[..n]);
                cv.notify_all();
            }
        });
        PtyApp {
            child,
            master,
            screen,
            started,
        }
    }

    /// The process id (setsid execs the binary in place).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Bytes the app has written to the terminal so far.
    pub fn written(&self) -> usize {
        self.screen.0.lock().unwrap().bytes.len()
    }

    /// Types bytes (keys) into the terminal.
    pub fn keys(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write keys");
        self.master.flush().expect("flush keys");
    }

    /// Waits until `needle` appears in output written after byte `from`; returns when it was
    /// seen and the output length then.
    pub fn wait_for(
        &self,
        needle: &[u8],
        from: usize,
        limit: Duration,
    ) -> Option<(Instant, usize)> {
        let deadline = Instant::now() + limit;
        let (lock, cv) = &*self.screen;
        let mut g = lock.lock().unwrap();
        let mut at = from;
        loop {
            let hay = &g.bytes[at.min(g.bytes.len())..];
            if let Some(i) = hay.windows(needle.len()).position(|w| w == needle) {
                return Some((Instant::now(), at + i + needle.len()));
            }
            at = g.bytes.len().saturating_sub(needle.len()).max(at);
            let now = Instant::now();
            if g.closed || now >= deadline {
                return None;
            }
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// Asks the app to quit (SIGTERM, as a closing terminal would), then kills it if needed.
    pub fn stop(mut self) {
        test_support::stop_child(&mut self.child, Duration::from_secs(15));
    }
}

/// The environment the binary runs with in benches: isolated config, the given agent.
pub fn app_env(home: &Path, db: &Path, agent: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", home.display().to_string()),
        (
            "AUTOPILOT_CONFIG_HOME",
            home.join("config").display().to_string(),
        ),
        ("AUTOPILOT_DB", db.display().to_string()),
        ("AUTOPILOT_CLAUDE_BIN", agent.display().to_string()),
        ("AUTOPILOT_USER", "bench".into()),
        ("AUTOPILOT_AGENT_ID", "bench".into()),
        ("IS_SANDBOX", "1".into()),
    ]
}

/// Mean time per iteration of each criterion benchmark, gathered through `iter_custom`, so
/// the closing table can print ratios of benchmarks that ran in the same process.
static MEANS: Mutex<Vec<(String, u64, Duration)>> = Mutex::new(Vec::new());

/// Times `iters` runs of `f` and records them under `name`; returns the total for criterion.
pub fn timed(name: &str, iters: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    let took = start.elapsed();
    let mut m = MEANS.lock().unwrap();
    match m.iter_mut().find(|(n, _, _)| n == name) {
        Some(e) => {
            e.1 += iters;
            e.2 += took;
        }
        None => m.push((name.to_string(), iters, took)),
    }
    took
}

/// The mean time per iteration recorded under `name`.
pub fn mean(name: &str) -> Duration {
    let m = MEANS.lock().unwrap();
    m.iter()
        .find(|(n, _, _)| n == name)
        .map_or(Duration::ZERO, |(_, i, t)| {
            Duration::from_nanos((t.as_nanos() / u128::from((*i).max(1))) as u64)
        })
}

/// Microseconds with one decimal.
pub fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Alternates `j`/`k` on the backlog column; returns each key-to-frame latency, sorted.
pub fn key_latencies(app: &mut PtyApp, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (key, want) = if i % 2 == 0 {
            (b"j", title(2))
        } else {
            (b"k", title(1))
        };
        let from = app.written();
        let sent = Instant::now();
        app.keys(key);
        match app.wait_for(want.as_bytes(), from, Duration::from_secs(5)) {
            Some((at, _)) => out.push(at - sent),
            None => out.push(Duration::from_secs(5)),
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    out.sort();
    out
}
