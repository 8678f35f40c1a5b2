//! Landing an issue branch on its base, the git side of accepting. The new base commit is
//! built in the object database first (`git merge-tree --write-tree`, `git commit-tree`), so a
//! conflict is found before anything moves: no `MERGE_HEAD`, no half-merged files, base and
//! branch untouched. Only then is the base moved: fast-forwarded in the worktree that has it
//! checked out (when that worktree is clean), or with a compare-and-swap `git update-ref`
//! when no worktree has it, touching no files at all.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::domain::sanitize::{one_line, strip_all};
use crate::runner::git::{git, GitError};

/// How accepting lands an issue branch on its base (`[merge] policy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MergePolicy {
    /// A merge commit (`--no-ff`) naming the issue.
    #[default]
    Merge,
    /// One commit with the whole change, its message from the title and the agent's summary.
    Squash,
    /// The branch's commits replayed onto the base, which then fast-forwards.
    Rebase,
    /// Only when the base has not moved since the branch left it.
    FfOnly,
    /// No git at all: the issue is marked done (push/pull-request flows).
    None,
}

impl MergePolicy {
    /// The spelling in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            MergePolicy::Merge => "merge",
            MergePolicy::Squash => "squash",
            MergePolicy::Rebase => "rebase",
            MergePolicy::FfOnly => "ff-only",
            MergePolicy::None => "none",
        }
    }
}

impl std::str::FromStr for MergePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let all = [
            MergePolicy::Merge,
            MergePolicy::Squash,
            MergePolicy::Rebase,
            MergePolicy::FfOnly,
            MergePolicy::None,
        ];
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        all.into_iter().find(|p| p.as_str() == norm).ok_or_else(|| {
            format!("unknown merge policy {s:?} (expected merge, squash, rebase, ff-only or none)")
        })
    }
}

/// What to land where.
#[derive(Debug, Clone)]
pub struct Landing<'a> {
    /// The main repository.
    pub repo: &'a Path,
    /// The branch that receives the work.
    pub base: &'a str,
    /// The issue branch.
    pub branch: &'a str,
    /// How.
    pub policy: MergePolicy,
    /// The message of the merge or squash commit.
    pub message: &'a str,
    /// Who commits when git has no identity configured (`[git] commit_name`, `commit_email`).
    pub fallback_identity: (&'a str, &'a str),
    /// Shared mode: the remote the new base is pushed to before the local base moves, so
    /// a base another box moved meanwhile leaves everything here as it was.
    pub push_to: Option<&'a str>,
}

/// What landing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landed {
    /// The base moved from `old` to `new`; `checkout` is the worktree fast-forwarded with it.
    Moved {
        /// The base before.
        old: String,
        /// The base now.
        new: String,
        /// The worktree that has the base checked out, if any.
        checkout: Option<PathBuf>,
    },
    /// The base already holds every commit of the branch; nothing moved.
    NothingToMerge {
        /// The base.
        tip: String,
    },
}

/// Why the work was not landed. In every case nothing was changed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MergeError {
    /// A git command failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The branch and the base change the same lines.
    #[error("{branch} conflicts with {base} in: {}", files.join(", "))]
    Conflict {
        /// The base.
        base: String,
        /// The issue branch.
        branch: String,
        /// The conflicting files.
        files: Vec<String>,
    },
    /// The worktree that has the base checked out has uncommitted changes.
    #[error("{base} is checked out in {} with uncommitted changes ({}); commit or stash them, then accept again", worktree.display(), files.join(", "))]
    Dirty {
        /// The base.
        base: String,
        /// The worktree.
        worktree: PathBuf,
        /// The changed files.
        files: Vec<String>,
    },
    /// `ff-only` and the base has commits the branch lacks.
    #[error("{base} has {ahead} commit(s) that {branch} lacks, so it cannot be fast-forwarded ([merge] policy = \"ff-only\"); use the merge or rebase policy, or request changes so the agent merges {base}")]
    NotFastForward {
        /// The base.
        base: String,
        /// The issue branch.
        branch: String,
        /// How many commits the base moved on.
        ahead: usize,
    },
    /// A branch is not there.
    #[error("the {role} {name} does not exist (deleted or renamed?); nothing was merged")]
    Missing {
        /// `issue branch` or `base branch`.
        role: &'static str,
        /// Its name.
        name: String,
    },
    /// Pushing the new base to the remote failed; the local base did not move.
    #[error("pushing the merged {base} to {remote} failed, so nothing was merged{}: {error}", if *.rejected { " (another box moved it)" } else { "" })]
    Push {
        /// The base.
        base: String,
        /// The remote.
        remote: String,
        /// Whether the remote refused it as not a fast-forward of its own base.
        rejected: bool,
        /// What git said.
        error: GitError,
    },
    /// The base moved while the merge was being made.
    #[error("{base} moved while merging (another commit landed on it); accept again")]
    Raced {
        /// The base.
        base: String,
    },
}

