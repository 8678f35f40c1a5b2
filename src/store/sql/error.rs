//! What either backend can report, sorted into kinds a user can act on, and how those kinds
//! become the store's [`StoreError`].

use std::path::PathBuf;
use std::time::Duration;

use postgres::error::SqlState;

use crate::store::StoreError;

/// A failure of the portable layer, with a message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// Whatever SQLite said; the store's own classification reads its code.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// Another writer held the lock (SQLite busy) or kept conflicting (PostgreSQL
    /// serialization failures) past the deadline.
    #[error("the database {target} stayed busy with other writers (waited {waited:?}); try again")]
    Locked {
        /// The database, password hidden.
        target: String,
        /// How long the write was retried.
        waited: Duration,
    },
    /// A statement that must return a row returned none.
    #[error("the query returned no row")]
    NoRow,
    /// A column could not be read as the type asked for.
    #[error("column {column}: {detail}")]
    Column {
        /// The column's index.
        column: usize,
        /// What was wrong.
        detail: String,
    },
    /// Nothing listens at the server's address.
    #[error("cannot connect to PostgreSQL at {target}: connection refused; is the server running and listening on that host and port?")]
    Refused {
        /// The server, password hidden.
        target: String,
    },
    /// The server could not be reached for another reason (unknown host, timeout, TLS).
    #[error("cannot connect to PostgreSQL at {target}: {detail}")]
    Unreachable {
        /// The server, password hidden.
        target: String,
        /// What failed.
        detail: String,
    },
    /// The password was rejected.
    #[error("PostgreSQL at {target} rejected the password for user {user:?}; check the password in the URL (or PGPASSWORD / ~/.pgpass)")]
    BadPassword {
        /// The server, password hidden.
        target: String,
        /// The user.
        user: String,
    },
    /// The server refused the user for another reason (no such role, pg_hba.conf).
    #[error("PostgreSQL at {target} refused the connection: {detail}")]
    Refusal {
        /// The server, password hidden.
        target: String,
        /// The server's words.
        detail: String,
    },
    /// The database named in the URL does not exist.
    #[error("PostgreSQL at {target} has no database {name:?}; create it first (createdb {name})")]
    NoDatabase {
        /// The server, password hidden.
        target: String,
        /// The missing database.
        name: String,
    },
    /// The connection dropped (the server stopped, restarted or ended the session).
    #[error("lost the connection to PostgreSQL at {target} ({detail}); the transaction in progress was not committed, nothing of it was written")]
    Lost {
        /// The server, password hidden.
        target: String,
        /// What was reported.
        detail: String,
    },
    /// A uniqueness, foreign-key, NOT NULL or CHECK constraint refused a write.
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// Anything else PostgreSQL reported.
    #[error("PostgreSQL error {code}: {message}")]
    Postgres {
        /// The SQLSTATE.
        code: String,
        /// The server's message (and detail).
        message: String,
    },
}

impl SqlError {
    /// Whether retrying the whole transaction may succeed: SQLite busy, PostgreSQL
    /// serialization failure or deadlock.
    pub fn is_retryable(&self) -> bool {
        match self {
            SqlError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            SqlError::Postgres { code, .. } => {
                code == SqlState::T_R_SERIALIZATION_FAILURE.code()
                    || code == SqlState::T_R_DEADLOCK_DETECTED.code()
            }
            _ => false,
        }
    }

    /// Whether the connection is gone or cannot be made again yet (a server restarting, a cut
    /// network): worth connecting again and retrying what had not committed.
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            SqlError::Lost { .. } | SqlError::Refused { .. } | SqlError::Unreachable { .. }
        )
    }

    /// Whether a constraint (unique, foreign key, NOT NULL, CHECK) refused a write.
    pub fn is_constraint(&self) -> bool {
        match self {
            SqlError::Sqlite(e) => {
                e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
            }
            SqlError::Constraint(_) => true,
            _ => false,
        }
    }

    /// Sorts a PostgreSQL error from connecting to `target` (password hidden) as `user` to
    /// database `dbname`.
    pub(crate) fn from_connect(
        e: postgres::Error,
        target: &str,
        user: &str,
        dbname: &str,
    ) -> SqlError {
        let target = target.to_string();
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            if *code == SqlState::INVALID_PASSWORD {
                return SqlError::BadPassword {
                    target,
                    user: user.to_string(),
                };
            }
            if *code == SqlState::INVALID_CATALOG_NAME {
                return SqlError::NoDatabase {
                    target,
                    name: dbname.to_string(),
                };
            }
            if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
                return SqlError::Refusal {
                    target,
                    detail: db.message().to_string(),
                };
            }
            return SqlError::from_query(e, &target);
        }
        if io_kind(&e) == Some(std::io::ErrorKind::ConnectionRefused) {
            return SqlError::Refused { target };
        }
        SqlError::Unreachable {
            target,
            detail: full_message(&e),
        }
    }

    /// Sorts a PostgreSQL error from a statement on an open connection to `target`.
    pub(crate) fn from_query(e: postgres::Error, target: &str) -> SqlError {
        let lost = |detail| SqlError::Lost {
            target: target.to_string(),
            detail,
        };
        let Some(db) = e.as_db_error() else {
            // Without a server's answer the failure is the connection's: closed, reset, EOF.
            return lost(full_message(&e));
        };
        let code = db.code();
        let message = match db.detail() {
            Some(d) => format!("{}: {d}", db.message()),
            None => db.message().to_string(),
        };
        if [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code)
        {
            return lost(message);
        }
        if code.code().starts_with("23") {
            return SqlError::Constraint(message);
        }
        SqlError::Postgres {
            code: code.code().to_string(),
            message,
        }
    }
}

fn io_kind(e: &postgres::Error) -> Option<std::io::ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// The error and its causes on one line (postgres's Display leaves the cause out).
pub(crate) fn full_message(e: &postgres::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        source = s.source();
    }
    out
}

impl From<SqlError> for StoreError {
    /// SQLite's errors stay themselves (the store's classification reads their codes); busy
    /// becomes [`StoreError::Locked`]; the rest are [`StoreError::Backend`].
    fn from(e: SqlError) -> StoreError {
        match e {
            SqlError::Sqlite(e) => StoreError::Sqlite(e),
            SqlError::NoRow => StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows),
            SqlError::Locked { target, waited } => StoreError::Locked {
                path: PathBuf::from(target),
                waited,
            },
            other => StoreError::Backend(other),
        }
    }
}
