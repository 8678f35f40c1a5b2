//! One connection, either backend, with the same methods: statements, rows read into
//! [`Value`]s, and write transactions retried while other writers conflict.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use rusqlite::TransactionBehavior;

use super::dialect::placeholders;
use super::error::SqlError;
use super::url::{PgUrl, StoreUrl};
use super::value::{FromValue, Value};

/// Which engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (rusqlite).
    Sqlite,
    /// A PostgreSQL server (the sync `postgres` client).
    Postgres,
}

/// One result row, read into portable values.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(Vec<Value>);

impl Row {
    /// Column `i` as `T`; a missing column or another type is an error naming the column.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, SqlError> {
        let v = self.0.get(i).ok_or_else(|| SqlError::Column {
            column: i,
            detail: format!("the row has only {} columns", self.0.len()),
        })?;
        T::from_value(v).map_err(|detail| SqlError::Column { column: i, detail })
    }

    /// All the values.
    pub fn values(&self) -> &[Value] {
        &self.0
    }
}

impl From<Vec<Value>> for Row {
    fn from(values: Vec<Value>) -> Row {
        Row(values)
    }
}

/// Statements, the same on a connection and inside a transaction. Placeholders are SQLite's
/// `?1`, `?2`…, translated once per statement for PostgreSQL. Methods take `&self`, as
/// rusqlite's do, so a helper can read and write through one shared reference.
pub trait Exec {
    /// The engine underneath.
    fn backend(&self) -> Backend;

    /// Runs one statement, returning how many rows it changed.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, SqlError>;

    /// Runs one statement, returning its rows.
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, SqlError>;

    /// Runs several statements without parameters (DDL, migrations).
    fn execute_batch(&self, sql: &str) -> Result<(), SqlError>;

    /// Each row mapped by `f`.
    fn query_map<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnMut(&Row) -> Result<T, SqlError>,
    ) -> Result<Vec<T>, SqlError> {
        self.query(sql, params)?.iter().map(f).collect()
    }

    /// The first row mapped by `f`, or `None` when there is none.
    fn query_opt<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T, SqlError>,
    ) -> Result<Option<T>, SqlError> {
        self.query(sql, params)?.first().map(f).transpose()
    }

    /// The first row mapped by `f`; no row is [`SqlError::NoRow`].
    fn query_row<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T, SqlError>,
    ) -> Result<T, SqlError> {
        self.query_opt(sql, params, f)?.ok_or(SqlError::NoRow)
    }
}

/// PostgreSQL's prepared statements, by the SQL as written (before translation).
type Prepared = HashMap<String, postgres::Statement>;

/// A PostgreSQL session: the client and the statements prepared on it.
struct PgConn {
    client: PgClient,
    prepared: Prepared,
    /// Where to connect again once the connection is lost.
    url: PgUrl,
    /// A statement failed for want of a connection: connect afresh before the next one.
    broken: bool,
}

enum Inner {
    Sqlite(rusqlite::Connection),
    // The client needs `&mut` for every statement; a statement never calls another, so the
    // borrow is always free.
    Postgres(Box<RefCell<PgConn>>),
}

/// An open connection.
pub struct Conn {
    inner: Inner,
    /// The database, password hidden, for messages.
    target: String,
    /// How long a transaction is retried while other writers conflict.
    deadline: Duration,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("target", &self.target)
            .finish()
    }
}

