//! Accepting an issue: the one code path behind the TUI's `a`, `accept ID` and `move ID done`.
//!
//! In order, under a lock that serialises accepts across processes: the issue must be in
//! review (not running, not accepted already); the branch is landed on its base
//! ([`super::merge`]); only then does the issue move to done, with a system comment naming
//! the new base commit, in one store transaction. Cleaning up (worktree, branch, push) comes
//! last and is reported in a second comment: a merge that landed is never undone.

use crate::store::sql::StoreUrl;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::merge::{self, Landed, Landing, MergeError, MergePolicy};
use crate::domain::redact::Redactor;
use crate::domain::sanitize::one_line;
use crate::domain::{transition, Actor, AuthorKind, Status};
use crate::runner::{git, remote};
use crate::store::{Store, StoreError};

/// The author of the system comment a conflicting accept leaves. A rerun that finds it as the
/// issue's newest system comment merges the base and leaves the conflicts for the agent to
/// resolve instead of parking the issue: the comment is both what the human reads and the
/// runner's flag, so no other state can disagree with it, and any later system comment (a run
/// that ended, a cleanup) turns it off.
pub const CONFLICT_AUTHOR: &str = "autopilot merge";

const SYSTEM_AUTHOR: &str = "autopilot";

/// What accepting needs to know.
#[derive(Debug, Clone)]
pub struct AcceptSettings {
    /// The main repository.
    pub repo_root: PathBuf,
    /// Where worktrees live (the lock file goes there).
    pub worktrees: PathBuf,
    /// The database.
    pub db: StoreUrl,
    /// What the store redacts.
    pub redactor: Arc<Redactor>,
    /// The configured base, for an issue that recorded none.
    pub base_branch: Option<String>,
    /// Who commits when git has no identity configured.
    pub commit_name: String,
    /// Their e-mail.
    pub commit_email: String,
    /// `[merge] policy`.
    pub policy: MergePolicy,
    /// `[merge] delete_branch`.
    pub delete_branch: bool,
    /// `[merge] push`: push the base after landing.
    pub push: bool,
    /// `[github] merge_pr`: with policy none, merge the issue's pull request on GitHub.
    pub merge_pr: bool,
    /// Shared mode: the branch and the base are fetched first, the base pushed before the
    /// issue is done.
    pub shared: bool,
}

/// What merging the pull request at `url` on GitHub did, in words; a failure leaves the branch
/// `b` as it is and says why.
fn pr_merged(dir: &std::path::Path, url: &str, b: &str) -> String {
    match crate::runner::github::merge_pr(dir, url) {
        Ok(()) => format!("Accepted: merged the pull request {url} on GitHub (gh pr merge; [github] merge_pr = true)."),
        Err(e) => format!(
            "Accepted without merging: merging the pull request {url} failed ({e}); the branch {b} was left as it is."
        ),
    }
}

/// A successful accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The issue, now done.
    pub issue_id: i64,
    /// What was merged, one line.
    pub merged: String,
    /// What cleaning up did, one line each (a push that failed among them).
    pub notes: Vec<String>,
}

/// Why an issue was not accepted, or what went wrong after its merge.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// Not in review.
    #[error("#{id} is {status}, not in_review: only work in review can be accepted{hint}")]
    NotInReview {
        /// The issue.
        id: i64,
        /// Where it is.
        status: Status,
        /// What to do instead.
        hint: String,
    },
    /// Landing refused; the issue stays in review and nothing changed.
    #[error("#{id} stays in review: {error}")]
    Merge {
        /// The issue.
        id: i64,
        /// Why.
        error: MergeError,
    },
    /// The store refused before anything was merged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The merge landed but the issue could not be marked done.
    #[error("{merged} — but #{id} could not be marked done: {error}. The merge stays; move the issue with `autopilot-tui accept {id} --no-merge` once that is fixed")]
    AfterMerge {
        /// The issue.
        id: i64,
        /// What was merged.
        merged: String,
        /// Why the store refused.
        error: StoreError,
    },
    /// The lock that serialises accepts could not be taken.
    #[error("cannot lock {}: {error}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        error: String,
    },
}

