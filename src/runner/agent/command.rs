//! Any command-line agent: started through `sh -c`, its output read as plain text.
//!
//! The prompt reaches it on stdin and in a private file named by `$AUTOPILOT_PROMPT_FILE`;
//! `$AUTOPILOT_PROMPT` holds it too while it is small enough for the environment (Linux
//! refuses one variable past 128 KiB, and a thread keeps growing). A line starting with
//! `BLOCKED:` is its question; the exit status says whether it succeeded. A line
//! `SESSION: <id>` names its session: the issue's next run gets it back in `$AUTOPILOT_RESUME`.

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
        let text = String::from_utf8_lossy(line);
        if let Some(id) = text
            .strip_prefix(SESSION_PREFIX)
            .map(str::trim)
            .filter(|id| {
                // It comes back as an environment value: one printable word of sane length.
                !id.is_empty()
                    && id.len() <= 200
                    && !id.chars().any(|c| c.is_whitespace() || c.is_control())
            })
        {
            return vec![AgentEvent::Init {
                session_id: id.to_string(),
                model: None,
                permission_mode: None,
            }];
        }
        vec![AgentEvent::Text {
            message_id: None,
            text: text.into_owned(),
        }]
    }
}

/// The start of the line that names a command agent's session.
const SESSION_PREFIX: &str = "SESSION:";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_line_names_the_session_and_anything_else_is_text() {
        let g = Generic {
            shell: PathBuf::from("sh"),
            command: String::new(),
        };
        assert!(matches!(
            &g.parse_line(b"SESSION: abc-123")[..],
            [AgentEvent::Init { session_id, .. }] if session_id == "abc-123"
        ));
        for line in [
            &b"SESSION: two words"[..],
            b"SESSION:",
            b"SESSION: a\x1b[2J",
        ] {
            assert!(
                matches!(&g.parse_line(line)[..], [AgentEvent::Text { .. }]),
                "{line:?}"
            );
        }
    }
}