/// How long a write is retried by default.
const DEADLINE: Duration = Duration::from_secs(30);
/// How long one SQLite statement waits for a lock before reporting busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Conn {
    /// Connects to `url`. PostgreSQL's sync client runs a runtime of its own: call this (and
    /// every method) from a plain thread or the blocking pool, never inside an async task.
    pub fn open(url: &StoreUrl) -> Result<Conn, SqlError> {
        match url {
            StoreUrl::Sqlite(path) => Conn::from_sqlite(rusqlite::Connection::open(path)?, url),
            StoreUrl::Postgres(pg) => Conn::postgres(pg),
        }
    }

    /// Wraps an open SQLite connection.
    pub fn from_sqlite(conn: rusqlite::Connection, url: &StoreUrl) -> Result<Conn, SqlError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(Conn {
            inner: Inner::Sqlite(conn),
            target: url.to_string(),
            deadline: DEADLINE,
        })
    }

    fn postgres(url: &PgUrl) -> Result<Conn, SqlError> {
        let config = url.config();
        let target = url.to_string();
        let user = config.get_user().unwrap_or_default().to_string();
        let dbname = config.get_dbname().unwrap_or(&user).to_string();
        let client = config
            .connect(postgres::NoTls)
            .map_err(|e| SqlError::from_connect(e, &target, &user, &dbname))?;
        Ok(Conn {
            inner: Inner::Postgres(Box::new(RefCell::new(PgConn {
                client: PgClient(Some(client)),
                prepared: HashMap::new(),
                url: url.clone(),
                broken: false,
            }))),
            target,
            deadline: DEADLINE,
        })
    }

    /// Changes how long a transaction is retried while other writers conflict.
    pub fn set_deadline(&mut self, deadline: Duration) {
        self.deadline = deadline;
        if let Inner::Sqlite(c) = &self.inner {
            // Best effort: the deadline still bounds the retries when this fails.
            let _ = c.busy_timeout(BUSY_TIMEOUT.min(deadline));
        }
    }

    /// The database, password hidden.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The SQLite connection underneath, for what only SQLite has (`PRAGMA`s, checkpoints).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Postgres(_) => None,
        }
    }

    /// The SQLite connection underneath, mutably (its own transactions).
    pub fn sqlite_mut(&mut self) -> Option<&mut rusqlite::Connection> {
        match &mut self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Postgres(_) => None,
        }
    }

    /// Runs `f` in a write transaction and commits it: SQLite's `BEGIN IMMEDIATE` (the write
    /// lock up front), PostgreSQL's SERIALIZABLE. When a statement in it failed because of
    /// another writer (SQLite busy, a serialization failure, a deadlock), the whole of `f` runs
    /// again with backoff until the deadline, then [`SqlError::Locked`]. Any other error rolls
    /// the transaction back and is returned.
    pub fn transaction<T, E: From<SqlError>>(
        &mut self,
        mut f: impl FnMut(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let start = Instant::now();
        let mut backoff = Duration::from_millis(2);
        let mut outage = Outage::default();
        loop {
            let revived = match &self.inner {
                Inner::Postgres(pg) => revive(pg, &self.target),
                Inner::Sqlite(_) => Ok(()),
            };
            let attempt = match revived {
                Ok(()) => self.attempt(&mut f),
                Err(e) if e.is_connection() => Attempt::Lost(Err(e.into())),
                Err(e) => return Err(e.into()),
            };
            match attempt {
                Attempt::Done(out) => {
                    outage.over(&self.target);
                    return out;
                }
                Attempt::Conflict => {}
                Attempt::Lost(out) => {
                    self.mark_broken();
                    if !outage.wait(&self.target) {
                        return out;
                    }
                    continue;
                }
            }
            if start.elapsed() >= self.deadline {
                return Err(SqlError::Locked {
                    target: self.target.clone(),
                    waited: start.elapsed(),
                }
                .into());
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_millis(100));
        }
    }

    fn attempt<T, E: From<SqlError>>(
        &mut self,
        f: &mut impl FnMut(&Tx<'_>) -> Result<T, E>,
    ) -> Attempt<Result<T, E>> {
        let target = self.target.as_str();
        let begun = match &mut self.inner {
            Inner::Sqlite(c) => c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map(TxInner::Sqlite)
                .map_err(SqlError::from),
            Inner::Postgres(pg) => {
                let PgConn {
                    client, prepared, ..
                } = pg.get_mut();
                client
                    .build_transaction()
                    .isolation_level(postgres::IsolationLevel::Serializable)
                    .start()
                    .map(|tx| TxInner::Postgres(RefCell::new(PgTx { tx, prepared })))
                    .map_err(|e| SqlError::from_query(e, target))
            }
        };
        let inner = match begun {
            Ok(inner) => inner,
            Err(e) if e.is_retryable() => return Attempt::Conflict,
            Err(e) if e.is_connection() => return Attempt::Lost(Err(e.into())),
            Err(e) => return Attempt::Done(Err(e.into())),
        };
        let tx = Tx {
            inner,
            target,
            conflict: Cell::new(false),
            lost: Cell::new(false),
        };
        let out = f(&tx);
        let (conflict, lost) = (tx.conflict.get(), tx.lost.get());
        match out {
            // Dropping the transaction rolls it back on both backends.
            Err(_) if conflict => Attempt::Conflict,
            // Nothing was committed: the whole transaction runs again on a new connection.
            // (A commit whose answer was lost is not retried: it may have been written.)
            Err(e) if lost => Attempt::Lost(Err(e)),
            Err(e) => Attempt::Done(Err(e)),
            Ok(v) => match tx.commit() {
                Ok(()) => Attempt::Done(Ok(v)),
                Err(e) if e.is_retryable() => Attempt::Conflict,
                Err(e) => Attempt::Done(Err(e.into())),
            },
        }
    }
}

mod pg_client;
mod reconnect;
use pg_client::PgClient;
use reconnect::{revive, Outage};

enum Attempt<T> {
    Done(T),
    Conflict,
    /// The connection was lost before anything was committed; `T` is what to return if it
    /// does not come back.
    Lost(T),
}

impl Exec for Conn {
    fn backend(&self) -> Backend {
        match self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, SqlError> {
        match &self.inner {
            Inner::Sqlite(c) => sqlite_execute(c, sql, params),
            Inner::Postgres(pg) => self.persist(pg, |pg| {
                pg_execute(&mut *pg.client, &mut pg.prepared, &self.target, sql, params)
            }),
        }
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, SqlError> {
        match &self.inner {
            Inner::Sqlite(c) => sqlite_query(c, sql, params),
            Inner::Postgres(pg) => self.persist(pg, |pg| {
                pg_query(&mut *pg.client, &mut pg.prepared, &self.target, sql, params)
            }),
        }
    }

    fn execute_batch(&self, sql: &str) -> Result<(), SqlError> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(pg) => self.persist(pg, |pg| {
                pg.client
                    .batch_execute(sql)
                    .map_err(|e| SqlError::from_query(e, &self.target))
            }),
        }
    }
}

/// A PostgreSQL transaction and the session's prepared statements.
struct PgTx<'c> {
    tx: postgres::Transaction<'c>,
    prepared: &'c mut Prepared,
}

