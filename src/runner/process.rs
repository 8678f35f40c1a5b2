//! Agent processes: their own process group, killed whole, and output read in bounded lines.

use crate::store::sql::StoreUrl;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// Longest stored line; the rest of a longer line is dropped with a marker saying how much.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Whether a process exists (a zombie counts as gone).
pub fn pid_alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => {
            // Without /proc, ask the kernel.
            i32::try_from(pid).is_ok_and(|p| nix::sys::signal::kill(Pid::from_raw(p), None).is_ok())
        }
    }
}

/// The environment entry that marks an agent's processes: the database and the run, so that
/// runs of other repositories on the machine never match. The database path is canonical, so
/// a process that named it differently (`--db x.db` in one directory, an absolute path in
/// another) still finds the agents.
pub fn run_marker(db: &StoreUrl, run_id: i64) -> (String, String) {
    let db = match db {
        StoreUrl::Sqlite(path) => std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.clone())
            .display()
            .to_string(),
        // Password hidden: the marker is in every agent's environment.
        StoreUrl::Postgres(url) => url.to_string(),
    };
    ("AUTOPILOT_RUN".into(), format!("{db}#{run_id}"))
}

/// How long killing orphans waits for them to be gone.
const ORPHAN_GRACE: Duration = Duration::from_secs(2);

/// Live processes whose environment (`/proc/<pid>/environ`, one `KEY=value` per entry)
/// satisfies `matches`.
pub fn pids_with_env(matches: impl Fn(&[&[u8]]) -> bool) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
            (matches(&vars) && pid_alive(i64::from(pid))).then_some(pid)
        })
        .collect()
}

/// Kills every process whose environment carries the run's marker: the agent of a run whose
/// runner died, and everything it started. Waits (briefly) until they are gone, so that
/// whoever reports the recovery can say so truthfully. Returns how many were signalled.
pub fn kill_run_orphans(db: &StoreUrl, run_id: i64) -> usize {
    let (key, value) = run_marker(db, run_id);
    let needle = format!("{key}={value}");
    let pids = pids_with_env(|vars| vars.contains(&needle.as_bytes()));
    for pid in &pids {
        let _ = nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    let start = std::time::Instant::now();
    while pids.iter().any(|p| pid_alive(i64::from(*p))) && start.elapsed() < ORPHAN_GRACE {
        std::thread::sleep(Duration::from_millis(10));
    }
    pids.len()
}

/// Sends `signal` to every process in the group led by `pgid`.
pub fn signal_group(pgid: u32, signal: Signal) {
    if let Ok(raw) = i32::try_from(pgid) {
        if raw > 0 {
            let _ = killpg(Pid::from_raw(raw), signal);
        }
    }
}

/// Terminates a process group: SIGTERM, a grace period for the leader to exit, then SIGKILL for
/// whatever is left of the group (children included).
pub async fn terminate_group(pgid: u32, child: &mut tokio::process::Child, grace: Duration) {
    signal_group(pgid, Signal::SIGTERM);
    let _ = tokio::time::timeout(grace, child.wait()).await;
    signal_group(pgid, Signal::SIGKILL);
}

/// Splits a byte stream, fed block by block, into lines, keeping at most `cap` bytes of each
/// (the rest is counted, never buffered). A line is handed over without its `\n` and without
/// a trailing `\r`; a line that already sits whole in a block is not copied.
#[derive(Debug)]
pub struct LineSplitter {
    cap: usize,
    /// The start of a line whose newline has not arrived yet.
    partial: Vec<u8>,
    dropped: usize,
}

impl LineSplitter {
    /// A splitter keeping at most `cap` bytes of a line.
    pub fn new(cap: usize) -> LineSplitter {
        LineSplitter {
            cap,
            partial: Vec::new(),
            dropped: 0,
        }
    }

    /// Takes the next block; `line(bytes, dropped)` gets every line the block completes.
    pub fn feed(&mut self, mut block: &[u8], mut line: impl FnMut(&[u8], usize)) {
        while let Some(end) = memchr::memchr(b'\n', block) {
            if self.partial.is_empty() && self.dropped == 0 {
                let keep = end.min(self.cap);
                line(trim_cr(&block[..keep]), end - keep);
            } else {
                self.append(&block[..end]);
                line(trim_cr(&self.partial), self.dropped);
                self.partial.clear();
                self.dropped = 0;
            }
            block = &block[end + 1..];
        }
        self.append(block);
    }

    /// The end of the stream: output that ends without a newline is still a line.
    pub fn finish(&mut self, mut line: impl FnMut(&[u8], usize)) {
        if !self.partial.is_empty() || self.dropped > 0 {
            line(trim_cr(&self.partial), self.dropped);
            self.partial.clear();
            self.dropped = 0;
        }
    }

    fn append(&mut self, piece: &[u8]) {
        let keep = piece.len().min(self.cap.saturating_sub(self.partial.len()));
        self.partial.extend_from_slice(&piece[..keep]);
        self.dropped += piece.len() - keep;
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line a splitter hands over, fed in blocks of `block` bytes.
    fn split(data: &[u8], cap: usize, block: usize) -> Vec<(Vec<u8>, usize)> {
        let mut out = Vec::new();
        let mut splitter = LineSplitter::new(cap);
        for piece in data.chunks(block) {
            splitter.feed(piece, |l, d| out.push((l.to_vec(), d)));
        }
        splitter.finish(|l, d| out.push((l.to_vec(), d)));
        out
    }

    #[test]
    fn lines_are_capped_and_counted() {
        let data = [
            b"short\n".as_slice(),
            &[b'x'; 100],
            b"\nlast-without-newline",
        ]
        .concat();
        // Blocks smaller than a line, and one block holding everything, give the same lines.
        for block in [7, data.len()] {
            let lines = split(&data, 10, block);
            assert_eq!(lines.len(), 3);
            assert_eq!(lines[0], (b"short".to_vec(), 0));
            assert_eq!(lines[1], (vec![b'x'; 10], 90));
            assert_eq!(lines[2], (b"last-witho".to_vec(), 10));
            let lines = split(&data, 100, block);
            assert_eq!(lines[2], (b"last-without-newline".to_vec(), 0));
        }
        assert_eq!(split(b"", 10, 7), []);
        assert_eq!(
            split(b"a\r\n\nb\r", 10, 1),
            [(b"a".to_vec(), 0), (Vec::new(), 0), (b"b".to_vec(), 0)]
        );
    }
}
