//! SQLite, the single source of truth: issues, comments, runs, transcripts and the event log.
//!
//! Every state change and its event row commit in one transaction. Writers take the write lock
//! up front (`BEGIN IMMEDIATE`) so two processes never deadlock upgrading a read lock, and a busy
//! database is retried until a deadline instead of surfacing "database is locked" at once.

mod archive;
mod board;
mod budget;
mod claims;
mod comments;
mod deps;
mod events;
mod feed;
mod issues;
mod learnings;
mod move_to;
mod needs;
mod pg;
mod recovery;
mod repeat;
mod runs;
mod schema;
mod schema_pg;
mod search;
mod search_pg;
mod settings;
mod spend;
pub mod sql;
mod stats;
mod stats_flow;
mod stats_templates;
mod subtasks;
mod tail;
#[cfg(test)]
pub(crate) mod test_db;
mod transcripts;

use settings::upsert_setting;
pub(crate) use settings::{held_until, paused_in, setting_in};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags};
use sql::{Conn, StoreUrl, Tx};

use crate::domain::redact::Redactor;
use crate::domain::{now_millis, Millis, TransitionError};
// The test modules below reach these through `super::*`.
#[cfg(test)]
use crate::domain::{Actor, ActorId};

pub use board::StatusCounts;
pub use budget::{over_budget_comment, Caps, Claim, DailyHold, ReviewFull, BUDGET_HOLD};
pub use feed::Feed;
pub use issues::{ImportOutcome, ImportedIssue, IssueEdit, NewIssue};
pub use move_to::Moved;
pub use recovery::{Abandoned, Recovered, Stop};
pub use runs::{ReviewMarks, RunEnd, TranscriptBatch, TranscriptLine};
pub use search::{SearchHit, SearchSource};
pub use stats::StatsQuery;
pub use tail::{Chunk, ForeignRun};
pub use transcripts::Append;

/// How long one statement waits for a lock before SQLite reports busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a write transaction is retried while the database stays busy, unless
/// `AUTOPILOT_LOCK_TIMEOUT_MS` says otherwise.
const WRITE_DEADLINE: Duration = Duration::from_secs(30);

