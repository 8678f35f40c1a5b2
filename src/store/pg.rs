//! Opening a PostgreSQL store: connecting, and bringing its schema up to date.
//!
//! Several processes (on several machines) may open a new database at once: the migration
//! runs in one transaction, begun once this session holds an advisory lock, and reads the
//! version again in it, so exactly one of them migrates and the others find it done. A
//! database of a newer schema is refused before anything is written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::schema_pg::{BASELINE, BASELINE_VERSION, PG_MIGRATIONS, VERSION};
use super::sql::{Conn, Exec, PgUrl, StoreUrl};
use super::{write_deadline, Result, Store, StoreError};
use crate::domain::redact::Redactor;

/// The advisory lock migrations hold (advisory locks are per database): any constant works as
/// long as every autopilot-tui uses the same one.
const MIGRATION_LOCK: i64 = 0x6175_746f_7069_6c74; // "autopilt"

/// Connects to `url` and migrates its schema.
pub(super) fn open(url: &PgUrl, redactor: Arc<Redactor>) -> Result<Store> {
    let store_url = StoreUrl::Postgres(url.clone());
    let mut conn = Conn::open(&store_url)?;
    let deadline = write_deadline();
    conn.set_deadline(deadline);
    let path = PathBuf::from(url.to_string());
    migrate(&conn, &path)?;
    Ok(Store {
        conn,
        url: store_url,
        path,
        deadline,
        redactor,
    })
}

/// The database's schema version; 0 for an empty database.
fn version(conn: &impl Exec) -> Result<i64> {
    let exists: bool = conn.query_row(
        "SELECT to_regclass('schema_version') IS NOT NULL",
        &[],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    Ok(conn
        .query_opt("SELECT version FROM schema_version", &[], |r| r.get(0))?
        .unwrap_or(0))
}

fn too_new(path: &Path, found: i64) -> StoreError {
    StoreError::TooNew {
        path: path.to_path_buf(),
        found,
        supported: VERSION,
    }
}

/// Brings the schema to [`VERSION`], or refuses a newer one untouched.
fn migrate(conn: &Conn, path: &Path) -> Result<()> {
    let found = version(conn)?;
    if found > VERSION {
        return Err(too_new(path, found));
    }
    if found == VERSION {
        return Ok(());
    }
    // The lock is taken before the transaction begins, not inside it (pg_advisory_xact_lock):
    // a session caches that a table does not exist, and only a new transaction reads the
    // catalog changes committed meanwhile, so a process that waited on the lock inside its
    // transaction would not see the schema the one before it created. The server drops a
    // session's lock with its connection.
    conn.execute_batch(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
    let out = conn
        .execute_batch("BEGIN ISOLATION LEVEL READ COMMITTED")
        .map_err(StoreError::from)
        .and_then(|()| match migrate_locked(conn, path) {
            Ok(()) => Ok(conn.execute_batch("COMMIT")?),
            Err(e) => {
                // The error says what failed; a failed rollback only adds that the connection
                // is gone, and the server rolls back a dropped connection's transaction.
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        });
    let unlocked = conn.execute_batch(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
    out?;
    Ok(unlocked?)
}

fn migrate_locked(conn: &Conn, path: &Path) -> Result<()> {
    // Read again under the lock: another process may have migrated meanwhile.
    let current = version(conn)?;
    if current > VERSION {
        return Err(too_new(path, current));
    }
    if current == VERSION {
        return Ok(());
    }
    if current == 0 {
        conn.execute_batch(BASELINE)?;
    } else if current < BASELINE_VERSION {
        return Err(StoreError::Invalid(format!(
            "{}: schema version {current} is older than any PostgreSQL schema ({BASELINE_VERSION}); the database was not made by autopilot-tui",
            path.display()
        )));
    }
    let done = current.max(BASELINE_VERSION) - BASELINE_VERSION;
    for sql in PG_MIGRATIONS.iter().skip(done as usize) {
        conn.execute_batch(sql)?;
    }
    conn.execute_batch(&format!(
        "INSERT INTO schema_version (only_row, version) VALUES (1, {VERSION})
             ON CONFLICT (only_row) DO UPDATE SET version = excluded.version"
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests;
