//! Git, by shelling out to the `git` users already have. Every failure carries the command and
//! git's own words, verbatim, so they can go into a system comment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::domain::sanitize::{one_line, strip_all};

/// A git command that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{command}` failed: {stderr}")]
pub struct GitError {
    /// The command line.
    pub command: String,
    /// What git printed on stderr (or why it could not start).
    pub stderr: String,
}

/// Runs git in `dir` with `args`, returning trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    git_env(dir, args, &[])
}

fn git_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String, GitError> {
    let command = format!("git {}", args.join(" "));
    // Lock contention with another process (index.lock, config.lock) is retried briefly;
    // anything else is reported at once.
    let mut delay = Duration::from_millis(50);
    for attempt in 0..6 {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .envs(env.iter().copied())
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .map_err(|e| GitError {
                command: command.clone(),
                stderr: spawn_failure(dir, &e),
            })?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).trim().to_string());
        }
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let transient = stderr.contains(".lock': File exists") && stderr.contains("config.lock")
            || stderr.contains("could not lock config file");
        if !transient || attempt == 5 {
            return Err(GitError { command, stderr });
        }
        std::thread::sleep(delay);
        delay *= 2;
    }
    unreachable!("the loop returns on its last attempt")
}

/// Why git could not be started in `dir`. The kernel says "not found" both for a missing git
/// binary and for a missing working directory; only the first is a question of installing git.
fn spawn_failure(dir: &Path, e: &std::io::Error) -> String {
    match std::fs::metadata(dir) {
        Err(de) if de.kind() == std::io::ErrorKind::NotFound => format!(
            "the directory {} does not exist (was it deleted or moved?)",
            dir.display()
        ),
        Err(de) => format!("cannot use the directory {}: {de}", dir.display()),
        Ok(m) if !m.is_dir() => format!("{} is not a directory", dir.display()),
        Ok(_) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("cannot run git: {e} (is git installed and on PATH?)")
        }
        Ok(_) => format!("cannot run git in {}: {e}", dir.display()),
    }
}

/// The root of the main work tree for `dir` (also when `dir` is inside one of its worktrees).
pub fn repo_root(dir: &Path) -> Result<PathBuf, GitError> {
    let common = git(dir, &["rev-parse", "--path-format=absolute", "--git-common-dir"]).map_err(|e| {
        GitError {
            command: e.command,
            stderr: if e.stderr.contains("not a git repository") {
                format!("{} is not inside a git repository (run autopilot-tui from your repo, or pass --db for commands that only need the database)", dir.display())
            } else {
                e.stderr
            },
        }
    })?;
    let common = PathBuf::from(common);
    if common.file_name().is_some_and(|n| n == ".git") {
        if let Some(parent) = common.parent() {
            return Ok(parent.to_path_buf());
        }
    }
    Ok(PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?))
}

/// The branch checked out in `repo`.
pub fn current_branch(repo: &Path) -> Result<String, GitError> {
    git(repo, &["symbolic-ref", "--quiet", "--short", "HEAD"]).map_err(|e| {
        // --quiet: on a detached HEAD git fails without a word; anything said is another problem.
        if !e.stderr.is_empty() {
            return e;
        }
        GitError {
            stderr: "the repository is on a detached HEAD; set [runner] base_branch or AUTOPILOT_BASE_BRANCH".into(),
            ..e
        }
    })
}