impl AcceptError {
    /// The files that conflict, when that is why.
    pub fn conflicts(&self) -> Option<&[String]> {
        match self {
            AcceptError::Merge {
                error: MergeError::Conflict { files, .. },
                ..
            } => Some(files),
            _ => None,
        }
    }
}

/// Accepts issue `id` for `by`: lands its branch as the policy says (none with `no_merge`),
/// then marks it done. Blocking: run it off async threads.
pub fn accept(
    s: &AcceptSettings,
    id: i64,
    by: &str,
    no_merge: bool,
) -> Result<Accepted, AcceptError> {
    let _lock = lock(&s.worktrees.join(".accept.lock"))?;
    let mut store = Store::open_url(&s.db, Arc::clone(&s.redactor))?;
    let issue = store.issue(id)?;
    if issue.status != Status::InReview {
        let hint = match issue.status {
            Status::InProgress => {
                " (an agent is working on it: wait for it, or stop it first)".into()
            }
            Status::Done => " (it is done already: accepted elsewhere?)".into(),
            from => transition(from, Status::Done, Actor::Human)
                .err()
                .map(|e| format!("; {e}"))
                .unwrap_or_default(),
        };
        return Err(AcceptError::NotInReview {
            id,
            status: issue.status,
            hint,
        });
    }
    let policy = if no_merge {
        MergePolicy::None
    } else {
        s.policy
    };
    let branch = issue.branch.clone().filter(|_| policy != MergePolicy::None);
    let Some(branch) = branch else {
        let merged = match &issue.branch {
            Some(b) if !no_merge && s.merge_pr && issue.pr_url.is_some() => {
                pr_merged(&s.repo_root, issue.pr_url.as_deref().unwrap_or_default(), b)
            }
            Some(b) if policy == MergePolicy::None => format!("Accepted without merging: the branch {b} was left as it is ([merge] policy = none or --no-merge)."),
            _ => "Accepted: no run made a branch, so there was nothing to merge.".to_string(),
        };
        store.complete_review(id, by, SYSTEM_AUTHOR, &merged)?;
        return Ok(Accepted {
            issue_id: id,
            merged,
            notes: Vec::new(),
        });
    };
    let base = match issue.base.clone().or_else(|| s.base_branch.clone()) {
        Some(b) => b,
        None => git::current_branch(&s.repo_root).map_err(|e| AcceptError::Merge {
            id,
            error: e.into(),
        })?,
    };
    let summary = store
        .last_comment(id, AuthorKind::Agent)?
        .map(|c| c.body)
        .unwrap_or_default();
    let message = s
        .redactor
        .text(&commit_message(
            policy,
            id,
            &issue.title,
            &branch,
            &summary,
            by,
        ))
        .into_owned();
    let landing = Landing {
        repo: &s.repo_root,
        base: &base,
        branch: &branch,
        policy,
        message: &message,
        fallback_identity: (&s.commit_name, &s.commit_email),
        push_to: s.shared.then_some(remote::REMOTE),
    };
    let landed = match land_shared(s, &landing, id) {
        Ok(l) => l,
        Err(error) => {
            if let MergeError::Conflict { files, .. } = &error {
                store.add_comment(
                    id,
                    CONFLICT_AUTHOR,
                    AuthorKind::System,
                    &conflict_comment(id, &base, &branch, files),
                )?;
            }
            return Err(AcceptError::Merge { id, error });
        }
    };
    let merged = merged_text(policy, &base, &branch, &landed);
    if let Err(error) = store.complete_review(id, by, SYSTEM_AUTHOR, &merged) {
        return Err(AcceptError::AfterMerge { id, merged, error });
    }
    let notes = clean_up(s, &issue.worktree, &branch, &base, &landed);
    if !notes.is_empty() {
        let text = format!("After accepting: {}", notes.join("; "));
        // The issue is done whatever this says; a failure to write it only loses the note.
        let _ = store.add_comment(id, SYSTEM_AUTHOR, AuthorKind::System, &text);
    }
    Ok(Accepted {
        issue_id: id,
        merged,
        notes,
    })
}

