//! An async handle on a store connection: each call runs on the blocking pool, so SQLite never
//! stalls a task that drives agents or draws.

use crate::store::sql::StoreUrl;
use std::sync::{Arc, Mutex};

use super::error::{blocking, RunnerError};
use crate::domain::redact::Redactor;
use crate::store::{Store, StoreError};

/// A store connection usable from async code.
#[derive(Clone, Debug)]
pub struct Db {
    // Dropping the last handle on a tokio worker is safe on PostgreSQL too: the client closes
    // on a thread of its own there (`sql::conn`).
    store: Arc<Mutex<Store>>,
}

impl Db {
    /// Opens its own connection to the database at `path`, redacting what it writes with
    /// `redactor`.
    pub async fn open(url: &StoreUrl, redactor: Arc<Redactor>) -> Result<Db, StoreError> {
        let url = url.clone();
        let store = blocking("store", move || Store::open_url(&url, redactor))
            .await
            .map_err(task_failed)??;
        Ok(Db {
            store: Arc::new(Mutex::new(store)),
        })
    }

    /// Runs `f` with the store on the blocking pool.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        blocking("store", move || {
            let mut guard = store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(task_failed)?
    }
}

/// A store task that did not finish, as the store's own error (callers see only those).
fn task_failed(e: RunnerError) -> StoreError {
    StoreError::Invalid(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_last_handle_on_a_postgres_store_is_dropped_inside_a_task() {
        let url = tokio::task::spawn_blocking(crate::store::test_db::fresh_postgres);
        let Some(url) = url.await.expect("a database") else {
            return;
        };
        let db = Db::open(&url, Redactor::builtin()).await.expect("open");
        db.call(|s| {
            s.is_shared()
                .then_some(())
                .ok_or(StoreError::Invalid("not shared".into()))
        })
        .await
        .expect("a query");
        tokio::spawn(async move { drop(db) })
            .await
            .expect("closing the connection does not panic the task");
    }
}
