//! Agent adapters: how to start an agent and how to read what it prints.
//!
//! Claude Code is one adapter ([`claude::Claude`]), the Codex CLI another ([`codex::Codex`]);
//! any other command-line agent plugs in through [`command::Generic`], or a new type
//! implementing [`Adapter`]. An adapter also renders what
//! its agent printed, so a run looks the same live, in the transcript view and in `log`.

pub mod claude;
pub mod codex;
pub mod command;
pub mod render;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use render::PaneLine;

/// One thing an agent reported, parsed from one output line.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// The session began.
    Init {
        /// Session id, resumable later.
        session_id: String,
        /// Model in use.
        model: Option<String>,
        /// Permission mode the agent runs under.
        permission_mode: Option<String>,
    },
    /// Assistant text (one content block).
    Text {
        /// Message the block belongs to (blocks of one answer share it).
        message_id: Option<String>,
        /// The text.
        text: String,
    },
    /// A tool call.
    ToolUse {
        /// Message the call belongs to (one API response = one turn).
        message_id: Option<String>,
        /// Tool name (`Edit`, `Bash`, …).
        name: String,
        /// A one-line summary (`src/x.rs`, `cargo test`).
        summary: String,
    },
    /// A tool's result.
    ToolResult {
        /// The result text the model sees.
        text: String,
        /// Whether the tool failed.
        is_error: bool,
    },
    /// The API call failed and is retried.
    Retry {
        /// Attempt number.
        attempt: i64,
        /// Retries allowed.
        max_retries: i64,
        /// What failed.
        error: String,
    },
    /// The API failed for good (synthetic assistant message).
    ApiError(String),
    /// A tool call the permission mode refused.
    PermissionDenied {
        /// The tool.
        tool: String,
        /// The agent's explanation.
        message: String,
    },
    /// What one API response used (repeated with the same message id for each of its blocks).
    Usage {
        /// The response it belongs to.
        message_id: Option<String>,
        /// The model that answered.
        model: Option<String>,
        /// Its tokens.
        tokens: crate::domain::Tokens,
    },
    /// The run's closing summary.
    Result(AgentResult),
    /// Valid JSON of a type we do not show.
    Ignored,
    /// Not JSON (or not the expected shape): kept as text.
    Raw(String),
}

/// The closing summary of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentResult {
    /// Whether the run failed (API errors, max turns, interrupted).
    pub is_error: bool,
    /// `success`, `error_max_turns`, `error_during_execution`, …
    pub subtype: String,
    /// The last text block of the final answer.
    pub text: Option<String>,
    /// Errors listed by the agent.
    pub errors: Vec<String>,
    /// Total cost in USD.
    pub cost_usd: Option<f64>,
    /// Turns taken.
    pub turns: Option<i64>,
    /// Wall-clock duration the agent reports.
    pub duration_ms: Option<i64>,
    /// Session id.
    pub session_id: Option<String>,
    /// Tool calls the permission mode denied.
    pub permission_denials: usize,
    /// The HTTP status of the API error that ended the run, if any.
    pub api_error_status: Option<i64>,
    /// Tokens of the whole run (every model's) and the model that cost the most.
    pub usage: Option<Box<crate::domain::RunUsage>>,
}

/// What one run of an agent is asked to do.
#[derive(Debug, Clone)]
pub struct AgentRequest {
    /// The full prompt.
    pub prompt: String,
    /// The worktree to work in.
    pub cwd: PathBuf,
    /// A previous session to continue.
    pub resume: Option<String>,
    /// The issue, for adapters that want it in their environment.
    pub issue_id: i64,
    /// A private file holding the prompt, for adapters that ask for one
    /// ([`Adapter::wants_prompt_file`]).
    pub prompt_file: Option<PathBuf>,
    /// The issue's own model and effort, and its kind (for `[agent.models]`); all None for a
    /// run that takes the configured defaults (a reviewer).
    pub choice: ModelChoice,
    /// The run may read but must not change anything (a `split`'s planner): adapters that can
    /// enforce it take away the tools that write or run commands.
    pub read_only: bool,
}

/// What an issue asks of the model; the adapter resolves it against its settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelChoice {
    /// The issue's `--model`.
    pub model: Option<String>,
    /// The issue's `--effort`.
    pub effort: Option<crate::domain::Effort>,
    /// The issue's kind, which `[agent.models]` maps to a model.
    pub kind: Option<crate::domain::Kind>,
}

impl ModelChoice {
    /// The choice an issue makes.
    pub fn of(issue: &crate::domain::Issue) -> ModelChoice {
        ModelChoice {
            model: issue.model.clone(),
            effort: issue.effort,
            kind: Some(issue.kind),
        }
    }
}