enum TxInner<'c> {
    Sqlite(rusqlite::Transaction<'c>),
    Postgres(RefCell<PgTx<'c>>),
}

/// An open write transaction (see [`Conn::transaction`]).
pub struct Tx<'c> {
    inner: TxInner<'c>,
    target: &'c str,
    /// A statement failed because of another writer: the transaction is retried.
    conflict: Cell<bool>,
    /// A statement failed because the connection was lost: retried on a new one.
    lost: Cell<bool>,
}

impl Tx<'_> {
    fn commit(self) -> Result<(), SqlError> {
        match self.inner {
            TxInner::Sqlite(tx) => Ok(tx.commit()?),
            TxInner::Postgres(pg) => pg
                .into_inner()
                .tx
                .commit()
                .map_err(|e| SqlError::from_query(e, self.target)),
        }
    }

    /// The SQLite transaction underneath, for what only SQLite has.
    pub fn sqlite(&self) -> Option<&rusqlite::Transaction<'_>> {
        match &self.inner {
            TxInner::Sqlite(tx) => Some(tx),
            TxInner::Postgres(_) => None,
        }
    }

    fn note<T>(&self, r: Result<T, SqlError>) -> Result<T, SqlError> {
        if r.as_ref().is_err_and(SqlError::is_retryable) {
            self.conflict.set(true);
        }
        if r.as_ref().is_err_and(SqlError::is_connection) {
            self.lost.set(true);
        }
        r
    }
}

