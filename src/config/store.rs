//! `[store]`: where the queue lives, and whether several boxes share it (shared mode).

use serde::Deserialize;

use super::Config;
use crate::store::sql::StoreUrl;

/// `[store]`: where the queue lives.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// An SQLite path or a `postgres://` URL (below `--db` and `AUTOPILOT_DB`).
    pub url: Option<String>,
    /// Shared mode on an SQLite file several clones use (`AUTOPILOT_SHARED=1`): branches
    /// travel through the remote. Always on for PostgreSQL.
    pub shared: Option<bool>,
}

/// Refuses `shared = false` on a PostgreSQL store: every box of a shared server needs the
/// others' branches, so shared mode cannot be switched off there.
pub(super) fn check_shared(s: &StoreSection, db: &StoreUrl) -> anyhow::Result<()> {
    if s.shared == Some(false) && matches!(db, StoreUrl::Postgres(_)) {
        anyhow::bail!(
            "[store] shared = false (or AUTOPILOT_SHARED=0) cannot turn shared mode off for a PostgreSQL store ({db}): \
             its boxes reach each other's branches only through the remote; remove the setting"
        );
    }
    Ok(())
}

impl Config {
    /// Whether this box shares its queue with others, so branches go through the remote: the
    /// store is a server (PostgreSQL), or `[store] shared = true` / `AUTOPILOT_SHARED=1`.
    /// The one place that decides it; the runner and accepting read it from their settings.
    pub fn shared_mode(&self) -> bool {
        matches!(self.paths.db, StoreUrl::Postgres(_)) || self.file.store.shared == Some(true)
    }
}
