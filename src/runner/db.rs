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