fn write_deadline() -> Duration {
    std::env::var("AUTOPILOT_LOCK_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(WRITE_DEADLINE, Duration::from_millis)
}

/// Everything the store can refuse, each with a message a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but is not an SQLite database.
    #[error("{path} is not an autopilot database (not SQLite, or corrupt); move it aside or pass another --db")]
    NotADatabase {
        /// The offending file.
        path: PathBuf,
    },
    /// The file was written by a newer autopilot-tui.
    #[error("{path} has schema version {found}, newer than this autopilot-tui supports ({supported}); upgrade autopilot-tui — the database was left untouched")]
    TooNew {
        /// The database.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// Another process held the write lock past the timeout.
    #[error("the database is locked by another process (waited {waited:?}); try again, or find the process holding {path}")]
    Locked {
        /// The database.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
    /// The database or its directory cannot be written (read-only, permissions).
    #[error("cannot write {path}: {detail}; make sure the file and its directory are writable (nothing was changed)")]
    NotWritable {
        /// The database.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// The process has no file descriptor left to open the database with.
    #[error("cannot open {path}: this process is out of file descriptors (too many open files); run fewer agents (--agents) or raise the limit (ulimit -n)")]
    OutOfFiles {
        /// The database.
        path: PathBuf,
    },
    /// A write failed for lack of space (a full disk, a quota or a file size limit).
    #[error("could not write {path}: {detail} — is the disk full? Nothing was changed; free some space and retry")]
    Full {
        /// The database.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// The path names something other than a regular file (a FIFO, a device, a directory).
    #[error("{path} is {what}, not a database file; pass --db (or AUTOPILOT_DB) the path of a regular file, which is created if missing")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// The directory for the database could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No issue with that id.
    #[error("issue #{0} not found")]
    IssueNotFound(i64),
    /// No run with that id.
    #[error("run {0} not found")]
    RunNotFound(i64),
    /// The state machine refused the move.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A value that breaks a rule (empty title, …).
    #[error("{0}")]
    Invalid(String),
    /// A search query SQLite's full-text engine cannot read.
    #[error("cannot read the search query {query:?}: {detail}. Words match words; use \"quotes\" for a phrase, prefix* for a prefix, AND / OR / NOT between terms, and quote words with punctuation (\"foo-bar\")")]
    BadQuery {
        /// The query, made printable.
        query: String,
        /// What FTS5 said.
        detail: String,
    },
    /// Anything else SQLite reports.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// What the portable layer reports that is not SQLite's own (PostgreSQL's errors, a lost
    /// connection, a column of the wrong type), each with its own message.
    #[error(transparent)]
    Backend(sql::SqlError),
    /// An event's details could not be written as JSON.
    #[error("cannot encode an event: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Whether runners may claim, and why not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PauseState {
    /// Paused by a person (`p`, `autopilot-tui pause`) until resumed.
    pub paused: bool,
    /// Held until this time (epoch ms), after a rate or usage limit.
    pub until: Option<Millis>,
    /// Why it is held.
    pub reason: Option<String>,
}

/// Store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open connection to the autopilot database.
pub struct Store {
    conn: Conn,
    /// Where the store lives: what other threads and processes open to share it.
    url: StoreUrl,
    /// The SQLite file; for a server, its URL with the password hidden (for messages).
    path: PathBuf,
    deadline: Duration,
    /// A shared server's change feed (its listener started on first open in this process).
    feed: Option<Arc<Feed>>,
    /// Applied to every text written (comments, titles, bodies, run errors): the one door
    /// through which people's and agents' words reach the database.
    redactor: Arc<Redactor>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = schema::MIGRATIONS.len() as i64;

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Turns SQLite's codes into errors that say what to do.
fn classify(path: &Path, waited: Duration, e: StoreError) -> StoreError {
    let StoreError::Sqlite(ref inner) = e else {
        return e;
    };
    let path = path.to_path_buf();
    let detail = inner.to_string();
    match inner.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::NotADatabase { path }
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Locked { path, waited }
        }
        // SQLite says only "unable to open database file", whatever the cause.
        Some(ErrorCode::CannotOpen) if out_of_file_descriptors() => StoreError::OutOfFiles { path },
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => {
            StoreError::NotWritable { path, detail }
        }
        Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure) => StoreError::Full { path, detail },
        _ => e,
    }
}

/// Runs `attempt` again while SQLite refuses it as busy, backing off, for at most `deadline`;
/// then reports the database as locked.
fn retry_busy<T>(
    path: &Path,
    deadline: Duration,
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    let start = Instant::now();
    let mut backoff = Duration::from_millis(5);
    loop {
        match attempt() {
            Err(StoreError::Sqlite(ref e)) if is_busy(e) => {
                if start.elapsed() >= deadline {
                    return Err(StoreError::Locked {
                        path: path.to_path_buf(),
                        waited: start.elapsed(),
                    });
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// Creates the database file (and any missing directory on the way) private to the user,
/// before SQLite does: SQLite gives a new database the default mode (world-readable under the
/// usual umask) and copies that mode to its `-wal` and `-shm` files. An existing file is
/// left as it is.
fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let special = path
        .to_str()
        .is_some_and(|p| p.starts_with("file:") || p == ":memory:" || p.is_empty());
    if special {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
    }
    // The file existing already (or another process creating it at this moment) is fine;
    // anything else SQLite reports in its own words when it opens the file.
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// Texts written are redacted with the built-in patterns only; [`Store::open_with`] adds
    /// the configured ones.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with(path, Redactor::builtin())
    }

    /// [`Store::open`], redacting every text written with `redactor`.
    pub fn open_with(path: &Path, redactor: Arc<Redactor>) -> Result<Store> {
        // SQLite would open a FIFO or a device and fail later with an I/O error that reads
        // like a full disk; what is wrong is the path.
        if let Some(what) = not_a_regular_file(path) {
            return Err(StoreError::NotAFile {
                path: path.to_path_buf(),
                what,
            });
        }
        create_private(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| classify(path, BUSY_TIMEOUT, e.into()))?;
        let conn = Conn::from_sqlite(conn, &StoreUrl::Sqlite(path.to_path_buf()))?;
        let mut store = Store {
            conn,
            url: StoreUrl::Sqlite(path.to_path_buf()),
            path: path.to_path_buf(),
            feed: None,
            deadline: write_deadline(),
            redactor,
        };
        // Processes opening a new file at once can find each other mid-switch to WAL, where
        // SQLite reports busy at once rather than wait (it would deadlock): retry like a write.
        let deadline = store.deadline;
        retry_busy(path, deadline, || store.configure()).map_err(|e| store.classify(e))?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens the store `url` names: an SQLite file (as [`Store::open_with`]) or a PostgreSQL
    /// database, whose schema is brought up to date the same way.
    pub fn open_url(url: &StoreUrl, redactor: Arc<Redactor>) -> Result<Store> {
        match url {
            StoreUrl::Sqlite(path) => Store::open_with(path, redactor),
            StoreUrl::Postgres(pg) => pg::open(pg, redactor),
        }
    }

    /// Where this store lives: what another thread or process opens to share it.
    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// Whether the store is a server several machines share (PostgreSQL), rather than a file
    /// on this one.
    pub fn is_shared(&self) -> bool {
        matches!(self.url, StoreUrl::Postgres(_))
    }

    /// The database file this store writes (for a server, its URL with the password hidden).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes how long a write waits for another process's lock before failing (the
    /// default comes from `AUTOPILOT_LOCK_TIMEOUT_MS`).
    pub fn set_lock_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.deadline = timeout;
        self.conn.set_deadline(timeout);
        Ok(())
    }

    /// What every text written goes through.
    pub fn redactor(&self) -> Arc<Redactor> {
        Arc::clone(&self.redactor)
    }

    fn classify(&self, e: StoreError) -> StoreError {
        classify(&self.path, BUSY_TIMEOUT.min(self.deadline), e)
    }

    fn configure(&mut self) -> Result<()> {
        self.conn.set_deadline(self.deadline);
        let Some(conn) = self.conn.sqlite() else {
            return Ok(());
        };
        // Reading the schema first makes a non-SQLite file fail here, before any write.
        let _: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "could not switch the database to WAL");
        }
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA secure_delete = ON;",
        )?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let found: i64 = sql::Exec::query_row(self.db(), "PRAGMA user_version", &[], |r| r.get(0))
            .map_err(|e| self.classify(e.into()))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        let redactor = Arc::clone(&self.redactor);
        self.write(|tx| {
            use sql::Exec;
            // Re-read inside the write lock: another process may have migrated meanwhile.
            let current: i64 = tx.query_row("PRAGMA user_version", &[], |r| r.get(0))?;
            if current > SCHEMA_VERSION {
                return Err(StoreError::TooNew {
                    path: path.clone(),
                    found: current,
                    supported: SCHEMA_VERSION,
                });
            }
            for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(current as usize) {
                tx.execute_batch(sql)?;
                if i + 1 == schema::SEARCH_INDEX_VERSION {
                    search::backfill(tx, &redactor)?;
                }
                tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
            }
            Ok(())
        })
    }

    /// Runs `f` in a write transaction, retrying while other writers conflict (SQLite busy,
    /// PostgreSQL serialization failures): `f` may run more than once, so it only writes
    /// through `tx`.
    pub(crate) fn write<T>(&mut self, mut f: impl FnMut(&Tx<'_>) -> Result<T>) -> Result<T> {
        let (path, deadline) = (self.path.clone(), self.deadline);
        self.conn
            .transaction(|tx| {
                let out = f(tx)?;
                if sql::Exec::backend(tx) == sql::Backend::Postgres {
                    // Delivered to every listener when (and only if) this commits.
                    sql::Exec::execute_batch(tx, feed::NOTIFY)?;
                }
                Ok(out)
            })
            .map_err(|e| classify(&path, BUSY_TIMEOUT.min(deadline), e))
    }

    /// A shared server's change feed: what to wait on instead of looking at
    /// [`Store::data_version`] (`None` for SQLite, whose version is read from shared memory).
    pub fn change_feed(&self) -> Option<Arc<Feed>> {
        self.feed.clone()
    }

    /// The connection, for reads, on either backend.
    pub(crate) fn db(&self) -> &Conn {
        &self.conn
    }

    /// A counter that changes whenever another connection commits (cheap change detection):
    /// SQLite's `data_version`; on PostgreSQL the count of this process's change listener.
    pub fn data_version(&self) -> Result<i64> {
        let Some(conn) = self.conn.sqlite() else {
            // A shared server's commits are heard by this process's listener: no round trip.
            return Ok(self.feed.as_ref().map_or(0, |f| f.version()));
        };
        // Watchers look several times a second: the statement is parsed once, not per look.
        Ok(conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?)
    }
}

/// Whether this process can open no more files (EMFILE), or the system none (ENFILE).
fn out_of_file_descriptors() -> bool {
    std::fs::File::open("/dev/null").is_err_and(|e| {
        e.raw_os_error().is_some_and(|n| {
            n == nix::errno::Errno::EMFILE as i32 || n == nix::errno::Errno::ENFILE as i32
        })
    })
}

/// What `path` is when it exists and is not a regular file (symlinks followed).
fn not_a_regular_file(path: &Path) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::metadata(path).ok()?.file_type();
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("something other than a regular file")
    }
}

/// A timestamp for rows written now.
fn now() -> Millis {
    now_millis()
}

#[cfg(test)]
mod event_tests;
#[cfg(test)]
mod redaction_tests;
#[cfg(test)]
mod review_marks_tests;
#[cfg(test)]
mod search_tests;
#[cfg(test)]
mod stats_tests;
#[cfg(test)]
mod subtasks_tests;
#[cfg(test)]
mod tail_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upgrade_tests;
#[cfg(test)]
mod usage_tests;
