//! Opening a PostgreSQL store: connecting, and bringing its schema up to date.

use std::sync::Arc;

use super::sql::PgUrl;
use super::{Result, Store, StoreError};
use crate::domain::redact::Redactor;

/// Connects to `url` and migrates its schema.
pub(super) fn open(url: &PgUrl, _redactor: Arc<Redactor>) -> Result<Store> {
    Err(StoreError::Invalid(format!(
        "{url}: PostgreSQL stores are not available in this build yet"
    )))
}
