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
    store: Arc<Mutex<Closing>>,
}

/// The store, closed off the async threads: closing a PostgreSQL connection blocks on the
/// client's own runtime, which panics on a tokio worker (where the last `Db` often drops).
#[derive(Debug)]
struct Closing(Option<Store>);

impl Drop for Closing {
    fn drop(&mut self) {
        let Some(store) = self.0.take() else {
            return;
        };
        if !store.is_shared() || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let closer = std::thread::Builder::new().name("store-close".into());
        // Should the thread not start, the store is leaked rather than closed here: the
        // server ends the session when this process exits.
        let store = std::mem::ManuallyDrop::new(store);
        let _ = closer.spawn(move || drop(std::mem::ManuallyDrop::into_inner(store)));
    }
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
            store: Arc::new(Mutex::new(Closing(Some(store)))),
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
            match guard.0.as_mut() {
                Some(store) => f(store),
                None => Err(StoreError::Invalid("the store was closed".into())),
            }
        })
        .await
        .map_err(task_failed)?
    }
}

/// A store task that did not finish, as the store's own error (callers see only those).
fn task_failed(e: RunnerError) -> StoreError {
    StoreError::Invalid(e.to_string())
}
