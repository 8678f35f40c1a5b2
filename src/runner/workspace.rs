//! An issue's workspace: its branch and worktree, named once and recorded before they are
//! created (so a branch this database did not record was never its own), the base merged in
//! before a rerun, and the agent's work committed onto the issue branch afterwards.

use std::path::PathBuf;

use super::run::{failed, system};
use super::{git, Db, Runner};
use crate::domain::{slugify, Actor, AuthorKind, Issue, RunOutcome, Status};
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
}

impl Workspace {
    /// The worktree as text, for comments.
    pub fn path_text(&self) -> String {
        self.worktree.to_string_lossy().into_owned()
    }
}

/// Runs blocking git work off the async threads; both a git failure and a failed task come
/// back as text for a comment.
pub(super) async fn git_task<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, git::GitError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(format!("git task failed: {e}")),
    }
}

/// Names, records and prepares the workspace of a claimed issue. `Err` is how the run ends
/// when it cannot start.
pub(super) async fn prepare(r: &Runner, db: &Db, issue: &Issue) -> Result<Workspace, RunEnd> {
    let s = &r.settings;
    let id = issue.id;
    let base = match issue.base.clone().or_else(|| s.base_branch.clone()) {
        Some(b) => b,
        None => {
            let repo = s.repo_root.clone();
            git_task(move || git::current_branch(&repo))
                .await
                .map_err(|e| failed(e, None))?
        }
    };
    let repo = s.repo_root.clone();
    let bs = base.clone();
    if !git_task(move || Ok(git::is_branch(&repo, &bs)))
        .await
        .unwrap_or(true)
    {
        let origin = if issue.base.is_some() {
            "its recorded base"
        } else {
            "the configured base ([runner] base_branch, AUTOPILOT_BASE_BRANCH or the current branch)"
        };
        return Err(failed(
            format!(
                "the base branch {base:?} ({origin}) does not exist, renamed or deleted? \
                 Set the base of this issue with `autopilot-tui edit {id} --base BRANCH`"
            ),
            None,
        ));
    }
    let (branch, worktree) = match (&issue.branch, &issue.worktree) {
        (Some(b), Some(w)) => (b.clone(), PathBuf::from(w)),
        _ => {
            let (repo, dir, slug) = (
                s.repo_root.clone(),
                s.worktrees.clone(),
                slugify(&issue.title),
            );
            let (branch, worktree) =
                git_task(move || git::unused_workspace(&repo, &dir, id, &slug))
                    .await
                    .map_err(|e| failed(format!("could not name the worktree: {e}"), None))?;
            // Recorded before it exists: from now on this branch is this issue's.
            let (br, wt, bs) = (
                branch.clone(),
                worktree.to_string_lossy().into_owned(),
                base.clone(),
            );
            db.call(move |st| st.set_workspace(id, &br, &wt, &bs))
                .await
                .map_err(|e| failed(format!("cannot record the workspace: {e}"), None))?;
            (branch, worktree)
        }
    };
    if issue.branch.is_some() && issue.base.as_deref() != Some(&base) {
        let (br, wt, bs) = (
            branch.clone(),
            worktree.to_string_lossy().into_owned(),
            base.clone(),
        );
        db.call(move |st| st.set_workspace(id, &br, &wt, &bs))
            .await
            .map_err(|e| failed(format!("cannot record the workspace: {e}"), None))?;
    }
    // ensure_worktree serialises itself (a lock file), across processes as within one.
    let (repo, wt, br, bs) = (
        s.repo_root.clone(),
        worktree.clone(),
        branch.clone(),
        base.clone(),
    );
    git_task(move || git::ensure_worktree(&repo, &wt, &br, &bs))
        .await
        .map_err(|e| failed(format!("could not prepare the worktree: {e}"), None))?;
    let ws = Workspace {
        branch,
        worktree,
        base,
        head_before: None,
        refs_before: Vec::new(),
    };
    // A rerun brings the base's new commits in first, so the agent works on current code; a
    // conflict is a human's call, not the agent's.
    if issue.branch.is_some() {
        let (wt, bs, name, email) = (
            ws.worktree.clone(),
            ws.base.clone(),
            s.commit_name.clone(),
            s.commit_email.clone(),
        );
        match git_task(move || git::merge_base(&wt, &bs, &name, &email)).await {
            Ok(git::BaseMerge::Conflict(files)) => {
                let (base, branch, wt_text) = (&ws.base, &ws.branch, ws.path_text());
                return Err(RunEnd {
                    outcome: Some(RunOutcome::Failed),
                    error: Some(format!("merging {base} into {branch} conflicts")),
                    move_to: Some((Status::Blocked, Actor::System)),
                    comments: vec![system(format!(
                        "Before rerunning, merging the new commits of {base} into {branch} conflicts in:\n{}\n\n\
                         The merge was aborted: the branch and the worktree ({wt_text}) are exactly as they were. \
                         Resolve it there (git merge {base}) or move the issue back, then comment to hand it back to ready.",
                        files.iter().map(|f| format!("- {f}")).collect::<Vec<_>>().join("\n")
                    ))],
                    ..RunEnd::default()
                });
            }
            Ok(outcome) => tracing::debug!(issue_id = id, ?outcome, "base merged before rerun"),
            Err(e) => {
                return Err(failed(
                    format!("could not merge {} before rerunning: {e}", ws.base),
                    None,
                ))
            }
        }
    }
    let wt = ws.worktree.clone();
    let (head_before, refs_before) =
        git_task(move || Ok((git::head(&wt).ok(), git::ref_names(&wt)?)))
            .await
            .map_err(|e| failed(format!("could not read the repository's refs: {e}"), None))?;
    Ok(Workspace {
        head_before,
        refs_before,
        ..ws
    })
}

