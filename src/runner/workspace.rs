//! An issue's workspace: its branch and worktree, named once and recorded before they are
//! created (so a branch this database did not record was never its own), the base merged in
//! before a rerun, and the agent's work committed onto the issue branch afterwards.

use std::path::PathBuf;

use super::error::{self, RunnerError, Step};
use super::git;
use super::review;
use super::review::accept::CONFLICT_AUTHOR;
use super::run::RunContext;
use super::verdict::{self, Commit};
use crate::domain::{slugify, AuthorKind};
use crate::store::RunEnd;

/// Where one run works.
pub(super) struct Workspace {
    /// The issue branch.
    pub branch: String,
    /// Its worktree.
    pub worktree: PathBuf,
    /// The branch it was made from and is kept up to date with.
    pub base: String,
    /// `HEAD` when the agent started, to tell its own commits apart.
    pub head_before: Option<String>,
    /// The repository's refs when the agent started, to tell its branches from others'.
    pub refs_before: Vec<String>,
    /// Files of a base merge left conflicted for the agent to resolve (after an accept
    /// conflicted); empty when the base merged cleanly.
    pub conflicts: Vec<String>,
    /// What `[worktree] copy` could not copy into a new worktree, one comment each.
    pub notes: Vec<String>,
}

impl Workspace {
    /// The worktree as text, for comments.
    pub fn path_text(&self) -> String {
        self.worktree.to_string_lossy().into_owned()
    }
}

