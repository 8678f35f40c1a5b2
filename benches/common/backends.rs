//! The store's two backends side by side: an SQLite file, and a database of its own on a
//! throwaway PostgreSQL server on loopback (tests/support/postgres.rs starts it, and its
//! watchdog stops it when the bench exits). Both are seeded alike; set-up and checks use plain
//! SQL that both dialects read, everything measured goes through the product's `Store`.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use autopilot_tui::domain::redact::Redactor;
use autopilot_tui::store::sql::StoreUrl;
use autopilot_tui::store::Store;

use super::test_support::postgres;

/// One database on one backend.
#[derive(Clone)]
pub enum Backend {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by superuser URL.
    Postgres(String),
}

impl Backend {
    /// A new SQLite file `<dir>/<name>.db`.
    pub fn sqlite(dir: &Path, name: &str) -> Backend {
        Backend::Sqlite(dir.join(format!("{name}.db")))
    }

    /// A new, empty database on the throwaway server; `None` (after saying why) when no server
    /// can be had, so the bench still measures SQLite.
    pub fn postgres() -> Option<Backend> {
        postgres::fresh_database().map(Backend::Postgres)
    }

    /// A column heading.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }

    /// What `--db` would take: the file's path or the server's URL.
    pub fn location(&self) -> String {
        match self {
            Backend::Sqlite(p) => p.display().to_string(),
            Backend::Postgres(u) => u.clone(),
        }
    }

    /// Opens the real store (migrating on first use).
    pub fn open(&self) -> Store {
        open_location(&self.location())
    }

    /// Runs set-up SQL that both dialects read.
    pub fn execute(&self, sql: &str) {
        match self {
            Backend::Sqlite(p) => {
                rusqlite::Connection::open(p)
                    .unwrap()
                    .execute_batch(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            Backend::Postgres(u) => {
                pg_client(u)
                    .batch_execute(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    /// One integer a check reads (`SELECT count(*) …`).
    pub fn count(&self, sql: &str) -> i64 {
        match self {
            Backend::Sqlite(p) => rusqlite::Connection::open(p)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Backend::Postgres(u) => pg_client(u)
                .query_one(sql, &[])
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .get(0),
        }
    }

    /// Transactions rolled back in this database so far (PostgreSQL's statistics; 0 on
    /// SQLite, whose writers wait their turn instead). Serialization conflicts the store
    /// retried show here.
    pub fn rollbacks(&self) -> i64 {
        match self {
            Backend::Sqlite(_) => 0,
            Backend::Postgres(u) => {
                let mut c = pg_client(u);
                // Statistics of sessions that ended reach the shared counters when they end.
                c.batch_execute("SELECT pg_stat_clear_snapshot()").unwrap();
                c.query_one(
                    "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()",
                    &[],
                )
                .unwrap()
                .get(0)
            }
        }
    }

    /// Creates the schema and the same issues, events and questions as [`super::seed`].
    pub fn seed(&self, issues: u64, events: u64) {
        match self {
            Backend::Sqlite(p) => super::seed(p, issues, events),
            Backend::Postgres(u) => seed_pg(u, issues, events),
        }
    }

    /// Checks the per-status counters the board reads against a count of the rows.
    pub fn check_counters(&self) {
        let off = self.count(
            "SELECT count(*) FROM (SELECT status, count(*) AS n FROM issues WHERE archived_at IS NULL GROUP BY status) a
             FULL OUTER JOIN (SELECT status, n FROM status_counts WHERE n != 0) c ON a.status = c.status
             WHERE a.n IS NULL OR c.n IS NULL OR a.n != c.n",
        );
        assert_eq!(
            off,
            0,
            "{}: status_counts disagree with the rows",
            self.name()
        );
    }
}

/// Opens the store at a path or URL, as `--db` would.
pub fn open_location(location: &str) -> Store {
    let url = StoreUrl::from_str(location).unwrap();
    Store::open_url(&url, Redactor::builtin()).unwrap()
}

/// A plain client of the test server (set-up, checks and the bare baseline).
pub fn pg_client(url: &str) -> ::postgres::Client {
    ::postgres::Client::connect(url, ::postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to the bench server: {e}"))
}

/// How the throwaway server is set up, for the report.
pub fn pg_settings() -> String {
    "PostgreSQL on 127.0.0.1 (TCP, no TLS), fsync=off, synchronous_commit=off (tests/support/postgres.rs)".into()
}

fn seed_pg(url: &str, issues: u64, events: u64) {
    drop(open_location(url));
    let mut c = pg_client(url);
    let mut tx = c.transaction().unwrap();
    let mut first = 1u64;
    for (status, share) in super::SPREAD {
        let n = if status == "done" {
            issues + 1 - first
        } else {
            issues * share / 1000
        };
        if n == 0 {
            continue;
        }
        let last = first + n - 1;
        // As super::seed: `Card-000042`, kinds in turn, created in id order.
        tx.batch_execute(&format!(
            "INSERT INTO issues (id, title, body, kind, status, priority, created_at, updated_at)
             SELECT g, 'Card-' || repeat('0', greatest(0, 6 - length(g::text))) || g::text,
                    'Seeded for the benchmarks.' || chr(10) || 'Second line of the body.',
                    (ARRAY['feature','bug','chore','feedback'])[g % 4 + 1], '{status}', 0,
                    1700000000000 + g, 1700000000000 + g
             FROM generate_series({first}, {last}) g"
        ))
        .unwrap();
        first = last + 1;
    }
    if events > 0 {
        tx.batch_execute(&format!(
            "INSERT INTO events (ts, kind, issue_id, actor, data)
             SELECT 1700000000000 + e, 'issue.created', e % {} + 1, 'human:bench', '{{}}'
             FROM generate_series(0, {}) e",
            issues.max(1),
            events - 1
        ))
        .unwrap();
    }
    tx.batch_execute(
        "INSERT INTO comments (issue_id, author, author_kind, body, created_at)
         SELECT id, 'bench-1', 'agent', 'Which way should this go?', updated_at FROM issues WHERE status = 'blocked';
         SELECT setval(pg_get_serial_sequence('issues', 'id'), greatest(1, (SELECT max(id) FROM issues)))",
    )
    .unwrap();
    tx.commit().unwrap();
    c.batch_execute("ANALYZE").unwrap();
}

/// One line of a side-by-side table: the same measurement on both backends.
pub struct Pair {
    pub what: String,
    pub sqlite: String,
    pub postgres: String,
    /// PostgreSQL's figure over SQLite's, with its unit ("0.40× the rate").
    pub ratio: String,
}

/// Prints the side-by-side table in the Markdown format BENCHMARKS.md uses.
pub fn print_pairs(title: &str, pairs: &[Pair]) {
    println!("\n## {title}\n");
    println!("| what | SQLite | PostgreSQL | PostgreSQL / SQLite |");
    println!("|---|---|---|---|");
    for p in pairs {
        println!(
            "| {} | {} | {} | {} |",
            p.what, p.sqlite, p.postgres, p.ratio
        );
    }
    println!();
}

/// Names a backend's copy of a table title: SQLite's keeps the title it always had.
pub fn titled(title: &str, backend: &Backend) -> String {
    match backend {
        Backend::Sqlite(_) => title.to_string(),
        Backend::Postgres(_) => format!("{title} (PostgreSQL)"),
    }
}