/// Commits what the agent left onto the issue branch and moves the issue to review; the
/// system comment says exactly which commits the branch holds. Work the agent left on another
/// branch, or on a commit that does not contain the issue branch, is not committed: the
/// issue is blocked with a comment saying where it is.
pub(super) async fn commit_and_review(
    r: &Runner,
    issue: &Issue,
    agent_id: &str,
    ws: &Workspace,
    summary: String,
) -> RunEnd {
    let s = &r.settings;
    let (wt, br, refs) = (
        ws.worktree.clone(),
        ws.branch.clone(),
        ws.refs_before.clone(),
    );
    let moved = match git_task(move || git::bring_head_back(&wt, &br, &refs)).await {
        Ok(git::HeadCheck::Elsewhere(place)) => {
            let (branch, wt_text) = (&ws.branch, ws.path_text());
            return RunEnd {
                outcome: Some(RunOutcome::Failed),
                error: Some(format!("the agent left the worktree on {place}, not on {branch}")),
                move_to: Some((Status::Blocked, Actor::System)),
                comments: vec![system(format!(
                    "The agent left the worktree on {place}, which is not its own work on top of the issue branch {branch}. \
                     Nothing was committed and {branch} is unchanged; the agent's work is still in the worktree at {wt_text}. \
                     Bring it onto {branch} there (for example `git -C {wt_text} switch {branch}` after committing or stashing it), \
                     then comment to hand the issue back to ready."
                ))],
                ..RunEnd::default()
            };
        }
        Ok(git::HeadCheck::BroughtBack(place)) => Some(place),
        Ok(git::HeadCheck::OnBranch) => None,
        Err(e) => return failed(format!("could not check the worktree's branch: {e}"), None),
    };
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
    let committed = git_task(move || {
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
    .await;
    let (sha, own, ours) = match committed {
        Ok(c) => c,
        Err(e) => {
            return failed(
                format!(
                    "could not commit the agent's changes (they are still in the worktree): {e}"
                ),
                None,
            )
        }
    };
    let short = &sha[..sha.len().min(10)];
    let text = if summary.trim().is_empty() {
        "(the agent gave no summary)".to_string()
    } else {
        summary.trim().to_string()
    };
    let (branch, base) = (&ws.branch, &ws.base);
    let mut comments = vec![(agent_id.to_string(), AuthorKind::Agent, text)];
    let mut note = match (own, ours) {
        (0, _) => format!("Committed {short} on branch {branch} (base {base})."),
        (n, true) => format!(
            "The agent made {n} commit(s) of its own on branch {branch}; autopilot committed the rest as {short} (base {base})."
        ),
        (n, false) => format!(
            "The agent made {n} commit(s) of its own on branch {branch}, up to {short} (base {base})."
        ),
    };
    if let Some(place) = moved {
        note.push_str(&format!(
            "\n\nThe agent had left the worktree on {place}; its work was brought back onto {branch}."
        ));
    }
    if s.push {
        let (wt, br, bs, title, body) = (
            ws.worktree.clone(),
            branch.to_string(),
            base.to_string(),
            s.redactor
                .text(&format!("#{} {}", issue.id, issue.title))
                .into_owned(),
            s.redactor.text(&comments[0].2).into_owned(),
        );
        match git_task(move || git::push_and_open_pr(&wt, &br, &bs, &title, &body)).await {
            Ok(url) => note.push_str(&format!("\n\nPull request: {url}")),
            Err(e) => note.push_str(&format!("\n\nPush / pull request failed: {e}")),
        }
    }
    comments.push(system(note));
    RunEnd {
        outcome: Some(RunOutcome::Implemented),
        move_to: Some((Status::InReview, Actor::Agent)),
        comments,
        ..RunEnd::default()
    }
}