/// An agent the runner can drive.
pub trait Adapter: Send + Sync {
    /// Short name for logs and `doctor`.
    fn name(&self) -> &'static str;
    /// The executable that will run.
    fn program(&self) -> &Path;
    /// The process to start for a request (stdin/stdout/stderr and process group are set by
    /// the runner, which writes the prompt to stdin and then closes it).
    fn command(&self, req: &AgentRequest) -> tokio::process::Command;
    /// Whether the runner should also write the prompt to a file ([`AgentRequest::prompt_file`]).
    fn wants_prompt_file(&self) -> bool {
        false
    }
    /// Parses one output line (without its newline) into zero or more events.
    fn parse_line(&self, line: &[u8]) -> Vec<AgentEvent>;
    /// [`Self::parse_line`], and whether the events' [`AgentEvent::Text`]s are every word the
    /// line holds: the ingest then indexes them for search instead of walking the line again.
    fn parse_line_searchable(&self, line: &[u8]) -> (Vec<AgentEvent>, bool) {
        (self.parse_line(line), false)
    }
    /// The arguments that continue `session` interactively, with a person at the terminal
    /// (None: this agent has no such mode).
    /// `choice` is the issue's, as for its headless runs.
    fn interactive_args(&self, _session: &str, _choice: &ModelChoice) -> Option<Vec<String>> {
        None
    }
    /// Whether a failed `--resume` can be retried as a fresh session (and how to spot it).
    fn resume_failed(&self, _stderr: &str, _saw_init: bool) -> bool {
        false
    }
    /// Whether every finished run ends with a result line, so that a run without one ended
    /// early (its output was cut) rather than simply finished.
    fn reports_result(&self) -> bool {
        false
    }
    /// Whether the usage the agent reports counts its whole session, earlier runs included
    /// (Codex's thread totals), so a resumed run's own share is what it reports less theirs.
    fn usage_is_session_total(&self) -> bool {
        false
    }
    /// Whether the program answers `--version` (`doctor` runs it to check the install).
    fn answers_version(&self) -> bool {
        false
    }
    /// What would make every run fail before it starts, given the permission mode, whether
    /// this process runs as root and `$IS_SANDBOX`; the error says what to change.
    fn preflight(
        &self,
        _permission_mode: &str,
        _euid_is_root: bool,
        _is_sandbox: Option<&str>,
    ) -> Result<(), String> {
        Ok(())
    }
    /// Renders one parsed event as display lines (the live pane).
    fn display(&self, event: &AgentEvent) -> Vec<PaneLine> {
        render::display_lines(event)
    }
    /// Renders one stored transcript line as display lines (the transcript view, `log`): the
    /// same parse and the same rendering the live pane used.
    fn render_line(&self, line: &[u8]) -> Vec<PaneLine> {
        self.parse_line(line)
            .iter()
            .flat_map(|event| self.display(event))
            .collect()
    }
}

/// An adapter for agents of `kind` (as `[agent] kind` names it) that only reads their output:
/// nothing is looked up, so stored transcripts render where the agent is not installed. An
/// unknown kind reads as Claude Code, the default.
pub fn renderer(kind: Option<&str>) -> Arc<dyn Adapter> {
    format_of(kind.unwrap_or("claude"))
}

/// The reader of a stored run's output when it is not `configured`: plain text for a shell
/// command's run (a check, the setup), the format of the agent its issue asked for when that
/// is another one (`--agent codex` in a Claude queue). None: `configured` reads it.
pub fn reader_for(
    role: crate::domain::RunRole,
    agent: Option<crate::domain::AgentKind>,
    configured: &dyn Adapter,
) -> Option<Arc<dyn Adapter>> {
    if role.is_command() {
        return Some(plain_text());
    }
    agent
        .filter(|k| k.as_str() != configured.name())
        .map(|k| format_of(k.as_str()))
}

/// A reader of output as plain text, whatever it holds (a check's output).
pub fn plain_text() -> Arc<dyn Adapter> {
    format_of("command")
}

/// A reader of one agent's output format.
fn format_of(kind: &str) -> Arc<dyn Adapter> {
    match kind {
        "codex" => Arc::new(codex::Codex {
            program: PathBuf::from("codex"),
            model: None,
            models: Default::default(),
            effort: None,
            permission_mode: String::new(),
            extra_args: Vec::new(),
        }),
        "command" => Arc::new(command::Generic {
            shell: PathBuf::from("sh"),
            command: String::new(),
        }),
        _ => Arc::new(claude::Claude {
            program: PathBuf::from("claude"),
            model: None,
            models: Default::default(),
            effort: None,
            fallback_models: Vec::new(),
            permission_mode: String::new(),
            max_turns: None,
            allowed_tools: Vec::new(),
            extra_args: Vec::new(),
            max_budget_usd: None,
        }),
    }
}