/// Lands the branch; in shared mode from the remote's branch and base, the new base pushed
/// before it moves here, once more after fetching when another box moved the base meanwhile.
fn land_shared(s: &AcceptSettings, l: &Landing<'_>, id: i64) -> Result<Landed, MergeError> {
    if !s.shared {
        return merge::land(l);
    }
    let mut retried = false;
    loop {
        remote::sync_branch(l.repo, l.branch)?;
        remote::sync_branch(l.repo, l.base)?;
        match merge::land(l) {
            Err(MergeError::Push { rejected: true, .. }) if !retried => {
                tracing::info!(
                    issue_id = id,
                    "base moved on the remote; fetching and retrying"
                );
                retried = true;
            }
            other => return other,
        }
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(10)]
}

/// The merge or squash commit's message: the issue, and for a squash the agent's summary.
fn commit_message(
    policy: MergePolicy,
    id: i64,
    title: &str,
    branch: &str,
    summary: &str,
    by: &str,
) -> String {
    let title = one_line(title);
    match policy {
        MergePolicy::Squash if !summary.trim().is_empty() => format!(
            "#{id} {title}\n\n{}\n\nAutopilot-Issue: {id}",
            summary.trim()
        ),
        MergePolicy::Squash => format!("#{id} {title}\n\nAutopilot-Issue: {id}"),
        _ => format!(
            "Merge #{id} {title}\n\nBranch {branch}, accepted by {}.\n\nAutopilot-Issue: {id}",
            one_line(by)
        ),
    }
}

fn merged_text(policy: MergePolicy, base: &str, branch: &str, landed: &Landed) -> String {
    match landed {
        Landed::NothingToMerge { tip } => format!(
            "Accepted: nothing to merge, {base} (at {}) already contains every commit of {branch}.",
            short(tip)
        ),
        Landed::Moved { old, new, checkout } => {
            let how = match policy {
                MergePolicy::Merge => "with a merge commit",
                MergePolicy::Squash => "squashed into one commit",
                MergePolicy::Rebase => "rebased, then fast-forwarded",
                MergePolicy::FfOnly | MergePolicy::None => "fast-forwarded",
            };
            let place = match checkout {
                Some(wt) => format!(", and its checkout at {} was updated", wt.display()),
                None => String::new(),
            };
            format!(
                "Accepted: merged {branch} into {base} {how} ([merge] policy = {}); {base} moved from {} to {}{place}.",
                policy.as_str(),
                short(old),
                short(new)
            )
        }
    }
}

fn conflict_comment(id: i64, base: &str, branch: &str, files: &[String]) -> String {
    let list: Vec<String> = files.iter().map(|f| format!("- {f}")).collect();
    format!(
        "Accepting could not merge {branch} into {base}: they conflict in\n{}\n\n\
         Nothing was changed: {base}, the branch and its worktree are as they were, and the issue stays in review. \
         Request changes (R, or `autopilot-tui request-changes {id} TEXT`) to send it back to the agent: \
         its next run merges {base} and leaves these conflicts for it to resolve.",
        list.join("\n")
    )
}

/// The files a conflict comment (by [`CONFLICT_AUTHOR`]) lists: its `- file` lines.
pub fn conflict_files(comment: &str) -> Vec<String> {
    comment
        .lines()
        .skip_while(|l| !l.starts_with("- "))
        .map_while(|l| l.strip_prefix("- "))
        .map(str::to_string)
        .collect()
}

/// What `R` offers to send after an accept conflicted: the agent is asked to merge the base
/// and resolve the files that conflicted (its next run starts with that merge, conflicted).
pub fn conflict_change_request(base: &str, files: &[String]) -> String {
    // Short lines: the text opens in the editor, which does not wrap.
    let list: Vec<String> = files.iter().map(|f| format!("- {f}")).collect();
    let files = if list.is_empty() {
        " the files that conflict.".to_string()
    } else {
        format!(":\n{}", list.join("\n"))
    };
    format!(
        "Accepting this branch conflicted with {base}.\n\
         Merge {base} into the branch and resolve the conflicts in{files}\n\n\
         Keep what both sides meant and leave no conflict markers."
    )
}

