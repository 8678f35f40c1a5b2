//! GitHub through its CLI (`gh`): the open issues an import reads, and merging a pull request.
//! Every failure of `gh` (missing, not logged in, no such repository) is an error that says
//! which, with what `gh` said.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use crate::domain::sanitize::{one_line, strip_all};
use crate::domain::Kind;
use crate::store::ImportedIssue;

/// The longest title an imported issue keeps (in characters); the rest is cut, marked `…`.
pub const TITLE_MAX: usize = 200;
/// The longest body an imported issue keeps (in bytes); the rest is left on GitHub, and the
/// body says so.
pub const BODY_MAX: usize = 64 * 1024;

/// What went wrong running `gh`, worded for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum GhError {
    /// `gh` is not on PATH.
    #[error("the GitHub CLI is not installed (cannot run `gh`: {0}); install it from https://cli.github.com")]
    NotInstalled(std::io::Error),
    /// `gh` has no login.
    #[error("the GitHub CLI is not logged in: run `gh auth login` (gh said: {0})")]
    NotAuthenticated(String),
    /// The repository does not exist or cannot be seen.
    #[error("GitHub cannot find that repository (gh said: {0}); check --repo OWNER/NAME")]
    BadRepo(String),
    /// Anything else `gh` refused.
    #[error("`{command}` failed: {stderr}")]
    Failed {
        /// What was run.
        command: String,
        /// What gh said.
        stderr: String,
    },
    /// `gh` answered something that is not the JSON asked for.
    #[error("`gh issue list` printed something that is not its JSON ({0})")]
    BadOutput(String),
}

/// One open issue as `gh issue list --json number,title,body,url,labels` prints it.
#[derive(Debug, Clone, Deserialize)]
pub struct GhIssue {
    /// Its number in the repository.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its description (absent or null when empty).
    #[serde(default)]
    pub body: Option<String>,
    /// Its address.
    pub url: String,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<GhLabel>,
}

/// A label of an issue.
#[derive(Debug, Clone, Deserialize)]
pub struct GhLabel {
    /// The label's name.
    pub name: String,
}

/// The open issues of `repo` (or of the repository `gh` finds from `cwd`), at most `limit`,
/// only those labelled `label` when given.
pub fn open_issues(
    cwd: &Path,
    repo: Option<&str>,
    label: Option<&str>,
    limit: u32,
) -> Result<Vec<GhIssue>, GhError> {
    let mut args = vec![
        "issue".to_string(),
        "list".into(),
        "--state".into(),
        "open".into(),
        "--json".into(),
        "number,title,body,url,labels".into(),
        "--limit".into(),
        limit.to_string(),
    ];
    if let Some(r) = repo {
        args.extend(["--repo".into(), r.to_string()]);
    }
    if let Some(l) = label {
        args.extend(["--label".into(), l.to_string()]);
    }
    let stdout = gh(cwd, &args)?;
    serde_json::from_str(&stdout).map_err(|e| GhError::BadOutput(e.to_string()))
}

/// Merges the pull request at `url` (`gh pr merge --merge`).
pub fn merge_pr(cwd: &Path, url: &str) -> Result<(), GhError> {
    gh(
        cwd,
        &["pr".into(), "merge".into(), url.into(), "--merge".into()],
    )
    .map(|_| ())
}

/// Runs `gh` in `cwd`, returning its stdout; its failures sorted into [`GhError`]'s kinds.
fn gh(cwd: &Path, args: &[String]) -> Result<String, GhError> {
    let out = Command::new("gh")
        .args(args)
        .current_dir(cwd)
        .env("GH_PROMPT_DISABLED", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(GhError::NotInstalled)?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let said = strip_all(String::from_utf8_lossy(&out.stderr).trim());
    let lower = said.to_ascii_lowercase();
    Err(
        if lower.contains("gh auth login") || lower.contains("not logged") {
            GhError::NotAuthenticated(said)
        } else if lower.contains("could not resolve to a repository")
            || lower.contains("expected the \"[host/]owner/repo\" format")
        {
            GhError::BadRepo(said)
        } else {
            GhError::Failed {
                command: format!("gh {}", args.first().map_or("", String::as_str)),
                stderr: said,
            }
        },
    )
}

/// An issue as autopilot imports it: the title one line and at most [`TITLE_MAX`] characters,
/// the body at most [`BODY_MAX`] bytes, the kind from a `bug` or `chore` label (else feature).
pub fn to_imported(issue: &GhIssue) -> ImportedIssue {
    let line = one_line(&issue.title);
    let title = if line.chars().count() > TITLE_MAX {
        let mut t: String = line.chars().take(TITLE_MAX - 1).collect();
        t.push('…');
        t
    } else {
        line
    };
    let mut body = issue.body.clone().unwrap_or_default();
    if body.len() > BODY_MAX {
        let mut cut = BODY_MAX;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        let more = body.len() - cut;
        body.truncate(cut);
        body.push_str(&format!(
            "\n\n[{more} more bytes are on GitHub: {}]",
            one_line(&issue.url)
        ));
    }
    let has = |name: &str| {
        issue
            .labels
            .iter()
            .any(|l| l.name.eq_ignore_ascii_case(name))
    };
    let kind = if has("bug") {
        Kind::Bug
    } else if has("chore") {
        Kind::Chore
    } else {
        Kind::Feature
    };
    ImportedIssue {
        source_url: issue.url.trim().to_string(),
        title,
        body,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(title: &str, body: &str, labels: &[&str]) -> GhIssue {
        GhIssue {
            number: 1,
            title: title.into(),
            body: Some(body.into()),
            url: "https://github.com/o/r/issues/1".into(),
            labels: labels
                .iter()
                .map(|l| GhLabel { name: (*l).into() })
                .collect(),
        }
    }

    #[test]
    fn long_titles_and_bodies_are_cut_and_say_so() {
        let got = to_imported(&issue(&"é".repeat(500), &"ü".repeat(BODY_MAX), &[]));
        assert_eq!(got.title.chars().count(), TITLE_MAX);
        assert!(got.title.ends_with('…'));
        assert!(got.body.len() < BODY_MAX + 100);
        assert!(
            got.body.contains("more bytes are on GitHub"),
            "{}",
            &got.body[BODY_MAX - 10..]
        );
    }

    #[test]
    fn escapes_and_newlines_leave_the_title_and_labels_give_the_kind() {
        let got = to_imported(&issue("a\u{1b}[31mred\nsecond", "b", &["Bug"]));
        assert!(
            !got.title.contains('\u{1b}') && !got.title.contains('\n'),
            "{:?}",
            got.title
        );
        assert_eq!(got.kind, Kind::Bug);
        assert_eq!(to_imported(&issue("t", "", &["chore"])).kind, Kind::Chore);
        assert_eq!(to_imported(&issue("t", "", &["x"])).kind, Kind::Feature);
    }
}