/// Names, records and prepares the workspace of a claimed issue.
pub(super) async fn prepare(ctx: &RunContext<'_>) -> Result<Workspace, RunnerError> {
    let (s, db, issue) = (ctx.settings(), ctx.db, ctx.issue);
    let id = issue.id;
    let base = match issue.base.clone().or_else(|| s.base_branch.clone()) {
        Some(b) => b,
        None => {
            let repo = s.repo_root.clone();
            error::git(move || git::current_branch(&repo)).await?
        }
    };
    let repo = s.repo_root.clone();
    let bs = base.clone();
    if !error::git(move || Ok(git::is_branch(&repo, &bs)))
        .await
        .unwrap_or(true)
    {
        let origin = if issue.base.is_some() {
            "its recorded base"
        } else {
            "the configured base ([runner] base_branch, AUTOPILOT_BASE_BRANCH or the current branch)"
        };
        return Err(RunnerError::BaseMissing {
            base,
            origin,
            issue_id: id,
        });
    }
    let (branch, worktree) = match (&issue.branch, &issue.worktree) {
        // In shared mode the recorded worktree may be another box's: this box uses its own.
        (Some(b), Some(w)) if s.shared => (
            b.clone(),
            super::remote::local_worktree(&s.worktrees, std::path::Path::new(w)),
        ),
        (Some(b), Some(w)) => (b.clone(), PathBuf::from(w)),
        _ => {
            let (repo, dir, slug) = (
                s.repo_root.clone(),
                s.worktrees.clone(),
                slugify(&issue.title),
            );
            let (branch, worktree) =
                error::git(move || git::unused_workspace(&repo, &dir, id, &slug))
                    .await
                    .step("could not name the worktree")?;
            (branch, worktree)
        }
    };
    // A new workspace is recorded before it exists: from then on its branch is this issue's.
    let moved_here = issue.worktree.as_deref() != Some(&*worktree.to_string_lossy());
    if issue.branch.is_none() || issue.base.as_deref() != Some(&base) || moved_here {
        let (br, wt, bs) = (
            branch.clone(),
            worktree.to_string_lossy().into_owned(),
            base.clone(),
        );
        db.call(move |st| st.set_workspace(id, &br, &wt, &bs))
            .await
            .step("cannot record the workspace")?;
    }
    // ensure_worktree serialises itself (a lock file), across processes as within one.
    let (repo, wt, br, bs) = (
        s.repo_root.clone(),
        worktree.clone(),
        branch.clone(),
        base.clone(),
    );
    // A rerun continues from the branch as the remote has it: another box may have run it.
    let mut lost = None;
    if s.shared && issue.branch.is_some() {
        let (repo, br) = (s.repo_root.clone(), branch.clone());
        // On no box's disk that can be reached: the box that ran it died before pushing. The
        // branch starts again from the base here (a comment says so); nothing local is lost.
        let synced = error::git(move || match super::remote::sync_branch(&repo, &br) {
            Err(e) if super::remote::missing_on_remote(&e) => Ok(None),
            other => other.map(Some),
        })
        .await
        .step(format!(
            "could not bring the branch {branch} up to {}'s before rerunning",
            super::remote::REMOTE
        ))?;
        tracing::debug!(issue_id = id, ?synced, "branch fetched before rerun");
        if synced.is_none() {
            lost = Some(format!(
                "The branch {branch} is neither on this box nor on the remote {} (the box that ran it stopped before pushing it, or its push failed): this run starts it again from {base}.",
                super::remote::REMOTE
            ));
        }
    }
    let fresh = !worktree.exists();
    error::git(move || git::ensure_worktree(&repo, &wt, &br, &bs))
        .await
        .step("could not prepare the worktree")?;
    let mut notes = Vec::new();
    if fresh && !s.worktree.copy.is_empty() {
        let (repo, wt, dir, paths) = (
            s.repo_root.clone(),
            worktree.clone(),
            s.worktrees.clone(),
            s.worktree.copy.clone(),
        );
        notes = error::git(move || super::setup::copy_into(&repo, &dir, &wt, &paths))
            .await
            .step("could not copy [worktree] copy files into the new worktree")?;
    }
    notes.extend(lost);
    let ws = Workspace {
        branch,
        worktree,
        base,
        head_before: None,
        refs_before: Vec::new(),
        conflicts: Vec::new(),
        notes,
    };
    let mut conflicts = Vec::new();
    // A rerun brings the base's new commits in first, so the agent works on current code; a
    // conflict is a human's call, not the agent's — unless accepting the issue conflicted and
    // its changes were requested since: then resolving is the agent's job.
    if issue.branch.is_some() {
        let for_agent = db
            .call(move |st| st.last_comment(id, AuthorKind::System))
            .await
            .step("cannot read the thread")?
            .is_some_and(|c| c.author == CONFLICT_AUTHOR);
        let (wt, bs, name, email) = (
            ws.worktree.clone(),
            ws.base.clone(),
            s.commit_name.clone(),
            s.commit_email.clone(),
        );
        let merged = error::git(move || {
            if for_agent {
                git::merge_base_leaving_conflicts(&wt, &bs, &name, &email)
            } else {
                git::merge_base(&wt, &bs, &name, &email)
            }
        })
        .await
        .step(format!("could not merge {} before rerunning", ws.base))?;
        if let git::BaseMerge::LeftConflicted(files) = &merged {
            conflicts.clone_from(files);
        }
        if let git::BaseMerge::Conflict(files) = merged {
            return Err(RunnerError::BaseConflict {
                base: ws.base.clone(),
                branch: ws.branch.clone(),
                worktree: ws.path_text(),
                files,
            });
        }
        tracing::debug!(issue_id = id, outcome = ?merged, "base merged before rerun");
    }
    let wt = ws.worktree.clone();
    let (head_before, refs_before) =
        error::git(move || Ok((git::head(&wt).ok(), git::ref_names(&wt)?)))
            .await
            .step("could not read the repository's refs")?;
    Ok(Workspace {
        head_before,
        refs_before,
        conflicts,
        ..ws
    })
}

