//! Claude Code headless: `claude -p --output-format stream-json --verbose`, the prompt on stdin.
//! Its output is read by the `stream` module.

mod stream;
mod usage;

use std::path::{Path, PathBuf};

pub use stream::{parse_line, tool_summary};

use super::{Adapter, AgentEvent, AgentRequest};

/// Settings for the Claude Code adapter.
#[derive(Debug, Clone)]
pub struct Claude {
    /// The `claude` executable.
    pub program: PathBuf,
    /// `--model`, when set.
    pub model: Option<String>,
    /// `--permission-mode` (`bypassPermissions`, `acceptEdits`, …).
    pub permission_mode: String,
    /// `--max-turns`, when set.
    pub max_turns: Option<u32>,
    /// `--allowedTools`, when non-empty.
    pub allowed_tools: Vec<String>,
    /// Extra arguments appended last.
    pub extra_args: Vec<String>,
}

impl Claude {
    /// The arguments for one request, in the order the CLI expects them.
    pub fn args(&self, req: &AgentRequest) -> Vec<String> {
        // The prompt goes on stdin: an argument is refused by the kernel past 128 KiB, and a
        // thread grows with every answer. Variadic flags use the `=` form so that they never
        // swallow a following argument.
        let mut args = vec![
            "-p".to_string(),
            "--output-format".into(),
            "stream-json".into(),
            "--verbose".into(),
            "--permission-mode".into(),
            self.permission_mode.clone(),
            "--disallowedTools=AskUserQuestion".into(),
        ];
        if let Some(model) = &self.model {
            args.push("--model".into());
            args.push(model.clone());
        }
        if let Some(turns) = self.max_turns {
            args.push("--max-turns".into());
            args.push(turns.to_string());
        }
        if !self.allowed_tools.is_empty() {
            args.push(format!("--allowedTools={}", self.allowed_tools.join(",")));
        }
        if let Some(session) = &req.resume {
            args.push("--resume".into());
            args.push(session.clone());
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

impl Claude {
    /// The arguments of an interactive `claude --resume`: the headless run's permission mode,
    /// model, tools and extra arguments, without what only print mode takes (`-p`, the output
    /// format, `--max-turns`) and without hiding the question tool, as a person is there to
    /// answer.
    pub fn resume_args(&self, session: &str) -> Vec<String> {
        let mut args = vec![
            "--resume".to_string(),
            session.to_string(),
            "--permission-mode".into(),
            self.permission_mode.clone(),
        ];
        if let Some(model) = &self.model {
            args.push("--model".into());
            args.push(model.clone());
        }
        if !self.allowed_tools.is_empty() {
            args.push(format!("--allowedTools={}", self.allowed_tools.join(",")));
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

impl Adapter for Claude {
    fn name(&self) -> &'static str {
        "claude"
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
        parse_line(line)
    }

    fn interactive_args(&self, session: &str) -> Option<Vec<String>> {
        Some(self.resume_args(session))
    }

    fn resume_failed(&self, stderr: &str, saw_init: bool) -> bool {
        !saw_init && stderr.contains("No conversation found")
    }

    fn reports_result(&self) -> bool {
        true
    }

    fn answers_version(&self) -> bool {
        true
    }

    fn preflight(
        &self,
        permission_mode: &str,
        euid_is_root: bool,
        is_sandbox: Option<&str>,
    ) -> Result<(), String> {
        // Claude Code refuses to bypass permissions as root unless IS_SANDBOX=1.
        if euid_is_root && permission_mode == "bypassPermissions" && is_sandbox != Some("1") {
            return Err("Claude Code refuses permission mode bypassPermissions as root unless IS_SANDBOX=1. \
                        On a disposable box, export IS_SANDBOX=1; otherwise set AUTOPILOT_PERMISSION_MODE=acceptEdits \
                        (and [agent] allowed_tools for the commands the agent may run). No issue was claimed."
                .to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_leave_the_prompt_to_stdin_and_resume_last() {
        let c = Claude {
            program: "claude".into(),
            model: Some("m".into()),
            permission_mode: "acceptEdits".into(),
            max_turns: Some(5),
            allowed_tools: vec!["Write".into(), "Bash(cargo:*)".into()],
            extra_args: vec!["--foo".into()],
        };
        let req = AgentRequest {
            prompt: "do it".into(),
            cwd: ".".into(),
            resume: Some("sid".into()),
            issue_id: 1,
            prompt_file: None,
        };
        assert_eq!(
            c.args(&req),
            [
                "-p",
                "--output-format",
                "stream-json",
                "--verbose",
                "--permission-mode",
                "acceptEdits",
                "--disallowedTools=AskUserQuestion",
                "--model",
                "m",
                "--max-turns",
                "5",
                "--allowedTools=Write,Bash(cargo:*)",
                "--resume",
                "sid",
                "--foo"
            ]
        );
        assert!(c.resume_failed("No conversation found with session ID: sid", false));
        assert!(!c.resume_failed("No conversation found", true));
        // Interactively: the same permission mode, model, tools and extras; nothing of print
        // mode.
        assert_eq!(
            c.interactive_args("sid").unwrap_or_default(),
            [
                "--resume",
                "sid",
                "--permission-mode",
                "acceptEdits",
                "--model",
                "m",
                "--allowedTools=Write,Bash(cargo:*)",
                "--foo"
            ]
        );
        let generic = crate::runner::agent::renderer(Some("command"));
        assert_eq!(generic.interactive_args("sid"), None);
    }
}
