//! Any command-line agent: started through `sh -c`, its output read as plain text.
//!
//! The prompt reaches it on stdin and in a private file named by `$AUTOPILOT_PROMPT_FILE`;
//! `$AUTOPILOT_PROMPT` holds it too while it is small enough for the environment (Linux
//! refuses one variable past 128 KiB, and a thread keeps growing). A line starting with
//! `BLOCKED:` is its question; the exit status says whether it succeeded.

use std::path::{Path, PathBuf};

use super::{Adapter, AgentEvent, AgentRequest};

/// Largest prompt also passed in `$AUTOPILOT_PROMPT`: well under the kernel's 128 KiB limit
/// for one environment string.
pub const ENV_PROMPT_MAX: usize = 96 << 10;

/// A generic agent command.
#[derive(Debug, Clone)]
pub struct Generic {
    /// The shell used to run `command`.
    pub shell: PathBuf,
    /// The command line (`aider --message-file "$AUTOPILOT_PROMPT_FILE"`).
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
            .env("AUTOPILOT_ISSUE_ID", req.issue_id.to_string());
        if req.prompt.len() <= ENV_PROMPT_MAX {
            cmd.env("AUTOPILOT_PROMPT", &req.prompt);
        } else {
            // An inherited value would be some other prompt.
            cmd.env_remove("AUTOPILOT_PROMPT");
        }
        if let Some(file) = &req.prompt_file {
            cmd.env("AUTOPILOT_PROMPT_FILE", file);
        }
        if req.read_only {
            // Not enforced: a generic command can do whatever it likes; this only tells it.
            cmd.env("AUTOPILOT_READ_ONLY", "1");
        } else {
            cmd.env_remove("AUTOPILOT_READ_ONLY");
        }
        if let Some(session) = &req.resume {
            cmd.env("AUTOPILOT_RESUME", session);
        }
        cmd
    }

    fn wants_prompt_file(&self) -> bool {
        true
    }

    fn parse_line(&self, line: &[u8]) -> Vec<AgentEvent> {
        vec![AgentEvent::Text {
            message_id: None,
            text: String::from_utf8_lossy(line).into_owned(),
        }]
    }
}
