//! `[agent]`: which agent runs, and how.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::{Effort, Kind};

/// `[agent]`: which agent runs and how.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// `claude` (default), `codex` or `command`.
    pub kind: Option<String>,
    /// The claude or codex executable, or the shell command line for `kind = "command"`.
    pub command: Option<String>,
    /// Claude `--model`.
    pub model: Option<String>,
    /// Claude `--permission-mode`.
    pub permission_mode: Option<String>,
    /// Claude `--max-turns`.
    pub max_turns: Option<u32>,
    /// Claude `--allowedTools`.
    pub allowed_tools: Option<Vec<String>>,
    /// Extra arguments for claude.
    pub extra_args: Option<Vec<String>>,
    /// Agent identity recorded on claims, comments and runs.
    pub id: Option<String>,
    /// `[agent.models]`: the model for each kind of issue (`bug = "sonnet"`), used when an
    /// issue names none; an unknown kind is an error naming the known ones.
    pub models: Option<BTreeMap<Kind, String>>,
    /// Claude `--effort` for issues that name none; an unknown level is an error naming the
    /// allowed ones.
    pub effort: Option<Effort>,
    /// Claude `--fallback-model`: the models to try, in order, when the main one is busy.
    pub fallback_models: Option<Vec<String>>,
}

/// The Codex adapter `[agent] kind = "codex"` describes: `command` names the executable
/// (default `codex` on PATH); model, models, effort, permission mode and extra arguments as for
/// Claude. The error says how to install or name it when it cannot be found.
pub fn codex(
    a: &AgentSection,
    permission_mode: String,
) -> anyhow::Result<crate::runner::agent::codex::Codex> {
    let wanted = a.command.clone().unwrap_or_else(|| "codex".into());
    let program = which::which(&wanted).map_err(|_| {
        if a.command.is_some() {
            anyhow::anyhow!(
                "agent binary not found: {wanted:?} (from [agent] command) does not exist or is not executable"
            )
        } else {
            anyhow::anyhow!(
                "agent binary not found: `codex` is not on PATH; install the Codex CLI \
                 (npm install -g @openai/codex) or set [agent] command = \"/path/to/codex\""
            )
        }
    })?;
    Ok(crate::runner::agent::codex::Codex {
        program,
        model: a.model.clone(),
        models: a.models.clone().unwrap_or_default(),
        effort: a.effort,
        permission_mode,
        extra_args: a.extra_args.clone().unwrap_or_default(),
    })
}