/// Lands `l.branch` on `l.base` as `l.policy` says (never called with [`MergePolicy::None`],
/// which lands nothing). Nothing changes unless the whole merge succeeds.
pub fn land(l: &Landing<'_>) -> Result<Landed, MergeError> {
    let tip = branch_tip(l.repo, l.branch, "issue branch")?;
    let old = branch_tip(l.repo, l.base, "base branch")?;
    if is_ancestor(l.repo, &tip, &old) {
        return Ok(Landed::NothingToMerge { tip: old });
    }
    let checkout = checked_out_at(l.repo, l.base)?;
    if let Some(wt) = &checkout {
        let files = dirty_files(wt)?;
        if !files.is_empty() {
            return Err(MergeError::Dirty {
                base: l.base.into(),
                worktree: wt.clone(),
                files,
            });
        }
    }
    let env = identity(l.repo, l.fallback_identity);
    let conflict = |files| MergeError::Conflict {
        base: l.base.into(),
        branch: l.branch.into(),
        files,
    };
    let message = strip_all(l.message);
    let new = match l.policy {
        MergePolicy::Merge | MergePolicy::Squash => {
            let tree = merge_tree(l.repo, None, &old, &tip)?.map_err(conflict)?;
            let mut args = vec!["commit-tree", tree.as_str(), "-p", old.as_str()];
            if l.policy == MergePolicy::Merge {
                args.extend(["-p", tip.as_str()]);
            }
            args.extend(["-m", message.as_str()]);
            run_ok(l.repo, &args, &env)?
        }
        MergePolicy::FfOnly => {
            if !is_ancestor(l.repo, &old, &tip) {
                return Err(MergeError::NotFastForward {
                    base: l.base.into(),
                    branch: l.branch.into(),
                    ahead: count(l.repo, &format!("{tip}..{old}"))?,
                });
            }
            tip.clone()
        }
        MergePolicy::Rebase => replay(l.repo, &old, &tip, &env)?.map_err(conflict)?,
        MergePolicy::None => return Ok(Landed::NothingToMerge { tip: old }),
    };
    if new == old {
        return Ok(Landed::NothingToMerge { tip: old });
    }
    if let Some(remote) = l.push_to {
        let spec = format!("{new}:refs/heads/{}", l.base);
        git(l.repo, &["push", "--quiet", remote, &spec]).map_err(|error| MergeError::Push {
            base: l.base.into(),
            remote: remote.into(),
            rejected: crate::runner::remote::rejected(&error),
            error,
        })?;
    }
    move_base(l, &old, &new, checkout.as_deref())?;
    Ok(Landed::Moved { old, new, checkout })
}

