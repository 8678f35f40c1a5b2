//! The store the tests run on: SQLite in a temporary directory, or with
//! `AUTOPILOT_TEST_BACKEND=postgres` a fresh database on a throwaway PostgreSQL server (see
//! tests/support/postgres.rs: without a server the tests skip to SQLite, saying why, except
//! under `CI=true`, where they fail).

use std::path::Path;
use std::sync::Arc;

use super::sql::StoreUrl;
use super::Store;
use crate::domain::redact::Redactor;

#[path = "../../tests/support/postgres.rs"]
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod server;

/// Whether the tests asked for PostgreSQL.
pub(crate) fn postgres_requested() -> bool {
    std::env::var("AUTOPILOT_TEST_BACKEND").is_ok_and(|v| v.eq_ignore_ascii_case("postgres"))
}

/// A new, empty store on the backend the tests run on, and the directory to keep alive with it.
pub(crate) fn temp_store() -> (tempfile::TempDir, Store) {
    temp_store_with(Redactor::builtin())
}

/// [`temp_store`], redacting with `redactor`.
pub(crate) fn temp_store_with(redactor: Arc<Redactor>) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_in(dir.path(), redactor);
    (dir, store)
}

/// A new, empty store redacting with `redactor`: SQLite's file in `dir`, or a fresh
/// PostgreSQL database.
pub(crate) fn store_in(dir: &Path, redactor: Arc<Redactor>) -> Store {
    if let Some(url) = postgres_requested().then(fresh_postgres).flatten() {
        return Store::open_url(&url, redactor).expect("open the PostgreSQL store");
    }
    Store::open_with(&dir.join("autopilot.db"), redactor).expect("open")
}

/// The URL of a fresh PostgreSQL database, whatever the tests run on; `None` (the test skips)
/// without a server outside CI.
pub(crate) fn fresh_postgres() -> Option<StoreUrl> {
    let url = server::fresh_database()?;
    Some(url.parse().expect("the test server's URL"))
}
