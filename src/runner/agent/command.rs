//! Any command-line agent: started through `sh -c`, its output read as plain text.
//!
//! The prompt reaches it in `AUTOPILOT_PROMPT` (and a file named by `AUTOPILOT_PROMPT_FILE`
//! is not needed: the variable holds it all). A line starting with `BLOCKED:` is its question;
//! the exit status says whether it succeeded.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::{Adapter, AgentEvent, AgentRequest};

/// A generic agent command.
#[derive(Debug, Clone)]
pub struct Generic {
    /// The shell used to run `command`.
    pub shell: PathBuf,
    /// The command line (`aider --message "$AUTOPILOT_PROMPT"`).
    pub command: String,
}

impl Adapter for Generic {
    fn name(&self) -> &'static str {
        "command"
    }

    fn program(&self) -> &Path {
        &self.shell
    }

    fn command(&self, req: &AgentRequest) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.shell);
        cmd.arg("-c")
            .arg(&self.command)
            .current_dir(&req.cwd)
            .env("AUTOPILOT_PROMPT", &req.prompt)
            .env("AUTOPILOT_ISSUE_ID", req.issue_id.to_string())
            .stdin(Stdio::null());
        if let Some(session) = &req.resume {
            cmd.env("AUTOPILOT_RESUME", session);
        }
        cmd
    }

    fn parse_line(&self, line: &[u8]) -> Vec<AgentEvent> {
        vec![AgentEvent::Text {
            message_id: None,
            text: String::from_utf8_lossy(line).into_owned(),
        }]
    }
}
