//! An issue's change: `git diff base...branch` (from the merge base to the branch tip, nothing
//! uncommitted), parsed into files, hunks and typed lines. Every text in it (paths, hunk
//! headers, content) is made printable while parsing, so whatever draws or prints a [`Diff`]
//! can trust it. The CLI (`diff`, `diff --stat`) and the TUI's diff view share it; the runner
//! takes the totals when it moves an issue to review.

mod parse;
#[cfg(test)]
mod tests;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::domain::sanitize::one_line;
use crate::domain::DiffStat;
use crate::runner::git::{self, GitError};

pub use parse::{parse, parse_numstat};

/// Most bytes of `git diff` output read for one diff; the rest is dropped with a marker. A
/// diff this size is far past reading in a terminal, and the view keeps all of it in memory.
pub const MAX_DIFF_BYTES: usize = 32 << 20;

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// New on the branch.
    Added,
    /// Changed in place.
    Modified,
    /// Gone on the branch.
    Deleted,
    /// Moved (and perhaps changed); `old_path` says from where.
    Renamed,
    /// Copied from `old_path`.
    Copied,
}

impl FileStatus {
    /// The word shown next to the file.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Added => "added",
            FileStatus::Modified => "modified",
            FileStatus::Deleted => "deleted",
            FileStatus::Renamed => "renamed",
            FileStatus::Copied => "copied",
        }
    }
}

/// What a line of a hunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Unchanged, shown for context.
    Context,
    /// Added on the branch.
    Added,
    /// Removed on the branch.
    Removed,
    /// `\ No newline at end of file`.
    NoNewline,
}

impl LineKind {
    /// The column git puts in front of such a line.
    pub fn prefix(self) -> char {
        match self {
            LineKind::Context => ' ',
            LineKind::Added => '+',
            LineKind::Removed => '-',
            LineKind::NoNewline => '\\',
        }
    }
}

/// One line of a hunk, without its prefix column; printable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    /// Its kind.
    pub kind: LineKind,
    /// Its text.
    pub text: String,
}

/// One hunk: its `@@ … @@` header and lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The header line, as git wrote it (printable).
    pub header: String,
    /// The lines.
    pub lines: Vec<DiffLine>,
}

/// One file of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The path on the branch (for a deleted file, where it was).
    pub path: String,
    /// Where a renamed or copied file came from.
    pub old_path: Option<String>,
    /// What happened to it.
    pub status: FileStatus,
    /// Binary content: named, never dumped.
    pub binary: bool,
    /// The mode before, when it changed (or the file was deleted).
    pub old_mode: Option<String>,
    /// The mode after, when it changed (or the file is new).
    pub new_mode: Option<String>,
    /// Lines added.
    pub added: u64,
    /// Lines removed.
    pub removed: u64,
    /// The hunks.
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    /// `(before, after)` when an existing file's mode changed.
    pub fn mode_change(&self) -> Option<(&str, &str)> {
        match (&self.old_mode, &self.new_mode) {
            (Some(a), Some(b)) if a != b => Some((a, b)),
            _ => None,
        }
    }

    /// The path as a stat line names it: `old → new` for a rename or copy.
    pub fn display_path(&self) -> String {
        match &self.old_path {
            Some(old) => format!("{old} → {}", self.path),
            None => self.path.clone(),
        }
    }

    /// What happened besides the lines, in words: `renamed from a`, `binary`, `mode 100644 →
    /// 100755`; empty for a plain text change.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        match (self.status, &self.old_path) {
            (FileStatus::Renamed | FileStatus::Copied, Some(old)) => {
                notes.push(format!("{} from {old}", self.status.as_str()))
            }
            (FileStatus::Added | FileStatus::Deleted, _) => {
                notes.push(self.status.as_str().to_string())
            }
            _ => {}
        }
        if let Some((a, b)) = self.mode_change() {
            notes.push(format!("mode {a} → {b}"));
        }
        if self.binary {
            notes.push("binary".to_string());
        }
        notes
    }
}

/// A parsed diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// The files, in git's order.
    pub files: Vec<FileDiff>,
    /// The output passed [`MAX_DIFF_BYTES`] and the rest was dropped.
    pub truncated: bool,
}

impl Diff {
    /// Files, lines added and removed.
    pub fn stat(&self) -> DiffStat {
        DiffStat {
            files: self.files.len() as i64,
            added: self.files.iter().map(|f| f.added as i64).sum(),
            removed: self.files.iter().map(|f| f.removed as i64).sum(),
        }
    }

    /// Lines in all hunks (headers not counted).
    pub fn line_count(&self) -> usize {
        self.files
            .iter()
            .flat_map(|f| &f.hunks)
            .map(|h| h.lines.len())
            .sum()
    }
}

/// One file of `--stat`, from `git diff --numstat` (counts of the whole diff, never cut).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStat {
    /// The path on the branch (printable).
    pub path: String,
    /// Where a renamed file came from.
    pub old_path: Option<String>,
    /// Lines added and removed; None for a binary file.
    pub lines: Option<(u64, u64)>,
}

impl FileStat {
    /// The path as shown: `old → new` for a rename.
    pub fn display_path(&self) -> String {
        match &self.old_path {
            Some(old) => format!("{old} → {}", self.path),
            None => self.path.clone(),
        }
    }
}

