//! Shared mode's git: several boxes share one queue, each with its own clone, and the issue
//! branches travel through the remote (`origin`). A box pushes every branch after a run and
//! fetches an issue's branch before it diffs, accepts or reruns it, working from the fetched
//! commit; local commits are never thrown away (a local branch that diverged from the remote
//! one is an error that names both).

use std::path::{Path, PathBuf};

use super::git::{git, GitError};
use super::review::diff::{DiffError, DiffTarget};
use super::review::merge::{checked_out_at, dirty_files};

/// The remote shared mode pushes to and fetches from.
pub const REMOTE: &str = "origin";

/// What bringing a local branch up to the remote's did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    /// No local branch: one was made at the remote's commit.
    Created,
    /// The local branch was behind and was fast-forwarded.
    FastForwarded,
    /// Both point at the same commit.
    UpToDate,
    /// The local branch has commits the remote lacks (they are pushed later); kept.
    LocalAhead,
    /// The remote has no such branch, the local one is used (a push that failed earlier).
    LocalOnly,
}

/// Checks that `repo` has the remote shared mode needs and can push to it; the error says
/// which remote was looked for, what git said, and what to do.
pub fn check_pushable(repo: &Path) -> Result<(), String> {
    let needed = format!(
        "shared mode ([store] shared, AUTOPILOT_SHARED or a PostgreSQL store) pushes every issue branch to the remote `{REMOTE}` so the other boxes can review and rerun it"
    );
    if let Err(e) = git(repo, &["remote", "get-url", REMOTE]) {
        return Err(format!(
            "the runner does not start: {needed}, and {} has no remote `{REMOTE}` ({}); add it with `git remote add {REMOTE} URL` (the same remote on every box)",
            repo.display(),
            e.stderr
        ));
    }
    // A dry run to a ref nobody uses reaches the remote and authenticates, writing nothing;
    // a new ref is never refused as a non-fast-forward, whatever this clone's branches hold.
    let probe = "HEAD:refs/heads/autopilot/push-check";
    if let Err(e) = git(repo, &["push", "--dry-run", "--quiet", REMOTE, probe]) {
        return Err(format!(
            "the runner does not start: {needed}, but pushing to `{REMOTE}` fails ({e}); fix the remote's URL or access (`git remote -v`, `git push --dry-run {REMOTE}`)"
        ));
    }
    Ok(())
}

/// Fetches `branch` from the remote into `refs/remotes/origin/BRANCH`, returning its commit.
pub fn fetch(repo: &Path, branch: &str) -> Result<String, GitError> {
    let spec = format!("+refs/heads/{branch}:refs/remotes/{REMOTE}/{branch}");
    git(repo, &["fetch", "--quiet", "--no-tags", REMOTE, &spec]).map_err(|e| {
        if missing_on_remote(&e) {
            GitError {
                stderr: format!(
                    "the branch {branch} is not on the remote {REMOTE} (deleted there, or never pushed by the box that ran it): {}",
                    e.stderr
                ),
                ..e
            }
        } else {
            e
        }
    })?;
    git(
        repo,
        &["rev-parse", "--verify", "--quiet", &remote_ref(branch)],
    )
}

fn remote_ref(branch: &str) -> String {
    format!("refs/remotes/{REMOTE}/{branch}^{{commit}}")
}

/// Whether `e` says the remote has no such branch.
pub fn missing_on_remote(e: &GitError) -> bool {
    e.stderr.contains("couldn't find remote ref") || e.stderr.contains("is not on the remote")
}