impl Exec for Tx<'_> {
    fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, SqlError> {
        let r = match &self.inner {
            TxInner::Sqlite(tx) => sqlite_execute(tx, sql, params),
            TxInner::Postgres(pg) => {
                let PgTx { tx, prepared } = &mut *pg.borrow_mut();
                pg_execute(tx, prepared, self.target, sql, params)
            }
        };
        self.note(r)
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, SqlError> {
        let r = match &self.inner {
            TxInner::Sqlite(tx) => sqlite_query(tx, sql, params),
            TxInner::Postgres(pg) => {
                let PgTx { tx, prepared } = &mut *pg.borrow_mut();
                pg_query(tx, prepared, self.target, sql, params)
            }
        };
        self.note(r)
    }

    fn execute_batch(&self, sql: &str) -> Result<(), SqlError> {
        let r = match &self.inner {
            TxInner::Sqlite(tx) => tx.execute_batch(sql).map_err(SqlError::from),
            TxInner::Postgres(pg) => pg
                .borrow_mut()
                .tx
                .batch_execute(sql)
                .map_err(|e| SqlError::from_query(e, self.target)),
        };
        self.note(r)
    }
}

fn sqlite_params(params: &[Value]) -> impl rusqlite::Params + '_ {
    rusqlite::params_from_iter(params.iter())
}

fn sqlite_execute(c: &rusqlite::Connection, sql: &str, params: &[Value]) -> Result<u64, SqlError> {
    let mut stmt = c.prepare_cached(sql)?;
    // `raw_execute` would refuse a RETURNING statement's rows; count changes the same way.
    let n = stmt.execute(sqlite_params(params))?;
    Ok(n as u64)
}

fn sqlite_query(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, SqlError> {
    let mut stmt = c.prepare_cached(sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query(sqlite_params(params))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(Value::from(r.get_ref(i)?));
        }
        out.push(Row(values));
    }
    Ok(out)
}

fn pg_params(params: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|v| v as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

/// The prepared statement for `sql`, translated and prepared on first use.
fn statement(
    client: &mut impl postgres::GenericClient,
    prepared: &mut Prepared,
    target: &str,
    sql: &str,
) -> Result<postgres::Statement, SqlError> {
    if let Some(s) = prepared.get(sql) {
        return Ok(s.clone());
    }
    let s = client
        .prepare(&placeholders(sql))
        .map_err(|e| SqlError::from_query(e, target))?;
    prepared.insert(sql.to_string(), s.clone());
    Ok(s)
}

fn pg_execute(
    client: &mut impl postgres::GenericClient,
    prepared: &mut Prepared,
    target: &str,
    sql: &str,
    params: &[Value],
) -> Result<u64, SqlError> {
    let stmt = statement(client, prepared, target, sql)?;
    client
        .execute(&stmt, &pg_params(params))
        .map_err(|e| SqlError::from_query(e, target))
}

fn pg_query(
    client: &mut impl postgres::GenericClient,
    prepared: &mut Prepared,
    target: &str,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, SqlError> {
    let stmt = statement(client, prepared, target, sql)?;
    let rows = client
        .query(&stmt, &pg_params(params))
        .map_err(|e| SqlError::from_query(e, target))?;
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.try_get::<_, Value>(i).map_err(|e| SqlError::Column {
                        column: i,
                        detail: super::error::full_message(&e),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Row)
        })
        .collect()
}