/// Whether `branch` is a local branch of `repo`.
pub fn is_branch(repo: &Path, branch: &str) -> bool {
    git(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
    .is_ok()
}

/// Makes sure `path` is a worktree of `repo` on `branch`, creating the branch from `base` the
/// first time. A rerun finds the same worktree and branch and continues there.
pub fn ensure_worktree(repo: &Path, path: &Path, branch: &str, base: &str) -> Result<(), GitError> {
    // Concurrent `git worktree add`s in one repository read each other's half-written
    // metadata and fail; runners in other processes serialise on a lock file.
    let _lock = lock_worktrees(path)?;
    let path_str = path.to_string_lossy().to_string();
    if path.exists() {
        let head = git(path, &["rev-parse", "--abbrev-ref", "HEAD"]).map_err(|e| GitError {
            command: e.command,
            stderr: format!(
                "{path_str} exists but is not a usable git worktree: {}",
                e.stderr
            ),
        })?;
        let top = git(path, &["rev-parse", "--show-toplevel"]).unwrap_or_default();
        if Path::new(&top) != path
            && std::fs::canonicalize(&top).ok() != std::fs::canonicalize(path).ok()
        {
            return Err(GitError {
                command: "git worktree add".into(),
                stderr: format!(
                    "{path_str} exists but is not a worktree (it is inside {top}); move it aside"
                ),
            });
        }
        if head != branch {
            return Err(GitError {
                command: "git worktree add".into(),
                stderr: format!("worktree {path_str} exists but is on branch {head}, not {branch}; move it aside or check out {branch} there"),
            });
        }
        return Ok(());
    }
    // Metadata of a worktree whose directory was deleted would make `worktree add` refuse.
    let _ = git(repo, &["worktree", "prune"]);
    if is_branch(repo, branch) {
        git(repo, &["worktree", "add", &path_str, branch])?;
    } else {
        if !is_branch(repo, base) {
            return Err(GitError {
                command: format!("git worktree add -b {branch} {path_str} {base}"),
                stderr: format!("base branch {base:?} does not exist"),
            });
        }
        git(repo, &["worktree", "add", "-b", branch, &path_str, base])?;
    }
    Ok(())
}

/// The first branch name and worktree directory for issue `id` that nothing in `repo` uses
/// yet: `autopilot/issue-ID-SLUG` in `issue-ID`, else with `-2`, `-3`… appended. A branch or
/// worktree left by another database (one that was deleted or moved aside) holds another
/// issue's work and is never reused.
pub fn unused_workspace(
    repo: &Path,
    worktrees: &Path,
    id: i64,
    slug: &str,
) -> Result<(String, PathBuf), GitError> {
    // `worktree list` reads what a concurrent `worktree add` is still writing.
    let _lock = lock_worktrees(&worktrees.join("issue"))?;
    let registered = git(repo, &["worktree", "list", "--porcelain"])?;
    let taken = |path: &Path| {
        path.exists()
            || registered
                .lines()
                .filter_map(|l| l.strip_prefix("worktree "))
                .any(|w| Path::new(w) == path)
    };
    for n in 1..=1000 {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let branch = format!("autopilot/issue-{id}-{slug}{suffix}");
        let path = worktrees.join(format!("issue-{id}{suffix}"));
        if !is_branch(repo, &branch) && !taken(&path) {
            return Ok((branch, path));
        }
    }
    Err(GitError {
        command: "git worktree add".into(),
        stderr: format!("every branch name autopilot/issue-{id}-{slug}[-N] up to -1000 is taken; delete old autopilot branches"),
    })
}

/// Where the agent left `HEAD` of a worktree, against the issue branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadCheck {
    /// On the issue branch, as it should be.
    OnBranch,
    /// It was elsewhere (named here) on top of the branch's work; the branch now points at
    /// that commit and is checked out again, files untouched.
    BroughtBack(String),
    /// Elsewhere (named here), on a commit that does not contain the branch; nothing moved.
    Elsewhere(String),
}

/// Every ref name of the repository of `dir` (branches, tags, remotes).
pub fn ref_names(dir: &Path) -> Result<Vec<String>, GitError> {
    Ok(git(dir, &["for-each-ref", "--format=%(refname)"])?
        .lines()
        .map(str::to_string)
        .collect())
}

