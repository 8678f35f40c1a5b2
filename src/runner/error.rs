//! What ends a run early, typed: each error's text is the one its comment quotes, and
//! [`super::verdict::from_error`] turns it into the run's end. Also the one way the runner
//! moves blocking work (git, files, process scans, SQLite) off the async threads.

use std::path::PathBuf;

use super::git::GitError;
use crate::store::StoreError;

/// Why a run, or one of its steps, failed.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A git command failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Blocking work panicked or was cancelled.
    #[error("{what} task failed: {error}")]
    Task {
        /// What the task was doing (`git`, `store`, …).
        what: &'static str,
        /// Why it did not finish.
        error: tokio::task::JoinError,
    },
    /// The private prompt file could not be written.
    #[error("cannot write the prompt file {}: {error}", path.display())]
    PromptFile {
        /// The file.
        path: PathBuf,
        /// Why not.
        error: std::io::Error,
    },
    /// The agent's executable does not exist.
    #[error("agent binary not found: {program} ({error}); set AUTOPILOT_CLAUDE_BIN to the claude executable")]
    AgentNotFound {
        /// The executable.
        program: String,
        /// What the kernel said.
        error: std::io::Error,
    },
    /// The agent could not be started.
    #[error("cannot start the agent {program}: {error}")]
    AgentStart {
        /// The executable.
        program: String,
        /// What the kernel said.
        error: std::io::Error,
    },
    /// The issue's base branch does not exist.
    #[error(
        "the base branch {base:?} ({origin}) does not exist, renamed or deleted? \
         Set the base of this issue with `autopilot-tui edit {issue_id} --base BRANCH`"
    )]
    BaseMissing {
        /// The branch.
        base: String,
        /// Where the name came from.
        origin: &'static str,
        /// The issue.
        issue_id: i64,
    },
    /// Merging the base into the issue branch before a rerun conflicts; the merge was aborted.
    #[error("merging {base} into {branch} conflicts")]
    BaseConflict {
        /// The base branch.
        base: String,
        /// The issue branch.
        branch: String,
        /// The worktree, as text.
        worktree: String,
        /// The conflicting files.
        files: Vec<String>,
    },
    /// The agent left the worktree on a branch or commit that is not its work on top of the
    /// issue branch; nothing was committed.
    #[error("the agent left the worktree on {place}, not on {branch}")]
    LeftElsewhere {
        /// Where it is.
        place: String,
        /// The issue branch.
        branch: String,
        /// The worktree, as text.
        worktree: String,
    },
    /// The agent was to resolve a conflicted base merge but left conflict markers; nothing
    /// was committed.
    #[error("conflict markers are left in {} after merging {base}; nothing was committed, the merge is still in progress in {worktree}", files.join(", "))]
    ConflictMarkersLeft {
        /// The base branch.
        base: String,
        /// The worktree, as text.
        worktree: String,
        /// The files that still hold markers.
        files: Vec<String>,
    },
    /// A persona's instructions could not be read.
    #[error("{0}")]
    Persona(String),
    /// A step of the run failed: which one, and why.
    #[error("{step}: {error}")]
    Step {
        /// What was being done (`could not prepare the worktree`).
        step: String,
        /// Why it failed.
        error: Box<RunnerError>,
    },
}

/// Names the step an error happened in.
pub(super) trait Step<T> {
    /// The error, prefixed with `step` (`could not name the worktree: …`).
    fn step(self, step: impl Into<String>) -> Result<T, RunnerError>;
}

impl<T, E: Into<RunnerError>> Step<T> for Result<T, E> {
    fn step(self, step: impl Into<String>) -> Result<T, RunnerError> {
        self.map_err(|e| RunnerError::Step {
            step: step.into(),
            error: Box::new(e.into()),
        })
    }
}

/// Runs blocking work on tokio's blocking pool. A task that panicked comes back as
/// [`RunnerError::Task`] naming `what`; the work's own result is left to the caller.
pub(super) async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RunnerError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| RunnerError::Task { what, error })
}

/// Runs git commands off the async threads.
pub(super) async fn git<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, GitError> + Send + 'static,
) -> Result<T, RunnerError> {
    Ok(blocking("git", work).await??)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_step_prefixes_the_error_it_wraps() {
        let failed: Result<(), GitError> = Err(GitError {
            command: "git worktree add".into(),
            stderr: "no".into(),
        });
        let e = failed
            .step("could not prepare the worktree")
            .expect_err("failed");
        assert_eq!(
            e.to_string(),
            "could not prepare the worktree: `git worktree add` failed: no"
        );
        let panicked = blocking("git", || panic!("boom")).await;
        let e: Result<(), _> = panicked.step("could not name the worktree");
        let text = e.expect_err("panicked").to_string();
        assert!(
            text.starts_with("could not name the worktree: git task failed: "),
            "{text}"
        );
    }

    #[test]
    fn a_missing_base_says_how_to_set_another() {
        let e = RunnerError::BaseMissing {
            base: "trunk".into(),
            origin: "its recorded base",
            issue_id: 7,
        };
        assert_eq!(
            e.to_string(),
            "the base branch \"trunk\" (its recorded base) does not exist, renamed or deleted? \
             Set the base of this issue with `autopilot-tui edit 7 --base BRANCH`"
        );
    }
}
