//! `[github]`: what autopilot does on GitHub through `gh`.

use serde::Deserialize;

/// `[github]`: pull requests on GitHub.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubSection {
    /// Accepting an issue with `[merge] policy = "none"` merges its pull request
    /// (`gh pr merge --merge`) instead of leaving the branch alone (default false).
    pub merge_pr: Option<bool>,
}