/// Moves the base from `old` to `new`, which contains it: in the worktree that has it checked
/// out (git refuses there, changing nothing, if a file it would write is in the way), else by
/// a ref update that fails if the base moved meanwhile.
fn move_base(
    l: &Landing<'_>,
    old: &str,
    new: &str,
    checkout: Option<&Path>,
) -> Result<(), MergeError> {
    let raced = || MergeError::Raced {
        base: l.base.into(),
    };
    match checkout {
        Some(wt) => {
            if git(wt, &["rev-parse", "HEAD"])? != old {
                return Err(raced());
            }
            git(wt, &["merge", "--ff-only", "--quiet", new])?;
        }
        None => {
            let full = format!("refs/heads/{}", l.base);
            let msg = format!("autopilot: accept {}", l.branch);
            git(l.repo, &["update-ref", "-m", &msg, &full, new, old]).map_err(|e| {
                if e.stderr.contains("but expected") || e.stderr.contains("is at") {
                    raced()
                } else {
                    e.into()
                }
            })?;
        }
    }
    Ok(())
}

/// The commit a local branch points at.
fn branch_tip(repo: &Path, name: &str, role: &'static str) -> Result<String, MergeError> {
    git(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{name}^{{commit}}"),
        ],
    )
    .map_err(|_| MergeError::Missing {
        role,
        name: name.into(),
    })
}

fn is_ancestor(repo: &Path, a: &str, b: &str) -> bool {
    git(repo, &["merge-base", "--is-ancestor", a, b]).is_ok()
}

fn count(repo: &Path, range: &str) -> Result<usize, GitError> {
    let n = git(repo, &["rev-list", "--count", range])?;
    n.parse().map_err(|_| GitError {
        command: format!("git rev-list --count {range}"),
        stderr: format!("unexpected output {n:?}"),
    })
}

/// The worktree (main or linked) that has `branch` checked out, if one does. A worktree whose
/// directory is gone (`prunable`) does not count: no files can be touched there.
pub fn checked_out_at(repo: &Path, branch: &str) -> Result<Option<PathBuf>, GitError> {
    let list = git(repo, &["worktree", "list", "--porcelain"])?;
    let want = format!("branch refs/heads/{branch}");
    for block in list.split("\n\n") {
        let mut path = None;
        let (mut on, mut prunable) = (false, false);
        for line in block.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                path = Some(PathBuf::from(p));
            }
            on |= line == want;
            prunable |= line.starts_with("prunable");
        }
        if let (Some(p), true, false) = (path, on, prunable) {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// Tracked files with uncommitted changes in a worktree (untracked files do not stop a
/// fast-forward: git itself refuses one that would overwrite them).
pub fn dirty_files(dir: &Path) -> Result<Vec<String>, GitError> {
    status_files(dir, "--untracked-files=no")
}

/// Every file with changes in a worktree, untracked ones included (what removing it would lose).
pub fn changed_files(dir: &Path) -> Result<Vec<String>, GitError> {
    status_files(dir, "--untracked-files=all")
}

/// The paths `git status` lists, read NUL-separated so no name is mangled or split.
fn status_files(dir: &Path, untracked: &str) -> Result<Vec<String>, GitError> {
    let out = run_ok(dir, &["status", "--porcelain", "-z", untracked], &[])?;
    let mut files = Vec::new();
    let mut entries = out.split('\0').filter(|e| !e.is_empty());
    while let Some(e) = entries.next() {
        if let Some(path) = e.get(3..) {
            files.push(one_line(path));
        }
        // A rename or copy is followed by its old path.
        if e.starts_with('R') || e.starts_with('C') {
            entries.next();
        }
    }
    Ok(files)
}

/// The environment that makes commits possible when git knows nobody: the configured autopilot
/// identity. When the user has an identity, it is theirs (they accepted the work).
fn identity(repo: &Path, (name, email): (&str, &str)) -> Vec<(String, String)> {
    if git(repo, &["var", "GIT_COMMITTER_IDENT"]).is_ok() {
        return Vec::new();
    }
    let (name, email) = (one_line(name), one_line(email));
    [
        ("GIT_AUTHOR_NAME", &name),
        ("GIT_AUTHOR_EMAIL", &email),
        ("GIT_COMMITTER_NAME", &name),
        ("GIT_COMMITTER_EMAIL", &email),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.clone()))
    .collect()
}

