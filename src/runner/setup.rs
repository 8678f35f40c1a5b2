//! A new worktree made ready to work in: `[worktree] copy` brings untracked files (`.env`,
//! local settings) over from the repository root, and `[worktree] setup` runs once in it
//! before the first agent run, as a run of its own (role `setup`) whose output is stored and
//! shown like a check's. A failing setup blocks the issue with its output.
//!
//! Decisions: a missing file is a comment on the issue, not a failure (the agent may not need
//! it); a directory is copied whole; a symlink is followed only when it leads to a place inside
//! the repository (never out of it), and symlinks inside a copied directory are left out; a
//! path the new worktree already has (a tracked file) is left as checked out. Copied paths are
//! added to the exclude file git reads for the worktree (`git rev-parse --git-path
//! info/exclude`, which worktrees share with the main checkout), so neither `git status` nor
//! the runner's commit sees them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::git::{self, GitError};
use super::review::checks::run_command;
use super::run::{close_run, start, RunContext, StopReason};
use super::verdict::{shut_down, system};
use super::{workspace, Db, Runner};
use crate::domain::{Actor, Issue, RunOutcome, RunRole, Status};
use crate::store::RunEnd;

/// Most bytes of the setup's output quoted in the comment of a failure.
const COMMENT_CAP: usize = 8 << 10;

/// `[worktree]` as the runner uses it.
#[derive(Debug, Clone, Default)]
pub struct WorktreeSetup {
    /// Paths relative to the repository root (checked when the configuration is read).
    pub copy: Vec<PathBuf>,
    /// The shell command run in a new worktree.
    pub setup: Option<String>,
    /// Longest it may run (`None`: no limit).
    pub timeout: Option<Duration>,
}

/// Copies `paths` from `repo` into the new worktree `wt` and excludes them from git there.
/// Returns a comment for each path not copied; only failing to read git's exclude path is an
/// error. `worktrees` (where worktrees live) is never copied, nor anything in `.git`.
pub fn copy_into(
    repo: &Path,
    worktrees: &Path,
    wt: &Path,
    paths: &[PathBuf],
) -> Result<Vec<String>, GitError> {
    let root = std::fs::canonicalize(repo).unwrap_or_else(|_| repo.to_path_buf());
    let worktrees = std::fs::canonicalize(worktrees).unwrap_or_else(|_| worktrees.to_path_buf());
    let (mut notes, mut copied) = (Vec::new(), Vec::new());
    for p in paths {
        let shown = crate::domain::sanitize::one_line(&p.to_string_lossy());
        let note = |why: String| format!("[worktree] copy: `{shown}` was not copied: {why}.");
        let dst = wt.join(p);
        if dst.symlink_metadata().is_ok() {
            notes.push(note(
                "the new worktree has it already (it is tracked by git)".into(),
            ));
            continue;
        }
        let src = match std::fs::canonicalize(repo.join(p)) {
            Ok(src) => src,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                notes.push(note("it does not exist in the repository root".into()));
                continue;
            }
            Err(e) => {
                notes.push(note(format!("cannot read it: {e}")));
                continue;
            }
        };
        if !src.starts_with(&root) {
            notes.push(note("it leads outside the repository (a symlink)".into()));
            continue;
        }
        if src.starts_with(root.join(".git"))
            || src.starts_with(&worktrees)
            || worktrees.starts_with(&src)
        {
            notes.push(note("it is git's or autopilot's own directory".into()));
            continue;
        }
        match copy_path(&src, &dst) {
            Ok(skipped) => {
                copied.push(p.clone());
                if skipped > 0 {
                    notes.push(format!(
                        "[worktree] copy: `{shown}` was copied without the {skipped} symlink(s) inside it."
                    ));
                }
            }
            Err(e) => notes.push(note(format!("copying failed: {e}"))),
        }
    }
    if !copied.is_empty() {
        exclude(wt, &copied)?;
    }
    Ok(notes)
}

/// Copies a file, or a directory with everything in it but symlinks; returns how many
/// symlinks were left out.
fn copy_path(src: &Path, dst: &Path) -> std::io::Result<usize> {
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if !src.is_dir() {
        std::fs::copy(src, dst)?;
        return Ok(0);
    }
    std::fs::create_dir_all(dst)?;
    let mut skipped = 0;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let to = dst.join(entry.file_name());
        if kind.is_symlink() {
            skipped += 1;
        } else if kind.is_dir() {
            skipped += copy_path(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(skipped)
}

/// Adds `paths` (anchored, glob characters escaped) to the exclude file git reads in `wt`.
fn exclude(wt: &Path, paths: &[PathBuf]) -> Result<(), GitError> {
    let file = PathBuf::from(git::git(wt, &["rev-parse", "--git-path", "info/exclude"])?.trim());
    let file = if file.is_absolute() {
        file
    } else {
        wt.join(file)
    };
    let failed = |e: std::io::Error| GitError {
        command: format!("writing {}", file.display()),
        stderr: e.to_string(),
    };
    let old = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(failed(e)),
    };
    let mut text = old.clone();
    for p in paths {
        let mut line = String::from("/");
        for c in p.to_string_lossy().trim_start_matches("./").chars() {
            if matches!(c, '\\' | '*' | '?' | '[' | ' ') {
                line.push('\\');
            }
            line.push(c);
        }
        if !text.lines().any(|l| l == line) {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&line);
            text.push('\n');
        }
    }
    if text != old {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        std::fs::write(&file, text).map_err(failed)?;
    }
    Ok(())
}

