//! The Codex CLI headless: `codex exec --json`, the prompt on stdin (`-`), resumed with
//! `codex exec resume <thread id> -`. Its output is read by the `stream` module.

mod stream;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::domain::{Effort, Kind};

pub use stream::parse_line;

use super::{Adapter, AgentEvent, AgentRequest, ModelChoice};

/// The permission mode that runs Codex without its sandbox and approvals (the default, as
/// for Claude: the worktree is the boundary).
const BYPASS: &str = "bypassPermissions";

/// Settings for the Codex adapter.
#[derive(Debug, Clone)]
pub struct Codex {
    /// The `codex` executable.
    pub program: PathBuf,
    /// `--model`, when set: the default for issues that name none.
    pub model: Option<String>,
    /// `[agent.models]`: the model for each kind of issue that names none.
    pub models: BTreeMap<Kind, String>,
    /// `model_reasoning_effort` for issues that name none.
    pub effort: Option<Effort>,
    /// `bypassPermissions` (no sandbox, no approvals) or a Codex sandbox mode
    /// (`workspace-write`, `read-only`, `danger-full-access`).
    pub permission_mode: String,
    /// Extra arguments, after the adapter's own and before the prompt.
    pub extra_args: Vec<String>,
}

impl Codex {
    /// The model an issue runs on: its own, else its kind's, else the default.
    pub fn model_for<'a>(&'a self, choice: &'a ModelChoice) -> Option<&'a str> {
        choice
            .model
            .as_deref()
            .or_else(|| {
                choice
                    .kind
                    .and_then(|k| self.models.get(&k))
                    .map(String::as_str)
            })
            .or(self.model.as_deref())
    }

    /// `--sandbox` or the bypass flag, `--model` and the reasoning effort.
    fn push_run_args(&self, args: &mut Vec<String>, choice: &ModelChoice, read_only: bool) {
        if read_only {
            args.extend(["--sandbox".into(), "read-only".into()]);
        } else if self.permission_mode == BYPASS || self.permission_mode.is_empty() {
            args.push("--dangerously-bypass-approvals-and-sandbox".into());
        } else {
            args.extend(["--sandbox".into(), self.permission_mode.clone()]);
        }
        if let Some(model) = self.model_for(choice) {
            args.extend(["--model".into(), model.to_string()]);
        }
        if let Some(effort) = choice.effort.or(self.effort) {
            // Codex knows no level above `xhigh`.
            let level = match effort {
                Effort::Max => "xhigh",
                other => other.as_str(),
            };
            args.extend(["-c".into(), format!("model_reasoning_effort=\"{level}\"")]);
        }
    }

    /// The arguments for one request. The prompt goes on stdin (`-`): an argument is refused
    /// by the kernel past 128 KiB. Options precede `resume`, which takes the thread id.
    pub fn args(&self, req: &AgentRequest) -> Vec<String> {
        let mut args = vec![
            "exec".to_string(),
            "--json".into(),
            "--color".into(),
            "never".into(),
            "--skip-git-repo-check".into(),
            "--cd".into(),
            req.cwd.to_string_lossy().into_owned(),
        ];
        self.push_run_args(&mut args, &req.choice, req.read_only);
        args.extend(self.extra_args.iter().cloned());
        if let Some(thread) = &req.resume {
            args.extend(["resume".into(), thread.clone()]);
        }
        args.push("-".into());
        args
    }
}

impl Adapter for Codex {
    fn name(&self) -> &'static str {
        "codex"
    }

    fn program(&self) -> &Path {
        &self.program
    }

    fn command(&self, req: &AgentRequest) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(self.args(req)).current_dir(&req.cwd);
        cmd
    }

    fn parse_line(&self, line: &[u8]) -> Vec<AgentEvent> {
        parse_line(line, self.model.as_deref())
    }

    fn interactive_args(&self, session: &str, choice: &ModelChoice) -> Option<Vec<String>> {
        let mut args = vec!["resume".to_string(), session.to_string()];
        self.push_run_args(&mut args, choice, false);
        args.extend(self.extra_args.iter().cloned());
        Some(args)
    }

    fn resume_failed(&self, stderr: &str, saw_init: bool) -> bool {
        // `codex exec resume` of a thread it has no record of (another CODEX_HOME, deleted).
        !saw_init && stderr.contains("no rollout found for thread id")
    }

    fn reports_result(&self) -> bool {
        true
    }

    fn usage_is_session_total(&self) -> bool {
        true
    }

    fn answers_version(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
