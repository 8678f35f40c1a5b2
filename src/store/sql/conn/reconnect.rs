//! A PostgreSQL connection that was lost (a server restart, a cut network) is made again:
//! what had not committed runs again on the new one, with backoff, for up to
//! [`RECONNECT_FOR`]; then the loss is the caller's error, which says so.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use super::{Conn, Inner, PgClient, PgConn, SqlError};

/// How long a lost connection is tried again before its error is returned: long enough for
/// a server's restart or failover, short enough that a server gone for good is said.
pub(super) const RECONNECT_FOR: Duration = Duration::from_secs(60);

/// A lost connection being tried again: since when, and the wait before the next try.
#[derive(Default)]
pub(super) struct Outage {
    since: Option<Instant>,
    backoff: Duration,
}

impl Outage {
    /// Waits before the next try; `false` once [`RECONNECT_FOR`] has passed.
    pub(super) fn wait(&mut self, target: &str) -> bool {
        let since = *self.since.get_or_insert_with(|| {
            tracing::warn!(
                "lost the connection to PostgreSQL at {target}; reconnecting for up to {RECONNECT_FOR:?}"
            );
            Instant::now()
        });
        if since.elapsed() >= RECONNECT_FOR {
            tracing::error!("PostgreSQL at {target} did not come back within {RECONNECT_FOR:?}");
            return false;
        }
        self.backoff = (self.backoff * 2).clamp(Duration::from_millis(50), Duration::from_secs(2));
        std::thread::sleep(self.backoff);
        true
    }

    /// Says the connection is back, if it was lost.
    pub(super) fn over(&self, target: &str) {
        if let Some(since) = self.since {
            tracing::warn!(
                "reconnected to PostgreSQL at {target} after {:.1?}",
                since.elapsed()
            );
        }
    }
}

/// Connects afresh when the last statement found the connection gone (the statements
/// prepared on the old one go with it).
pub(super) fn revive(pg: &RefCell<PgConn>, target: &str) -> Result<(), SqlError> {
    let mut pg = pg.borrow_mut();
    if !pg.broken && !pg.client.is_closed() {
        return Ok(());
    }
    let config = pg.url.config();
    let user = config.get_user().unwrap_or_default().to_string();
    let dbname = config.get_dbname().unwrap_or(&user).to_string();
    pg.client =
        PgClient(Some(config.connect(postgres::NoTls).map_err(|e| {
            SqlError::from_connect(e, target, &user, &dbname)
        })?));
    pg.prepared.clear();
    pg.broken = false;
    Ok(())
}

impl Conn {
    /// Marks the connection for a fresh connect before its next statement.
    pub(super) fn mark_broken(&self) {
        if let Inner::Postgres(pg) = &self.inner {
            pg.borrow_mut().broken = true;
        }
    }

    /// Runs one PostgreSQL statement outside a transaction; when the connection is lost,
    /// connects again with backoff and runs it again (for up to [`RECONNECT_FOR`]).
    pub(super) fn persist<T>(
        &self,
        pg: &RefCell<PgConn>,
        mut op: impl FnMut(&mut PgConn) -> Result<T, SqlError>,
    ) -> Result<T, SqlError> {
        let mut outage = Outage::default();
        loop {
            let out = revive(pg, &self.target).and_then(|()| op(&mut pg.borrow_mut()));
            match out {
                Err(e) if e.is_connection() => {
                    self.mark_broken();
                    if !outage.wait(&self.target) {
                        return Err(e);
                    }
                }
                out => {
                    outage.over(&self.target);
                    return out;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::sql::{Conn, Exec, StoreUrl};
    use crate::store::test_db::fresh_postgres;

    /// Ends every other session on the database, as a restart or an administrator would,
    /// and waits until they are gone.
    fn cut_sessions(url: &StoreUrl) {
        let admin = Conn::open(url).expect("connect");
        admin
            .execute_batch(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .expect("terminate the other sessions");
    }

    fn session(conn: &Conn) -> i64 {
        conn.query_row("SELECT CAST(pg_backend_pid() AS BIGINT)", &[], |r| r.get(0))
            .expect("a read after the cut")
    }

    #[test]
    fn a_session_the_server_ended_is_made_again_for_reads_and_for_transactions() {
        let Some(url) = fresh_postgres() else {
            return;
        };
        let mut conn = Conn::open(&url).expect("connect");
        conn.execute_batch("CREATE TABLE t (n BIGINT)")
            .expect("create");
        let first = session(&conn);
        cut_sessions(&url);
        let second = session(&conn);
        assert_ne!(first, second, "a new session answered the read");

        cut_sessions(&url);
        conn.transaction(|tx| tx.execute("INSERT INTO t VALUES (1)", &[]).map(|_| ()))
            .expect("the transaction ran again on a new session");
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM t", &[], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 1, "written once");
        assert_ne!(session(&conn), second);
    }
}
