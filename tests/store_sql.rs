//! The portable SQL layer (src/store/sql) against both backends: the same test bodies run on
//! an SQLite file and on a real PostgreSQL server (tests/support/postgres.rs).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use autopilot_tui::store::sql::{dialect, Backend, Conn, Exec, SqlError, StoreUrl, Value};
use autopilot_tui::store::StoreError;

/// One database of either kind; `conn` opens another connection to it.
struct Db {
    url: StoreUrl,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = StoreUrl::Sqlite(dir.path().join("t.db"));
        Db {
            url,
            _dir: Some(dir),
        }
    }

    fn postgres() -> Option<Db> {
        let url = support::postgres::fresh_database()?;
        Some(Db {
            url: url.parse().unwrap(),
            _dir: None,
        })
    }

    fn conn(&self) -> Conn {
        Conn::open(&self.url).unwrap_or_else(|e| panic!("open {}: {e}", self.url))
    }

    /// Creates a table from SQLite DDL, translated for PostgreSQL.
    fn create(&self, c: &mut Conn, ddl: &str) {
        let ddl = match c.backend() {
            Backend::Sqlite => ddl.to_string(),
            Backend::Postgres => dialect::postgres_ddl(ddl),
        };
        c.execute_batch(&ddl)
            .unwrap_or_else(|e| panic!("{ddl}: {e}"));
    }
}

/// Runs one body against SQLite and against PostgreSQL, as two tests.
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                ($body)(Db::sqlite());
            }
            #[test]
            fn postgres() {
                if let Some(db) = Db::postgres() {
                    ($body)(db);
                }
            }
        }
    };
}

both!(every_value_round_trips, |db: Db| {
    let mut c = db.conn();
    db.create(
        &mut c,
        "CREATE TABLE v (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB)",
    );
    let all_bytes: Vec<u8> = (0..=255u8).chain([0, 0, 0]).collect();
    let large: Vec<u8> = (0..8 * 1024 * 1024u32).map(|n| (n % 251) as u8).collect();
    let rows: Vec<[Value; 4]> = vec![
        [Value::Null, Value::Null, Value::Null, Value::Null],
        [
            i64::MIN.into(),
            (-1e300).into(),
            "héllo ✓ \u{1b}[31m 'quoted' ?1".into(),
            all_bytes.into(),
        ],
        [
            i64::MAX.into(),
            0.5.into(),
            "".into(),
            Vec::<u8>::new().into(),
        ],
        [
            0.into(),
            f64::MIN_POSITIVE.into(),
            "x".repeat(100_000).into(),
            large.into(),
        ],
    ];
    for row in &rows {
        let id: i64 = c
            .query_row(
                "INSERT INTO v (i, r, t, b) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                &row.clone(),
                |r| r.get(0),
            )
            .unwrap();
        let back = c
            .query_row(
                "SELECT i, r, t, b FROM v WHERE id = ?1",
                &[id.into()],
                |r| Ok(r.values().to_vec()),
            )
            .unwrap();
        assert_eq!(back, row.to_vec(), "row {id}");
    }
    let n: i64 = c
        .query_row("SELECT count(*) FROM v", &[], |r| r.get(0))
        .unwrap();
    assert_eq!(n, rows.len() as i64);
    // Typed reads: NULL as Option, a wrong type named with its column.
    let t: Option<String> = c
        .query_row("SELECT t FROM v WHERE id = 1", &[], |r| r.get(0))
        .unwrap();
    assert_eq!(t, None);
    let e = c
        .query_row("SELECT t FROM v WHERE id = 2", &[], |r| r.get::<i64>(0))
        .unwrap_err();
    assert!(matches!(e, SqlError::Column { column: 0, .. }), "{e}");
});