/// Makes sure the worktree `dir` is on `branch` before its work is committed there. An agent
/// that detached HEAD or switched to a branch of its own, on top of the issue branch, has
/// the issue branch fast-forwarded to where it went and checked out again without touching
/// the work tree. One that went somewhere else is left as it is, for a human: onto a commit
/// that does not contain the branch, or onto commits that a ref in `refs_before` (the refs
/// that existed when the run started) already held, which are somebody else's work.
pub fn bring_head_back(
    dir: &Path,
    branch: &str,
    refs_before: &[String],
) -> Result<HeadCheck, GitError> {
    let full = format!("refs/heads/{branch}");
    let on = git(dir, &["symbolic-ref", "--quiet", "HEAD"]).ok();
    if on.as_deref() == Some(full.as_str()) {
        return Ok(HeadCheck::OnBranch);
    }
    let head = head(dir)?;
    let short = &head[..head.len().min(10)];
    let place = match on.as_deref().and_then(|r| r.strip_prefix("refs/heads/")) {
        Some(other) => format!("branch {other} (at {short})"),
        None => format!("a detached HEAD at {short}"),
    };
    let tip = git(dir, &["rev-parse", "--verify", "--quiet", &full]).map_err(|e| GitError {
        stderr: format!("the issue branch {branch} is gone ({})", e.stderr),
        ..e
    })?;
    if git(dir, &["merge-base", "--is-ancestor", &tip, &head]).is_err() {
        return Ok(HeadCheck::Elsewhere(place));
    }
    let added = git(dir, &["rev-list", "--reverse", &format!("{tip}..{head}")])?;
    if let Some(oldest) = added.lines().next() {
        let holders = git(
            dir,
            &["for-each-ref", "--contains", oldest, "--format=%(refname)"],
        )?;
        if holders
            .lines()
            .any(|r| r != full && refs_before.iter().any(|b| b == r))
        {
            return Ok(HeadCheck::Elsewhere(place));
        }
    }
    // Same commit, so index and files stay valid when HEAD is re-pointed.
    git(dir, &["update-ref", &full, &head, &tip])?;
    git(dir, &["symbolic-ref", "HEAD", &full])?;
    Ok(HeadCheck::BroughtBack(place))
}

/// How many commits `to` has that `from` has not.
pub fn commits_between(dir: &Path, from: &str, to: &str) -> Result<usize, GitError> {
    let n = git(dir, &["rev-list", "--count", &format!("{from}..{to}")])?;
    n.parse().map_err(|_| GitError {
        command: format!("git rev-list --count {from}..{to}"),
        stderr: format!("unexpected output {n:?}"),
    })
}

/// Whether `branch` contains `commit`.
pub fn branch_contains(dir: &Path, branch: &str, commit: &str) -> bool {
    git(
        dir,
        &[
            "merge-base",
            "--is-ancestor",
            commit,
            &format!("refs/heads/{branch}"),
        ],
    )
    .is_ok()
}