/// Removes the worktree (unless it holds uncommitted work), deletes the branch, pushes the
/// base; each step said in a note, failures included.
fn clean_up(
    s: &AcceptSettings,
    worktree: &Option<String>,
    branch: &str,
    base: &str,
    landed: &Landed,
) -> Vec<String> {
    let repo = &s.repo_root;
    let mut notes = Vec::new();
    // In shared mode the recorded worktree may be another box's: only this box's is removed.
    let worktree = worktree.as_deref().map(|w| match s.shared {
        true => remote::local_worktree(&s.worktrees, Path::new(w)),
        false => PathBuf::from(w),
    });
    if let Some(wt) = worktree.as_deref() {
        let shown = wt.display();
        if !wt.exists() {
            let _ = git::prune_worktrees(repo);
            notes.push(format!("the worktree {shown} was already gone"));
        } else {
            match merge::changed_files(wt) {
                Ok(files) if !files.is_empty() => {
                    notes.push(format!(
                        "kept the worktree {shown}: it has uncommitted changes ({})",
                        files.join(", ")
                    ));
                }
                Ok(_) => match git::remove_worktree(repo, wt) {
                    Ok(()) => notes.push(format!("removed the worktree {shown}")),
                    Err(e) => {
                        notes.push(format!("could not remove the worktree {shown}: {e}"));
                    }
                },
                Err(e) => {
                    notes.push(format!("kept the worktree {shown}: {e}"));
                }
            }
        }
    }
    if s.delete_branch {
        notes.push(delete_branch(repo, branch));
    }
    // Shared mode pushed the base before it moved.
    if s.push && !s.shared && matches!(landed, Landed::Moved { .. }) {
        notes.push(match git::git(repo, &["push", "origin", base]) {
            Ok(_) => format!("pushed {base} to origin"),
            Err(e) => format!("could not push {base} (the merge stays): {e}"),
        });
    }
    notes
}

fn delete_branch(repo: &Path, branch: &str) -> String {
    let full = format!("refs/heads/{branch}");
    let tip = match git::git(repo, &["rev-parse", "--verify", "--quiet", &full]) {
        Ok(t) => t,
        Err(_) => return format!("the branch {branch} was already gone"),
    };
    match merge::checked_out_at(repo, branch) {
        Ok(Some(wt)) => {
            return format!(
                "kept the branch {branch}: it is checked out at {}",
                wt.display()
            )
        }
        Ok(None) => {}
        Err(e) => return format!("kept the branch {branch}: {e}"),
    }
    // With the old value: never deletes a branch that moved meanwhile.
    match git::git(repo, &["update-ref", "-d", &full, &tip]) {
        Ok(_) => format!("deleted the branch {branch} (it was at {})", short(&tip)),
        Err(e) => format!("could not delete the branch {branch}: {e}"),
    }
}

/// Holds an exclusive lock on `path` until dropped: one accept at a time per repository.
fn lock(path: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, AcceptError> {
    let fail = |error: String| AcceptError::Lock {
        path: path.to_path_buf(),
        error,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conflict_comment_lists_files_that_the_change_request_names_again() {
        let files = vec!["src/a.rs".to_string(), "b c.txt".to_string()];
        let comment = conflict_comment(3, "main", "ap/3-x", &files);
        assert_eq!(conflict_files(&comment), files);
        let text = conflict_change_request("main", &files);
        assert!(
            text.starts_with("Accepting this branch conflicted with main.\nMerge main into the branch and resolve the conflicts in:\n- src/a.rs\n- b c.txt\n\n"),
            "{text}"
        );
        assert_eq!(conflict_files("no list here"), Vec::<String>::new());
    }
}
