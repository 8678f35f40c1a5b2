//! `[agent]`: which agent runs, and how.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use serde::Deserialize;

use super::Config;
use crate::domain::{AgentKind, Effort, Kind};
use crate::runner::agent::{claude::Claude, command::Generic, Adapter, Agents};

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
    /// The command line of the command agent when `kind` is another one, so that issues can
    /// ask for it (`--agent command`).
    pub command_agent: Option<String>,
}

impl Config {
    /// The configured agent (`[agent] kind`, default claude); an unknown name is an error
    /// naming the known ones.
    pub fn agent_kind(&self) -> anyhow::Result<AgentKind> {
        match self.file.agent.kind.as_deref() {
            None => Ok(AgentKind::Claude),
            Some(k) => k.parse().map_err(|_| {
                anyhow::anyhow!(
                    "unknown [agent] kind {k:?} (expected \"claude\", \"codex\" or \"command\")"
                )
            }),
        }
    }

    /// Builds the configured agent adapter, resolving its executable. The error names the
    /// setting to change when the executable cannot be found.
    pub fn adapter(&self) -> anyhow::Result<Arc<dyn Adapter>> {
        let a = &self.file.agent;
        match self.agent_kind()? {
            AgentKind::Claude => self.claude(a),
            AgentKind::Command => {
                let Some(command) = a.command.clone().filter(|c| !c.trim().is_empty()) else {
                    bail!(
                        "[agent] kind = \"command\" needs `command` (or AUTOPILOT_AGENT_COMMAND)"
                    );
                };
                Ok(generic(command))
            }
            AgentKind::Codex => Ok(Arc::new(codex(a, self.permission_mode())?)),
        }
    }

    /// The agents an issue may ask for besides the configured one: Claude Code and Codex when
    /// `claude` / `codex` are on PATH, the command agent when `[agent] command_agent` is set;
    /// each absent one with the reason, which blocks an issue asking for it. They run with their
    /// own defaults: `[agent]`'s command, model and extra arguments belong to the configured
    /// agent and would mean nothing (or something else) to another one.
    pub fn agents(&self) -> anyhow::Result<Agents> {
        let default = self.agent_kind()?;
        let mut others = BTreeMap::new();
        for kind in AgentKind::ALL.iter().copied().filter(|k| *k != default) {
            let built = match kind {
                AgentKind::Claude => self
                    .claude(&AgentSection::default())
                    .map_err(|e| format!("{e:#}")),
                AgentKind::Command => match self.file.agent.command_agent.clone() {
                    Some(c) if !c.trim().is_empty() => Ok(generic(c)),
                    _ => Err("the command agent is not configured: set [agent] command_agent to its command line".into()),
                },
                AgentKind::Codex => codex(&AgentSection::default(), self.permission_mode())
                    .map(|c| Arc::new(c) as Arc<dyn Adapter>)
                    .map_err(|e| format!("{e:#}")),
            };
            others.insert(kind, built);
        }
        Ok(Agents {
            default: Some(default),
            others,
        })
    }

    /// Claude Code with the settings of `a`, from its `command` (else `claude` on PATH).
    fn claude(&self, a: &AgentSection) -> anyhow::Result<Arc<dyn Adapter>> {
        let program = find_program(
            a.command.as_deref(),
            ("claude", "AUTOPILOT_CLAUDE_BIN or [agent] command"),
            "install Claude Code (npm install -g @anthropic-ai/claude-code) or set \
             AUTOPILOT_CLAUDE_BIN=/path/to/claude",
        )?;
        Ok(Arc::new(Claude {
            program,
            model: a.model.clone(),
            models: a.models.clone().unwrap_or_default(),
            effort: a.effort,
            fallback_models: a.fallback_models.clone().unwrap_or_default(),
            permission_mode: self.permission_mode(),
            max_turns: a.max_turns,
            allowed_tools: a.allowed_tools.clone().unwrap_or_default(),
            extra_args: a.extra_args.clone().unwrap_or_default(),
            max_budget_usd: self.file.budget.per_run_usd,
        }))
    }
}

/// The agent's executable: `command` when configured (named by `from`), else `default` on PATH;
/// the error says which was missing and, for the default, how to `install` it.
fn find_program(
    command: Option<&str>,
    (default, from): (&str, &str),
    install: &str,
) -> anyhow::Result<PathBuf> {
    let wanted = command.unwrap_or(default);
    which::which(wanted).map_err(|_| match command {
        Some(_) => anyhow::anyhow!(
            "agent binary not found: {wanted:?} (from {from}) does not exist or is not executable"
        ),
        None => anyhow::anyhow!("agent binary not found: `{default}` is not on PATH; {install}"),
    })
}

/// The command agent running `command` through `sh`.
fn generic(command: String) -> Arc<dyn Adapter> {
    let shell = which::which("sh").unwrap_or_else(|_| PathBuf::from("/bin/sh"));
    Arc::new(Generic { shell, command })
}

/// The Codex adapter `[agent] kind = "codex"` describes: `command` names the executable
/// (default `codex` on PATH); model, models, effort, permission mode and extra arguments as for
/// Claude. The error says how to install or name it when it cannot be found.
fn codex(
    a: &AgentSection,
    permission_mode: String,
) -> anyhow::Result<crate::runner::agent::codex::Codex> {
    let program = find_program(
        a.command.as_deref(),
        ("codex", "[agent] command"),
        "install the Codex CLI (npm install -g @openai/codex) or set \
         [agent] command = \"/path/to/codex\"",
    )?;
    Ok(crate::runner::agent::codex::Codex {
        program,
        model: a.model.clone(),
        models: a.models.clone().unwrap_or_default(),
        effort: a.effort,
        permission_mode,
        extra_args: a.extra_args.clone().unwrap_or_default(),
    })
}
