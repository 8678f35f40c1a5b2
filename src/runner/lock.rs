//! The runner lock: a file next to the database (`<db>.runner.lock`) that the process running
//! agents on it holds with an advisory lock, and that names that process (`pid 1234@host since
//! …`). Two runners on one database then say so: the second one finds it held. The kernel
//! drops the lock with its process, so the file a dead runner left is simply taken over.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// The runner lock, held while this value lives.
#[derive(Debug)]
pub struct RunnerLock {
    _file: Flock<File>,
    path: PathBuf,
}

/// Why the runner lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds it.
    #[error("another runner already runs agents on this database: {holder} (lock file {})", path.display())]
    Held {
        /// What the holder wrote: `pid 1234@host since …` (printable).
        holder: String,
        /// The lock file.
        path: PathBuf,
    },
    /// The file could not be opened, locked or written.
    #[error("cannot use the runner lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// The lock file of the database at `db`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".runner.lock");
    db.with_file_name(name)
}

impl RunnerLock {
    /// Takes the runner lock of the database at `db`, writing who holds it.
    pub fn acquire(db: &Path) -> Result<RunnerLock, LockError> {
        let path = lock_path(db);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        // Not truncated on open: the holder's name must survive a second runner's try.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(f) => f,
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                let mut text = String::new();
                // A holder that has not written its name yet is still a holder.
                let _ = file.read_to_string(&mut text);
                let holder = crate::domain::sanitize::one_line(text.trim());
                let holder = if holder.is_empty() {
                    "a process that has not said who it is yet".into()
                } else {
                    holder
                };
                return Err(LockError::Held { holder, path });
            }
            Err((_, e)) => return Err(io(e.into())),
        };
        let at = crate::domain::format_millis(crate::domain::now_millis());
        let me = format!(
            "pid {}@{} since {at}\n",
            std::process::id(),
            crate::sys::host_name()
        );
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(me.as_bytes()).map_err(io)?;
        Ok(RunnerLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_first_holder_and_a_stale_file_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("autopilot.db");
        std::fs::write(lock_path(&db), "pid 999999@gone since then\n").unwrap();
        let first = RunnerLock::acquire(&db).expect("a file nobody holds is taken over");
        let text = std::fs::read_to_string(first.path()).unwrap();
        assert!(
            text.starts_with(&format!("pid {}@", std::process::id())),
            "{text}"
        );
        let err = RunnerLock::acquire(&db).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}@", std::process::id())),
            "{msg}"
        );
        drop(first);
        RunnerLock::acquire(&db).expect("free again once dropped");
    }
}
