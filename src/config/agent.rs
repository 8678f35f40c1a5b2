//! `[agent]`: which agent runs, and how.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::{Effort, Kind};

/// `[agent]`: which agent runs and how.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// `claude` (default) or `command`.
    pub kind: Option<String>,
    /// The claude executable, or the shell command line for `kind = "command"`.
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
