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

/// `AUTOPILOT_SHARED`: `1`, `true` or `yes` turn shared mode on, any other value off.
pub(super) fn shared_env(text: &dyn Fn(&str) -> Option<String>) -> Option<bool> {
    text("AUTOPILOT_SHARED").map(|v| matches!(v.trim(), "1" | "true" | "yes"))
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

    /// What the runner lock is taken on (`RunnerLock::acquire`): the SQLite file (one runner
    /// per database), or in shared mode this clone's state directory (one runner per clone;
    /// the other boxes run their own).
    pub fn runner_lock_of(&self) -> std::path::PathBuf {
        match &self.paths.db {
            StoreUrl::Sqlite(path) if !self.shared_mode() => path.clone(),
            _ => self.paths.state_dir.join("shared"),
        }
    }
}

/// `[store] url` as the store, unless `--db` or `AUTOPILOT_DB` named one.
pub(super) fn apply_url(paths: &mut super::Paths, store: &StoreSection) -> anyhow::Result<()> {
    if let Some(url) = store.url.as_deref().filter(|_| !paths.db_given) {
        // The error shows the URL with its password hidden.
        paths.db = url
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid [store] url in the configuration: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Paths, REPO_FILE};
    use super::*;

    #[test]
    fn shared_mode_is_the_file_the_variable_or_postgres_and_cannot_be_off_for_postgres() {
        let dir = tempfile::tempdir().expect("tempdir");
        let load = |toml: &str, vars: &[(&str, &str)], db: Option<&str>| {
            std::fs::write(dir.path().join(REPO_FILE), toml).expect("write");
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let env = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let db = db.map(|u| u.parse().expect("url"));
            Config::load(Paths::for_repo(dir.path(), db), &env)
        };
        let shared = |c: anyhow::Result<Config>| c.expect("loads").shared_mode();
        assert!(!shared(load("", &[], None)));
        assert!(shared(load("[store]\nshared = true\n", &[], None)));
        assert!(shared(load("", &[("AUTOPILOT_SHARED", "1")], None)));
        assert!(!shared(load(
            "[store]\nshared = true\n",
            &[("AUTOPILOT_SHARED", "0")],
            None
        )));
        let pg = Some("postgres://u:sekrit@127.0.0.1/q");
        assert!(shared(load("", &[], pg)));
        let err = load("[store]\nshared = false\n", &[], pg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("cannot turn shared mode off") && !err.contains("sekrit"),
            "{err}"
        );
    }
}