/// The totals of a stat list.
pub fn totals(files: &[FileStat]) -> DiffStat {
    let (added, removed) = files
        .iter()
        .filter_map(|f| f.lines)
        .fold((0, 0), |(a, r), (x, y)| (a + x as i64, r + y as i64));
    DiffStat {
        files: files.len() as i64,
        added,
        removed,
    }
}

/// Which issue to diff, as the caller loaded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffTarget {
    /// The issue.
    pub issue_id: i64,
    /// Its branch, once a run has started.
    pub branch: Option<String>,
    /// The branch it started from.
    pub base: Option<String>,
}

/// Why an issue's diff cannot be shown.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DiffError {
    /// No run has started on it, so there is nothing to compare.
    #[error("#{0} has no branch yet: no run has started on it")]
    NoBranch(i64),
    /// The branch was recorded but is gone.
    #[error("#{issue_id}: its branch {branch} does not exist any more (was it deleted?)")]
    BranchMissing {
        /// The issue.
        issue_id: i64,
        /// The branch (printable).
        branch: String,
    },
    /// The base branch is gone (or was never recorded).
    #[error("#{issue_id}: its base branch {base} does not exist (was it deleted or renamed?); `autopilot-tui edit {issue_id} --base BRANCH` sets another")]
    BaseMissing {
        /// The issue.
        issue_id: i64,
        /// The base (printable).
        base: String,
    },
    /// git failed.
    #[error(transparent)]
    Git(#[from] GitError),
}

/// Checks that the branch and base exist, returning them.
fn refs(repo: &Path, t: &DiffTarget) -> Result<(String, String), DiffError> {
    let branch = t.branch.clone().ok_or(DiffError::NoBranch(t.issue_id))?;
    if !git::is_branch(repo, &branch) {
        return Err(DiffError::BranchMissing {
            issue_id: t.issue_id,
            branch: one_line(&branch),
        });
    }
    let base = t.base.clone().unwrap_or_default();
    if base.is_empty() || !git::is_branch(repo, &base) {
        return Err(DiffError::BaseMissing {
            issue_id: t.issue_id,
            base: if base.is_empty() {
                "(none recorded)".into()
            } else {
                one_line(&base)
            },
        });
    }
    Ok((branch, base))
}

/// `base...branch` over full ref names, so a branch named like an option or a path cannot be
/// read as one.
fn range(base: &str, branch: &str) -> String {
    format!("refs/heads/{base}...refs/heads/{branch}")
}

/// The issue's whole diff, parsed (cut at [`MAX_DIFF_BYTES`]).
pub fn issue_diff(repo: &Path, t: &DiffTarget) -> Result<Diff, DiffError> {
    let (branch, base) = refs(repo, t)?;
    Ok(diff_between(repo, &base, &branch, MAX_DIFF_BYTES)?)
}

/// The issue's files with their counts.
pub fn issue_stat(repo: &Path, t: &DiffTarget) -> Result<Vec<FileStat>, DiffError> {
    let (branch, base) = refs(repo, t)?;
    Ok(stat_between(repo, &base, &branch)?)
}

/// `git diff base...branch --numstat`, parsed.
pub fn stat_between(dir: &Path, base: &str, branch: &str) -> Result<Vec<FileStat>, GitError> {
    let r = range(base, branch);
    let (out, _) = run(
        dir,
        &["diff", "--numstat", "-z", "-M", "--no-ext-diff", &r, "--"],
        usize::MAX,
    )?;
    Ok(parse_numstat(&out))
}

/// `git diff base...branch`, parsed, reading at most `cap` bytes of it.
pub fn diff_between(dir: &Path, base: &str, branch: &str, cap: usize) -> Result<Diff, GitError> {
    let (out, truncated) = raw_between(dir, base, branch, cap)?;
    let mut diff = parse(&out);
    diff.truncated = truncated;
    Ok(diff)
}

/// `git diff base...branch` as git prints it (the reviewer's prompt), at most `cap` bytes of
/// it; `true` when there was more.
pub fn raw_between(
    dir: &Path,
    base: &str,
    branch: &str,
    cap: usize,
) -> Result<(Vec<u8>, bool), GitError> {
    let r = range(base, branch);
    run(
        dir,
        &[
            "-c",
            "core.quotePath=false",
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "-M",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            &r,
            "--",
        ],
        cap,
    )
}

/// Runs git, reading at most `cap` bytes of stdout; `true` when it said more (it is then
/// killed rather than waited out).
fn run(dir: &Path, args: &[&str], cap: usize) -> Result<(Vec<u8>, bool), GitError> {
    let command = format!("git {}", args.join(" "));
    let fail = |stderr: String| GitError {
        command: command.clone(),
        stderr,
    };
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run git in {}: {e}", dir.display())))?;
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    if let Some(stdout) = child.stdout.take() {
        stdout
            .take(limit)
            .read_to_end(&mut out)
            .map_err(|e| fail(format!("cannot read git's output: {e}")))?;
    }
    let truncated = out.len() > cap;
    if truncated {
        out.truncate(cap);
        let _ = child.kill();
        let _ = child.wait();
        return Ok((out, true));
    }
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut err);
    }
    let status = child
        .wait()
        .map_err(|e| fail(format!("cannot wait for git: {e}")))?;
    if !status.success() {
        return Err(fail(one_line(err.trim())));
    }
    Ok((out, false))
}
