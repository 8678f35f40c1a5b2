//! Agent processes: their own process group, killed whole, and output read in bounded lines.

use std::io;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

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
/// runs of other repositories on the machine never match.
pub fn run_marker(db: &std::path::Path, run_id: i64) -> (String, String) {
    ("AUTOPILOT_RUN".into(), format!("{}#{run_id}", db.display()))
}

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
/// runner died, and everything it started. Returns how many were signalled.
pub fn kill_run_orphans(db: &std::path::Path, run_id: i64) -> usize {
    let (key, value) = run_marker(db, run_id);
    let needle = format!("{key}={value}");
    let pids = pids_with_env(|vars| vars.contains(&needle.as_bytes()));
    for pid in &pids {
        let _ = nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGKILL);
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

/// Reads one line (without its `\n`) into `buf`, keeping at most `cap` bytes.
/// Returns `None` at end of input, else how many bytes were dropped from this line.
pub async fn read_capped_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Option<usize>> {
    buf.clear();
    let mut dropped = 0usize;
    let mut read_any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if read_any { Some(dropped) } else { None });
        }
        read_any = true;
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        let room = cap.saturating_sub(buf.len());
        let keep = chunk.len().min(room);
        buf.extend_from_slice(&chunk[..keep]);
        dropped += chunk.len() - keep;
        let consumed = done.unwrap_or(chunk.len());
        reader.consume(consumed);
        if done.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some(dropped));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_capped_and_counted() {
        let data = [
            b"short\n".as_slice(),
            &[b'x'; 100],
            b"\nlast-without-newline",
        ]
        .concat();
        let mut reader = tokio::io::BufReader::with_capacity(7, data.as_slice());
        let mut buf = Vec::new();
        assert_eq!(
            read_capped_line(&mut reader, &mut buf, 10).await.unwrap(),
            Some(0)
        );
        assert_eq!(buf, b"short");
        assert_eq!(
            read_capped_line(&mut reader, &mut buf, 10).await.unwrap(),
            Some(90)
        );
        assert_eq!(buf, vec![b'x'; 10]);
        assert_eq!(
            read_capped_line(&mut reader, &mut buf, 100).await.unwrap(),
            Some(0)
        );
        assert_eq!(buf, b"last-without-newline");
        assert_eq!(
            read_capped_line(&mut reader, &mut buf, 100).await.unwrap(),
            None
        );
    }
}