/// Git's exit code, stdout and stderr; only a failure to start is an error.
fn run(
    dir: &Path,
    args: &[&str],
    env: &[(String, String)],
) -> Result<(i32, String, String), GitError> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| GitError {
            command: format!("git {}", args.join(" ")),
            stderr: format!("cannot run git: {e}"),
        })?;
    // Stdout untrimmed: `status --porcelain` starts with significant spaces.
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    ))
}

fn run_ok(dir: &Path, args: &[&str], env: &[(String, String)]) -> Result<String, GitError> {
    match run(dir, args, env)? {
        (0, out, _) => Ok(out.trim_end_matches('\n').to_string()),
        (_, _, stderr) => Err(GitError {
            command: format!("git {}", args.first().copied().unwrap_or_default()),
            stderr,
        }),
    }
}

/// Merges `theirs` into `ours` in the object database: the tree, or the conflicting files.
/// `merge_base` replaces the common ancestor (to apply one commit, as a cherry-pick does).
fn merge_tree(
    repo: &Path,
    merge_base: Option<&str>,
    ours: &str,
    theirs: &str,
) -> Result<Result<String, Vec<String>>, GitError> {
    let base_arg = merge_base.map(|b| format!("--merge-base={b}"));
    let mut args = vec!["merge-tree", "--write-tree", "--name-only", "--no-messages"];
    if let Some(b) = &base_arg {
        args.push(b);
    }
    args.extend([ours, theirs]);
    match run(repo, &args, &[])? {
        (0, out, _) => Ok(Ok(out.lines().next().unwrap_or_default().to_string())),
        (1, out, _) => {
            let mut files: Vec<String> = out.lines().skip(1).map(one_line).collect();
            files.retain(|f| !f.is_empty());
            files.dedup();
            Ok(Err(files))
        }
        (_, _, stderr) => Err(GitError {
            command: format!("git {}", args.join(" ")),
            stderr: if stderr.contains("usage") || stderr.contains("unknown option") {
                format!("{stderr} (accepting needs git 2.40 or newer: `git merge-tree --write-tree --merge-base`)")
            } else {
                stderr
            },
        }),
    }
}

/// Replays the commits of `tip` that `onto` lacks on top of it, one at a time as a rebase
/// does (merge commits are dropped, authors and messages kept), without a worktree. Returns
/// the new tip, or the files the first conflicting commit conflicts in.
fn replay(
    repo: &Path,
    onto: &str,
    tip: &str,
    env: &[(String, String)],
) -> Result<Result<String, Vec<String>>, GitError> {
    if is_ancestor(repo, onto, tip) {
        return Ok(Ok(tip.to_string()));
    }
    let range = format!("{onto}..{tip}");
    let commits = git(
        repo,
        &[
            "rev-list",
            "--reverse",
            "--topo-order",
            "--no-merges",
            &range,
        ],
    )?;
    let mut head = onto.to_string();
    for c in commits.lines() {
        let parent = git(repo, &["rev-parse", &format!("{c}^")])?;
        let tree = match merge_tree(repo, Some(&parent), &head, c)? {
            Ok(tree) => tree,
            Err(files) => return Ok(Err(files)),
        };
        // A commit whose change the base already has becomes empty: dropped, as rebase does.
        if tree == git(repo, &["rev-parse", &format!("{head}^{{tree}}")])? {
            continue;
        }
        let meta = git(
            repo,
            &["log", "-1", "--format=%an%x00%ae%x00%ad", "--date=raw", c],
        )?;
        let mut parts = meta.split('\0');
        let mut env = env.to_vec();
        env.retain(|(k, _)| !k.starts_with("GIT_AUTHOR_"));
        for key in ["GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE"] {
            env.push((key.into(), parts.next().unwrap_or_default().to_string()));
        }
        let message = git(repo, &["log", "-1", "--format=%B", c])?;
        head = run_ok(
            repo,
            &["commit-tree", &tree, "-p", &head, "-m", &message],
            &env,
        )?;
    }
    Ok(Ok(head))
}
