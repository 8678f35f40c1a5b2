//! Where things live for one repository: its state directory, database, worktrees and logs.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::store::sql::StoreUrl;

/// Where things live for one repository.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The main repository's work tree root.
    pub repo_root: PathBuf,
    /// `.autopilot/` (git-ignored runtime state).
    pub state_dir: PathBuf,
    /// The store: an SQLite file or a PostgreSQL database.
    pub db: StoreUrl,
    /// Whether `db` was given (`--db`, `AUTOPILOT_DB`), so `[store] url` does not replace it.
    pub db_given: bool,
    /// Where worktrees are created.
    pub worktrees: PathBuf,
    /// Log files.
    pub logs: PathBuf,
}

impl Paths {
    /// The layout under a repository root, with an optional store override.
    pub fn for_repo(repo_root: &Path, db: Option<StoreUrl>) -> Paths {
        let state_dir = repo_root.join(".autopilot");
        Paths {
            repo_root: repo_root.to_path_buf(),
            db_given: db.is_some(),
            db: db.unwrap_or_else(|| StoreUrl::Sqlite(state_dir.join("autopilot.db"))),
            worktrees: state_dir.join("worktrees"),
            logs: state_dir.join("logs"),
            state_dir,
        }
    }

    /// Creates `.autopilot/` with a `.gitignore` that hides it from git. A new directory is
    /// private to the user (0700): it holds the database, logs and the agents' worktrees.
    pub fn ensure_state_dir(&self) -> anyhow::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.state_dir)
            .with_context(|| format!("cannot create {}", self.state_dir.display()))?;
        let ignore = self.state_dir.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(&ignore, "# runtime state of autopilot-tui\n*\n")
                .with_context(|| format!("cannot write {}", ignore.display()))?;
        }
        Ok(())
    }
}