/// Fetches `branch` and brings the local branch up to it: made when missing, fast-forwarded
/// when behind (in the worktree that has it checked out, which must be clean), kept when
/// ahead. A local branch that diverged, or a branch that is nowhere, is an error; nothing
/// changes then.
pub fn sync_branch(repo: &Path, branch: &str) -> Result<Synced, GitError> {
    let full = format!("refs/heads/{branch}");
    let local = git(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{full}^{{commit}}"),
        ],
    )
    .ok();
    let remote = match fetch(repo, branch) {
        Ok(sha) => sha,
        Err(e) if missing_on_remote(&e) && local.is_some() => return Ok(Synced::LocalOnly),
        Err(e) => return Err(e),
    };
    let Some(local) = local else {
        // An empty old value: only when the branch still does not exist.
        git(repo, &["update-ref", &full, &remote, ""])?;
        return Ok(Synced::Created);
    };
    let ancestor = |a: &str, b: &str| git(repo, &["merge-base", "--is-ancestor", a, b]).is_ok();
    if local == remote {
        return Ok(Synced::UpToDate);
    }
    if ancestor(&remote, &local) {
        return Ok(Synced::LocalAhead);
    }
    let short = |s: &str| s.get(..10).unwrap_or(s).to_string();
    if !ancestor(&local, &remote) {
        return Err(GitError {
            command: format!("git merge-base --is-ancestor {full} {REMOTE}/{branch}"),
            stderr: format!(
                "the local branch {branch} (at {}) and {REMOTE}/{branch} (at {}) have diverged: each has commits the other lacks; nothing was changed — merge or rebase them by hand in {}, then push",
                short(&local),
                short(&remote),
                repo.display()
            ),
        });
    }
    match checked_out_at(repo, branch)? {
        Some(wt) => {
            let files = dirty_files(&wt)?;
            if !files.is_empty() {
                return Err(GitError {
                    command: format!("git merge --ff-only {REMOTE}/{branch}"),
                    stderr: format!(
                        "{branch} is behind {REMOTE}/{branch} but checked out at {} with uncommitted changes ({}); commit or stash them first",
                        wt.display(),
                        files.join(", ")
                    ),
                });
            }
            git(&wt, &["merge", "--ff-only", "--quiet", &remote])?;
        }
        None => {
            git(repo, &["update-ref", &full, &remote, &local])?;
        }
    }
    Ok(Synced::FastForwarded)
}

/// Pushes `branch` to the same name on the remote (never forced: a branch another box moved
/// meanwhile is refused, and git's words say so).
pub fn push_branch(dir: &Path, branch: &str) -> Result<(), GitError> {
    let spec = format!("refs/heads/{branch}:refs/heads/{branch}");
    git(dir, &["push", "--quiet", REMOTE, &spec]).map(|_| ())
}

/// Whether a push failed because the remote's branch has commits this one lacks.
pub fn rejected(e: &GitError) -> bool {
    ["rejected", "non-fast-forward", "fetch first"]
        .iter()
        .any(|w| e.stderr.contains(w))
}

/// Before an issue's diff is read in shared mode: its branch, fetched and brought up to the
/// remote's (the box that ran it may be another one).
pub fn fetch_for_diff(repo: &Path, t: &DiffTarget) -> Result<(), DiffError> {
    let Some(branch) = &t.branch else {
        return Err(DiffError::NoBranch(t.issue_id));
    };
    sync_branch(repo, branch)?;
    Ok(())
}

/// The worktree an issue gets on this box: the recorded one when it lies under this box's
/// worktree directory, else the directory of the same name there (another box recorded it).
pub fn local_worktree(worktrees: &Path, recorded: &Path) -> PathBuf {
    match recorded.file_name() {
        Some(name) if recorded.parent() != Some(worktrees) => worktrees.join(name),
        _ => recorded.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_box_worktree_maps_to_the_same_name_here_and_this_box_own_stays() {
        let here = Path::new("/b/repo/.autopilot/worktrees");
        let theirs = Path::new("/a/repo/.autopilot/worktrees/issue-7");
        assert_eq!(local_worktree(here, theirs), here.join("issue-7"));
        let ours = here.join("issue-7-2");
        assert_eq!(local_worktree(here, &ours), ours);
    }
}