/// Commits what the agent left onto the issue branch and moves the issue to review; the
/// system comment says exactly which commits the branch holds. Work the agent left on another
/// branch, or on a commit that does not contain the issue branch, is not committed: the
/// issue is blocked with a comment saying where it is.
pub(super) async fn commit_and_review(
    ctx: &RunContext<'_>,
    ws: &Workspace,
    summary: String,
) -> Result<RunEnd, RunnerError> {
    let (s, issue) = (ctx.settings(), ctx.issue);
    let (wt, br, refs) = (
        ws.worktree.clone(),
        ws.branch.clone(),
        ws.refs_before.clone(),
    );
    let moved = match error::git(move || git::bring_head_back(&wt, &br, &refs))
        .await
        .step("could not check the worktree's branch")?
    {
        git::HeadCheck::Elsewhere(place) => {
            return Err(RunnerError::LeftElsewhere {
                place,
                branch: ws.branch.clone(),
                worktree: ws.path_text(),
            })
        }
        git::HeadCheck::BroughtBack(place) => Some(place),
        git::HeadCheck::OnBranch => None,
    };
    if !ws.conflicts.is_empty() {
        let (wt, files) = (ws.worktree.clone(), ws.conflicts.clone());
        let left = error::blocking("files", move || with_markers(&wt, &files))
            .await
            .step("could not read the conflicted files")?;
        if !left.is_empty() {
            return Err(RunnerError::ConflictMarkersLeft {
                base: ws.base.clone(),
                worktree: ws.path_text(),
                files: left,
            });
        }
    }
    // The summary comes from redacted output already; the title may predate redaction.
    // Escape sequences are stripped by `git` on the way out.
    let message = s
        .redactor
        .text(&format!(
            "#{} {}\n\n{}\n\nAutopilot-Issue: {}",
            issue.id,
            issue.title,
            summary.trim(),
            issue.id
        ))
        .into_owned();
    let (wt, br, name, email) = (
        ws.worktree.clone(),
        ws.branch.clone(),
        s.commit_name.clone(),
        s.commit_email.clone(),
    );
    let before = ws.head_before.clone();
    let (sha, own, ours) = error::git(move || {
        // Commits the agent made itself are kept and counted apart from autopilot's own.
        let own = match &before {
            Some(b) => git::commits_between(&wt, b, "HEAD")?,
            None => 0,
        };
        let ours = git::has_changes(&wt)?;
        let sha = if ours {
            git::commit_all(&wt, &message, &name, &email)?
        } else {
            git::head(&wt)?
        };
        if !git::branch_contains(&wt, &br, &sha) {
            return Err(git::GitError {
                command: format!("git merge-base --is-ancestor {sha} {br}"),
                stderr: format!("the branch {br} does not contain {sha}"),
            });
        }
        Ok((sha, own, ours))
    })
    .await
    .step("could not commit the agent's changes (they are still in the worktree)")?;
    let text = verdict::summary_text(&summary);
    let pushed = if s.shared && !s.push {
        // Shared mode: the branch goes to the remote for the other boxes, without a PR.
        let (wt, br) = (ws.worktree.clone(), ws.branch.clone());
        Some(
            error::git(move || super::remote::push_branch(&wt, &br))
                .await
                .map(|()| String::new()),
        )
    } else if s.push {
        let (wt, br, bs, title, body) = (
            ws.worktree.clone(),
            ws.branch.clone(),
            ws.base.clone(),
            s.redactor
                .text(&format!("#{} {}", issue.id, issue.title))
                .into_owned(),
            s.redactor.text(&text).into_owned(),
        );
        Some(error::git(move || git::push_and_open_pr(&wt, &br, &bs, &title, &body)).await)
    } else {
        None
    };
    // Only an address is kept: `gh pr create` prints it last.
    let pr_url = match &pushed {
        Some(Ok(url)) if url.starts_with("https://") => Some(url.clone()),
        _ => None,
    };
    let commit = Commit {
        sha: &sha,
        branch: &ws.branch,
        base: &ws.base,
        own,
        ours,
        moved,
        pushed,
    };
    // Taken once here, where the commit is known, so the board never runs git per card. A
    // stat that cannot be read leaves the card without one; it does not fail the run.
    let (wt, br, bs) = (ws.worktree.clone(), ws.branch.clone(), ws.base.clone());
    let diff = error::git(move || review::diff::stat_between(&wt, &bs, &br))
        .await
        .map(|files| review::diff::totals(&files))
        .inspect_err(|e| tracing::warn!(issue_id = issue.id, "no diff stat: {e}"))
        .ok();
    Ok(RunEnd {
        diff,
        pr_url,
        ..verdict::implemented(ctx.agent_id, text, &commit)
    })
}

/// Those of `files` (relative to `dir`) that still hold a conflict marker line.
fn with_markers(dir: &std::path::Path, files: &[String]) -> Vec<String> {
    files
        .iter()
        .filter(|f| {
            std::fs::read(dir.join(f)).is_ok_and(|data| {
                data.split(|b| *b == b'\n').any(|l| {
                    l.starts_with(b"<<<<<<< ") || l.starts_with(b">>>>>>> ") || l == b"======="
                })
            })
        })
        .cloned()
        .collect()
}
