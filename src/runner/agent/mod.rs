//! Agent adapters: how to start an agent and how to read what it prints.
//!
//! Claude Code is one adapter ([`claude::Claude`]); any other command-line agent plugs in through
//! [`command::Generic`], or a new type implementing [`Adapter`].

pub mod claude;
pub mod command;

use std::path::{Path, PathBuf};

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
    /// Whether a failed `--resume` can be retried as a fresh session (and how to spot it).
    fn resume_failed(&self, _stderr: &str, _saw_init: bool) -> bool {
        false
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