both!(
    returning_gives_new_ids_and_on_conflict_updates_or_skips,
    |db: Db| {
        let mut c = db.conn();
        db.create(
        &mut c,
        "CREATE TABLE k (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER NOT NULL, note TEXT)",
    );
        let mut ids = Vec::new();
        for name in ["a", "b", "c"] {
            let id: i64 = c
                .query_row(
                    "INSERT INTO k (name, n) VALUES (?1, 1) RETURNING id",
                    &[name.into()],
                    |r| r.get(0),
                )
                .unwrap();
            ids.push(id);
        }
        assert_eq!(ids, [1, 2, 3]);
        let skipped = c
            .execute(
                "INSERT INTO k (name, n) VALUES (?1, 5) ON CONFLICT (name) DO NOTHING",
                &["a".into()],
            )
            .unwrap();
        assert_eq!(skipped, 0);
        let n: i64 = c
        .query_row(
            "INSERT INTO k (name, n) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET n = k.n + excluded.n RETURNING n",
            &["a".into(), 5.into()],
            |r| r.get(0),
        )
        .unwrap();
        assert_eq!(n, 6);
        let note: String = c
            .query_row(
                "SELECT coalesce(note, ?1) FROM k WHERE name = ?2",
                &["none".into(), "a".into()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(note, "none");
        // A partial unique index: one 'running' row per name at most, as both engines enforce.
        db.create(&mut c, "CREATE TABLE runs (id INTEGER PRIMARY KEY, issue INTEGER NOT NULL, status TEXT NOT NULL)");
        c.execute_batch("CREATE UNIQUE INDEX one_open ON runs (issue) WHERE status = 'running'")
            .unwrap();
        c.execute(
            "INSERT INTO runs (issue, status) VALUES (1, 'running'), (1, 'done'), (1, 'done')",
            &[],
        )
        .unwrap();
        let e = c
            .execute(
                "INSERT INTO runs (issue, status) VALUES (1, 'running')",
                &[],
            )
            .unwrap_err();
        assert!(e.is_constraint(), "{e}");
        // Bare and reused placeholders.
        let got: i64 = c
            .query_row(
                "SELECT CAST(? AS BIGINT) + CAST(?1 AS BIGINT) + CAST(? AS BIGINT)",
                &[2.into(), 10.into()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(got, 14);
        assert_eq!(
            c.query_opt("SELECT id FROM k WHERE name = ?1", &["zz".into()], |r| r
                .get::<i64>(0))
                .unwrap(),
            None
        );
        assert!(matches!(
            c.query_row("SELECT id FROM k WHERE name = ?1", &["zz".into()], |r| r
                .get::<i64>(0)),
            Err(SqlError::NoRow)
        ));
    }
);

both!(
    a_failed_transaction_leaves_nothing_and_the_connection_works,
    |db: Db| {
        let mut c = db.conn();
        db.create(
            &mut c,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        );
        // The closure's own error rolls back what it wrote.
        let r: Result<(), StoreError> = c.transaction(|tx| {
            tx.execute("INSERT INTO t (name) VALUES ('one')", &[])?;
            Err(StoreError::Invalid("changed my mind".into()))
        });
        assert!(matches!(r, Err(StoreError::Invalid(_))));
        // A failing statement rolls back the statements before it.
        let r: Result<(), SqlError> = c.transaction(|tx| {
            tx.execute("INSERT INTO t (name) VALUES ('two')", &[])?;
            tx.execute("INSERT INTO t (name) VALUES ('two')", &[])?;
            Ok(())
        });
        assert!(r.unwrap_err().is_constraint());
        let n: i64 = c
            .query_row("SELECT count(*) FROM t", &[], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        let id: i64 = c
            .transaction(|tx| {
                tx.query_row(
                    "INSERT INTO t (name) VALUES ('three') RETURNING id",
                    &[],
                    |r| r.get(0),
                )
            })
            .map_err(|e: SqlError| e)
            .unwrap();
        let name: String = c
            .query_row("SELECT name FROM t WHERE id = ?1", &[id.into()], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(name, "three");
    }
);

both!(two_connections_claiming_never_get_the_same_row, |db: Db| {
    let mut c = db.conn();
    db.create(
        &mut c,
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, status TEXT NOT NULL, owner TEXT)",
    );
    const JOBS: i64 = 120;
    for _ in 0..JOBS {
        c.execute("INSERT INTO jobs (status) VALUES ('ready')", &[])
            .unwrap();
    }
    let db = Arc::new(db);
    let barrier = Arc::new(Barrier::new(2));
    let workers: Vec<_> = ["left", "right"]
        .into_iter()
        .map(|me| {
            let (db, barrier) = (Arc::clone(&db), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut c = db.conn();
                barrier.wait();
                let mut mine = Vec::new();
                loop {
                    let claimed: Option<i64> = c
                        .transaction(|tx| {
                            tx.query_opt(
                                "UPDATE jobs SET status = 'running', owner = ?1 \
                                 WHERE id = (SELECT id FROM jobs WHERE status = 'ready' ORDER BY id LIMIT 1) \
                                 AND status = 'ready' RETURNING id",
                                &[me.into()],
                                |r| r.get(0),
                            )
                        })
                        .map_err(|e: SqlError| e)
                        .unwrap();
                    match claimed {
                        Some(id) => mine.push(id),
                        None => return (me, mine),
                    }
                }
            })
        })
        .collect();
    let mut all = BTreeSet::new();
    let c = db.conn();
    for w in workers {
        let (me, mine) = w.join().unwrap();
        for id in mine {
            assert!(all.insert(id), "job {id} claimed twice");
            let owner: String = c
                .query_row("SELECT owner FROM jobs WHERE id = ?1", &[id.into()], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(owner, me, "job {id}");
        }
    }
    assert_eq!(all, (1..=JOBS).collect());
});

#[test]
fn sqlite_busy_past_the_deadline_is_locked() {
    let db = Db::sqlite();
    let mut holder = db.conn();
    db.create(&mut holder, "CREATE TABLE t (x INTEGER)");
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut other = db.conn();
    other.set_deadline(Duration::from_millis(200));
    let e = other
        .transaction(|tx| tx.execute("INSERT INTO t VALUES (1)", &[]))
        .unwrap_err();
    assert!(matches!(e, SqlError::Locked { .. }), "{e}");
    assert!(matches!(StoreError::from(e), StoreError::Locked { .. }));
    holder.execute_batch("COMMIT").unwrap();
}

#[test]
fn postgres_statements_are_translated_and_prepared_once() {
    let Some(db) = Db::postgres() else { return };
    let c = db.conn();
    for n in 0..3i64 {
        let got: i64 = c
            .query_row("SELECT CAST(?1 AS BIGINT) * 2", &[n.into()], |r| r.get(0))
            .unwrap();
        assert_eq!(got, n * 2);
    }
    let prepared: i64 = c
        .query_row(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT CAST($1 AS BIGINT) * 2'",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(prepared, 1);
}

#[test]
fn postgres_sum_without_a_cast_says_to_cast_it() {
    let Some(db) = Db::postgres() else { return };
    let c = db.conn();
    let e = c
        .query_row(
            "SELECT sum(x) FROM (VALUES (CAST(1 AS BIGINT))) AS v(x)",
            &[],
            |r| r.get::<i64>(0),
        )
        .unwrap_err();
    assert!(e.to_string().contains("CAST"), "{e}");
    let ok: i64 = c
        .query_row(
            "SELECT CAST(sum(x) AS BIGINT) FROM (VALUES (CAST(1 AS BIGINT))) AS v(x)",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ok, 1);
}

fn pg_error(url: &str) -> SqlError {
    Conn::open(&url.parse().unwrap()).expect_err("the connection is refused")
}

#[test]
fn postgres_wrong_password_says_so_without_showing_it() {
    let Some(server) = support::postgres::server() else {
        return;
    };
    if server.port == 0 {
        return eprintln!("skipping: an external server's auth is not ours to test");
    }
    let e = pg_error(&format!(
        "postgres://postgres:not-the-one@127.0.0.1:{}/postgres",
        server.port
    ));
    let text = e.to_string();
    assert!(matches!(e, SqlError::BadPassword { .. }), "{text}");
    assert!(
        text.contains("rejected the password for user \"postgres\""),
        "{text}"
    );
    assert!(!text.contains("not-the-one"), "{text}");
    let store = StoreError::from(e);
    assert!(matches!(store, StoreError::Backend(_)), "{store}");
    assert_eq!(store.to_string(), text);
}

#[test]
fn postgres_missing_database_names_it() {
    let Some(server) = support::postgres::server() else {
        return;
    };
    let url = support::postgres::with_database(&server.admin_url, "no_such_db");
    let e = pg_error(&url);
    let text = e.to_string();
    assert!(matches!(e, SqlError::NoDatabase { .. }), "{text}");
    assert!(
        text.contains("no database \"no_such_db\"") && text.contains("createdb no_such_db"),
        "{text}"
    );
    if !server.password.is_empty() {
        assert!(!text.contains(&server.password), "{text}");
    }
}

#[test]
fn postgres_refused_port_says_nothing_listens() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The listener is gone: nothing listens on the port now.
    let e = pg_error(&format!("postgres://u:secretpw@127.0.0.1:{port}/db"));
    let text = e.to_string();
    assert!(matches!(e, SqlError::Refused { .. }), "{text}");
    assert!(
        text.contains("connection refused") && text.contains(&format!("127.0.0.1:{port}")),
        "{text}"
    );
    assert!(!text.contains("secretpw"), "{text}");
}

#[test]
fn postgres_server_gone_mid_transaction_commits_nothing_of_it_and_runs_it_again() {
    let Some(db) = Db::postgres() else { return };
    let mut c = db.conn();
    db.create(&mut c, "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)");
    let first: i64 = c
        .query_row("SELECT CAST(pg_backend_pid() AS BIGINT)", &[], |r| r.get(0))
        .unwrap();
    let killer = db.conn();
    let mut attempts = 0;
    let r: Result<(), SqlError> = c.transaction(|tx| {
        attempts += 1;
        tx.execute("INSERT INTO t (x) VALUES (1)", &[])?;
        if attempts == 1 {
            // The server ends this session, as a restart or an administrator would.
            let ended: bool = killer
                .query_row(
                    "SELECT pg_terminate_backend(CAST(?1 AS INTEGER), 10000)",
                    &[first.into()],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(ended);
        }
        tx.execute("INSERT INTO t (x) VALUES (2)", &[])?;
        Ok(())
    });
    r.unwrap();
    assert_eq!(attempts, 2, "run again once, on a new session");
    let now: i64 = c
        .query_row("SELECT CAST(pg_backend_pid() AS BIGINT)", &[], |r| r.get(0))
        .unwrap();
    assert_ne!(now, first);
    // Nothing of the cut attempt was committed: each row once.
    let rows: Vec<i64> = killer
        .query_map("SELECT x FROM t ORDER BY x", &[], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, [1, 2]);
}

#[test]
fn postgres_server_starts_quickly_enough() {
    let Some(server) = support::postgres::server() else {
        return;
    };
    eprintln!(
        "PostgreSQL test server started in {:?} on port {}.",
        server.startup, server.port
    );
}

/// This test binary again, running only `test`, with `env` changed.
fn run_self(test: &str, env: &[(&str, Option<&str>)]) -> (bool, String) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"]);
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn without_a_server_tests_skip_with_the_reason_but_fail_under_ci() {
    let no_server = [
        ("PATH", Some("/nonexistent")),
        ("AUTOPILOT_TEST_PG_URL", None),
    ];
    let test = "postgres_missing_database_names_it";
    let (ok, text) = run_self(test, &[no_server[0], no_server[1], ("CI", None)]);
    assert!(ok, "{text}");
    assert!(
        text.contains("skipping a PostgreSQL test: pg_config not found"),
        "{text}"
    );
    let (ok, text) = run_self(test, &[no_server[0], no_server[1], ("CI", Some("true"))]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("PostgreSQL tests cannot run under CI=true: pg_config not found"),
        "{text}"
    );
}

#[test]
fn the_test_server_stops_when_its_test_binary_exits() {
    if std::env::var_os("AUTOPILOT_TEST_PG_URL").is_some() {
        return eprintln!("skipping: an external server is not ours to stop");
    }
    let (ok, text) = run_self("postgres_server_starts_quickly_enough", &[]);
    assert!(ok, "{text}");
    let Some(port) = text
        .split("on port ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .and_then(|p| p.parse::<u16>().ok())
    else {
        return eprintln!("skipping: the child started no server: {text}");
    };
    support::wait_for(
        &format!("the server on port {port} to stop"),
        Duration::from_secs(20),
        || {
            std::net::TcpStream::connect(("127.0.0.1", port))
                .is_err()
                .then_some(())
        },
    );
}