/// Holds an exclusive lock on `<worktrees dir>/.lock` until dropped.
fn lock_worktrees(path: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, GitError> {
    let dir = path.parent().unwrap_or(path);
    let fail = |e: String| GitError {
        command: "git worktree add".into(),
        stderr: format!("cannot lock {}: {e}", dir.display()),
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .map_err(|e| fail(e.to_string()))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| fail(e.to_string()))
}

/// The commit `HEAD` points at.
pub fn head(dir: &Path) -> Result<String, GitError> {
    git(dir, &["rev-parse", "HEAD"])
}

/// Whether the work tree has uncommitted changes (untracked files included).
pub fn has_changes(dir: &Path) -> Result<bool, GitError> {
    Ok(!git(dir, &["status", "--porcelain", "--untracked-files=all"])?.is_empty())
}

/// Stages everything and commits it as `name <email>`, returning the new commit. The message
/// (agent text) is stripped of control and escape sequences and bidi overrides: it ends up in
/// `git log` on terminals, and in review tools once pushed.
pub fn commit_all(dir: &Path, message: &str, name: &str, email: &str) -> Result<String, GitError> {
    git(dir, &["add", "-A"])?;
    let message = strip_all(message);
    git_as(dir, &["commit", "--quiet", "-m", &message], name, email)?;
    head(dir)
}

/// Runs git with `name <email>` as both author and committer (each made a printable line).
fn git_as(dir: &Path, args: &[&str], name: &str, email: &str) -> Result<String, GitError> {
    let (name, email) = (one_line(name), one_line(email));
    let env = [
        ("GIT_AUTHOR_NAME", name.as_str()),
        ("GIT_AUTHOR_EMAIL", email.as_str()),
        ("GIT_COMMITTER_NAME", name.as_str()),
        ("GIT_COMMITTER_EMAIL", email.as_str()),
    ];
    git_env(dir, args, &env)
}

/// Pushes `branch` to `origin` and opens a pull request with `gh`, returning its URL.
pub fn push_and_open_pr(
    dir: &Path,
    branch: &str,
    base: &str,
    title: &str,
    body: &str,
) -> Result<String, GitError> {
    git(dir, &["push", "--set-upstream", "origin", branch])?;
    let (title, body) = (one_line(title), strip_all(body));
    let out = Command::new("gh")
        .args([
            "pr", "create", "--head", branch, "--base", base, "--title", &title, "--body", &body,
        ])
        .current_dir(dir)
        .output()
        .map_err(|e| GitError {
            command: "gh pr create".into(),
            stderr: format!("cannot run gh: {e} (install the GitHub CLI, or unset AUTOPILOT_PUSH)"),
        })?;
    if out.status.success() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        Ok(stdout.lines().last().unwrap_or_default().trim().to_string())
    } else {
        Err(GitError {
            command: "gh pr create".into(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Removes a clean worktree (git refuses when it has changes, which is what we want).
pub fn remove_worktree(repo: &Path, path: &Path) -> Result<(), GitError> {
    git(repo, &["worktree", "remove", &path.to_string_lossy()]).map(|_| ())
}

/// Drops metadata of worktrees whose directories are gone; returns what git reported.
pub fn prune_worktrees(repo: &Path) -> Result<String, GitError> {
    git(repo, &["worktree", "prune", "--verbose"])
}

/// What bringing the base branch into an issue branch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseMerge {
    /// The branch already contains the base.
    UpToDate,
    /// The base was merged in (a fast-forward or a merge commit).
    Merged,
    /// The work tree has uncommitted changes; nothing was attempted.
    SkippedDirty,
    /// The merge conflicts in these files; it was aborted, the branch is as it was.
    Conflict(Vec<String>),
    /// The merge conflicts in these files and was left in progress for the agent to resolve.
    LeftConflicted(Vec<String>),
}

/// Merges `base` into the branch checked out in `dir` so a rerun starts from current code.
/// A conflicting merge is aborted, leaving the branch and work tree exactly as they were.
pub fn merge_base(dir: &Path, base: &str, name: &str, email: &str) -> Result<BaseMerge, GitError> {
    merge_base_then(dir, base, (name, email), true)
}

/// [`merge_base`], but a conflicting merge stays in progress, markers in the files, for an
/// agent to resolve (committing then concludes the merge).
pub fn merge_base_leaving_conflicts(
    dir: &Path,
    base: &str,
    name: &str,
    email: &str,
) -> Result<BaseMerge, GitError> {
    merge_base_then(dir, base, (name, email), false)
}

fn merge_base_then(
    dir: &Path,
    base: &str,
    (name, email): (&str, &str),
    abort: bool,
) -> Result<BaseMerge, GitError> {
    if git(dir, &["merge-base", "--is-ancestor", base, "HEAD"]).is_ok() {
        return Ok(BaseMerge::UpToDate);
    }
    if has_changes(dir)? {
        return Ok(BaseMerge::SkippedDirty);
    }
    match git_as(
        dir,
        &["merge", "--no-edit", "--no-verify", base],
        name,
        email,
    ) {
        Ok(_) => Ok(BaseMerge::Merged),
        Err(e) => {
            let files = git(dir, &["diff", "--name-only", "--diff-filter=U"]).unwrap_or_default();
            let files: Vec<String> = files.lines().map(str::to_string).collect();
            if files.is_empty() || abort {
                let _ = git(dir, &["merge", "--abort"]);
            }
            if files.is_empty() {
                Err(e)
            } else if abort {
                Ok(BaseMerge::Conflict(files))
            } else {
                Ok(BaseMerge::LeftConflicted(files))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_named_and_neither_git_nor_a_detached_head_is_blamed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gone = dir.path().join("issue-1");
        let e = has_changes(&gone).expect_err("no directory");
        assert!(
            e.stderr
                .contains(&format!("the directory {} does not exist", gone.display())),
            "{e}"
        );
        assert!(!e.stderr.contains("is git installed"), "{e}");
        let e = current_branch(&gone).expect_err("no directory");
        assert!(!e.stderr.contains("detached"), "{e}");
        assert!(e.stderr.contains("does not exist"), "{e}");
        // a repository that really is on a detached HEAD is still called so
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).expect("mkdir");
        git(&repo, &["init", "-q", "-b", "main"]).expect("init");
        git_as(
            &repo,
            &["commit", "-q", "--allow-empty", "-m", "one"],
            "t",
            "t@example.com",
        )
        .expect("commit");
        git(&repo, &["checkout", "-q", "--detach"]).expect("detach");
        let e = current_branch(&repo).expect_err("detached");
        assert!(e.stderr.contains("detached HEAD"), "{e}");
    }
}