/// Whether `issue` needs its setup before the agent runs: one is configured, and its worktree
/// is new (none yet, or gone) or its last setup did not pass.
async fn needed(r: &Runner, db: &Db, issue: &Issue) -> bool {
    if r.settings.worktree.setup.is_none() {
        return false;
    }
    if !issue
        .worktree
        .as_ref()
        .is_some_and(|w| Path::new(w).exists())
    {
        return true;
    }
    let id = issue.id;
    db.call(move |s| s.runs(id))
        .await
        .ok()
        .and_then(|runs| {
            runs.into_iter()
                .filter(|run| run.role == RunRole::Setup)
                .max_by_key(|run| run.id)
        })
        .is_some_and(|run| run.outcome != Some(RunOutcome::Passed))
}

/// Runs `[worktree] setup` for a claimed issue whose worktree is new, as a run of role
/// `setup`: prepares the workspace (copying the configured files), runs the command, and
/// records how it ended. Returns the issue as it is now when the agent may run; `None` when
/// the setup ended the claim (it failed, was stopped, or the store refused).
#[allow(clippy::too_many_arguments)]
pub(super) async fn before_first_run(
    r: &Runner,
    db: &Db,
    slot: usize,
    agent_id: &str,
    issue: Issue,
    stop: &CancellationToken,
    reason: &StopReason,
    shutdown: &CancellationToken,
) -> Option<Issue> {
    let Some(command) = r.settings.worktree.setup.clone() else {
        return Some(issue);
    };
    if !needed(r, db, &issue).await {
        return Some(issue);
    }
    let title = crate::domain::sanitize::strip_all(&format!("setup: {command}"));
    let run_id = start(r, db, slot, agent_id, issue.id, RunRole::Setup, title).await?;
    let ctx = RunContext {
        runner: r,
        db,
        slot,
        agent_id,
        run_id,
        issue: &issue,
        stop: stop.clone(),
        reason: reason.clone(),
        shutdown,
        fix: None,
    };
    let ws = match workspace::prepare(&ctx).await {
        Ok(ws) => ws,
        Err(e) => {
            close_run(&ctx, super::verdict::from_error(e)).await;
            return None;
        }
    };
    let limit = r
        .settings
        .worktree
        .timeout
        .map(|d| (d, "[worktree] setup_timeout_seconds"));
    let ran = run_command(&ctx, &ws.worktree, &command, limit).await;
    let wt_text = ws.path_text();
    let mut end = RunEnd {
        exit_code: ran.exit_code.map(i64::from),
        ..RunEnd::default()
    };
    let passed = ran.stopped.is_none() && ran.failed.is_none();
    if let Some(why) = ran.stopped {
        if shutdown.is_cancelled() {
            end = RunEnd {
                exit_code: end.exit_code,
                ..shut_down(&wt_text)
            };
        } else {
            end.outcome = Some(RunOutcome::Stopped);
            end.move_to = Some((Status::Blocked, Actor::System));
            end.comments.push(system(format!(
                "The worktree's setup `{command}` was {why}; its process group was terminated. \
                 The worktree is at {wt_text}. Comment to hand the issue back to ready (the setup runs again)."
            )));
        }
        end.error = Some(why);
    } else if let Some(why) = ran.failed {
        end.outcome = Some(RunOutcome::Failed);
        end.error = Some(format!("`{command}` {why}"));
        end.move_to = Some((Status::Blocked, Actor::System));
        end.comments.push(system(failed_comment(
            &command, &why, &ran.tail, run_id, &wt_text,
        )));
    } else {
        end.outcome = Some(RunOutcome::Passed);
        end.error = None;
    }
    end.comments
        .extend(ws.notes.iter().map(|n| system(n.clone())));
    close_run(&ctx, end).await;
    if !passed {
        return None;
    }
    let id = issue.id;
    match db.call(move |s| s.issue(id)).await {
        Ok(fresh) => Some(fresh),
        Err(e) => {
            r.emit(super::events::RunnerEvent::Problem(format!(
                "cannot read #{id} after its worktree's setup: {e}"
            )));
            None
        }
    }
}

/// The comment of a failed setup: the command, why, and the end of its output (already
/// redacted by the ingest), capped.
fn failed_comment(command: &str, why: &str, tail: &str, run_id: i64, wt: &str) -> String {
    let tail = tail.trim_end();
    let start = tail.len().saturating_sub(COMMENT_CAP).min(tail.len());
    let mut cut = start;
    while !tail.is_char_boundary(cut) {
        cut += 1;
    }
    let output = if tail.is_empty() {
        "It printed nothing.".to_string()
    } else {
        format!(
            "The end of its output (the whole of it is run {run_id}):\n\n```\n{}\n```",
            &tail[cut..]
        )
    };
    format!(
        "The worktree's setup `{command}` {why}, so the agent did not start.\n\n{output}\n\n\
         The worktree is at {wt}. Fix the setup (or `[worktree] setup`), then comment to hand the \
         issue back to ready: the setup runs again first."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_setup_comment_keeps_the_end_of_long_output() {
        let tail = format!("{}\nLAST LINE", "é".repeat(COMMENT_CAP));
        let c = failed_comment("make deps", "exited with status 2", &tail, 7, "/wt");
        assert!(c.contains("`make deps` exited with status 2"), "{c}");
        assert!(c.contains("LAST LINE") && c.contains("run 7"), "{c}");
        assert!(c.len() < COMMENT_CAP + 1000, "{}", c.len());
        let quiet = failed_comment("true", "timed out", "", 7, "/wt");
        assert!(quiet.contains("printed nothing"), "{quiet}");
    }
}