/// Shortens text to at most `max` characters, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    // No more bytes than `max` means no more characters: the common case needs no count.
    if text.len() <= max || text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INIT: &[u8] = br#"{"type":"system","subtype":"init","session_id":"s-1","model":"m"}"#;

    #[test]
    fn stored_lines_render_as_the_live_pane_rendered_them() {
        for kind in [
            None,
            Some("claude"),
            Some("codex"),
            Some("command"),
            Some("unknown"),
        ] {
            let adapter = renderer(kind);
            let live: Vec<PaneLine> = adapter
                .parse_line(INIT)
                .iter()
                .flat_map(|ev| adapter.display(ev))
                .collect();
            assert_eq!(adapter.render_line(INIT), live, "{kind:?}");
        }
    }

    #[test]
    fn each_kind_reads_its_own_output() {
        let claude = renderer(Some("claude")).render_line(INIT);
        assert_eq!(claude[0].text, "● session s-1 m");
        let command = renderer(Some("command")).render_line(INIT);
        assert_eq!(command[0].kind, render::LineKind::Text);
        assert_eq!(command[0].text.as_bytes(), INIT);
        assert_eq!(plain_text().render_line(INIT), command);
        let codex =
            renderer(Some("codex")).render_line(br#"{"type":"thread.started","thread_id":"t-1"}"#);
        assert!(codex[0].text.contains("t-1"), "{codex:?}");
        assert_eq!(renderer(Some("unknown")).name(), "claude");
    }

    #[test]
    fn capabilities_are_the_adapters_own() {
        let (claude, command) = (renderer(None), renderer(Some("command")));
        assert!(claude.reports_result() && claude.answers_version());
        assert!(!command.reports_result() && !command.answers_version());
        assert!(claude
            .preflight("bypassPermissions", true, None)
            .is_err_and(|e| e.contains("IS_SANDBOX=1")));
        assert!(claude
            .preflight("bypassPermissions", true, Some("1"))
            .is_ok());
        assert!(claude.preflight("acceptEdits", true, None).is_ok());
        assert!(command.preflight("bypassPermissions", true, None).is_ok());
    }
}

/// Which agents a runner can start besides its default: an issue's `--agent` picks one.
#[derive(Clone, Default)]
pub struct Agents {
    /// The agent the runner's own adapter is (`[agent] kind`); `None`: unknown, so an issue
    /// naming any agent finds it unavailable.
    pub default: Option<crate::domain::AgentKind>,
    /// The others: an adapter, or why that agent cannot run here.
    pub others:
        std::collections::BTreeMap<crate::domain::AgentKind, Result<Arc<dyn Adapter>, String>>,
}

impl Agents {
    /// The adapter for an issue wanting `want` (`None`: the default), or why there is none.
    pub fn pick(
        &self,
        default: &Arc<dyn Adapter>,
        want: Option<crate::domain::AgentKind>,
    ) -> Result<Arc<dyn Adapter>, String> {
        let Some(want) = want.filter(|w| Some(*w) != self.default) else {
            return Ok(Arc::clone(default));
        };
        match self.others.get(&want) {
            Some(Ok(adapter)) => Ok(Arc::clone(adapter)),
            Some(Err(why)) => Err(why.clone()),
            None => Err(format!("the {want} agent is not configured")),
        }
    }
}

#[cfg(test)]
mod agents_tests {
    use super::*;
    use crate::domain::AgentKind;

    #[test]
    fn an_issue_gets_its_own_agent_the_default_or_the_reason_it_cannot() {
        let claude = renderer(None);
        let command = renderer(Some("command"));
        let mut agents = Agents {
            default: Some(AgentKind::Claude),
            ..Agents::default()
        };
        agents
            .others
            .insert(AgentKind::Command, Ok(Arc::clone(&command)));
        agents
            .others
            .insert(AgentKind::Codex, Err("codex is not available".into()));
        let name = |w| agents.pick(&claude, w).map(|a| a.name().to_string());
        assert_eq!(name(None), Ok(claude.name().to_string()));
        assert_eq!(name(Some(AgentKind::Claude)), Ok(claude.name().to_string()));
        assert_eq!(
            name(Some(AgentKind::Command)),
            Ok(command.name().to_string())
        );
        assert_eq!(
            name(Some(AgentKind::Codex)),
            Err("codex is not available".into())
        );
        assert!(Agents::default()
            .pick(&claude, Some(AgentKind::Command))
            .is_err());
    }
}
