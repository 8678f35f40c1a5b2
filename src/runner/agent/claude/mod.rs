//! Claude Code headless: `claude -p --output-format stream-json --verbose`, the prompt on stdin.
//! Its output is read by the `stream` module.

mod stream;
mod usage;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::domain::{Effort, Kind};

pub use stream::{parse_line, tool_summary};

use super::{Adapter, AgentEvent, AgentRequest, ModelChoice};

/// The tools a read-only run ([`AgentRequest::read_only`]) goes without: the question tool, as
/// for every headless run, and every tool that writes a file or runs a command. Left out of
/// the session, they cannot be allowed back by `--allowedTools`; the run's permission mode is
/// `plan` besides, which denies the writes of whatever tools remain (a subagent's, a
/// worktree's). In print mode the CLI offers no ExitPlanMode: the answer stays plain text.
pub const READ_ONLY_DISALLOWED: [&str; 6] = [
    "AskUserQuestion",
    "Edit",
    "Write",
    "MultiEdit",
    "NotebookEdit",
    "Bash",
];

/// Settings for the Claude Code adapter.
#[derive(Debug, Clone)]
pub struct Claude {
    /// The `claude` executable.
    pub program: PathBuf,
    /// `--model`, when set: the default for issues that name none.
    pub model: Option<String>,
    /// `[agent.models]`: the model for each kind of issue that names none.
    pub models: BTreeMap<Kind, String>,
    /// `--effort` for issues that name none.
    pub effort: Option<Effort>,
    /// `--fallback-model`, comma-joined in order, when non-empty.
    pub fallback_models: Vec<String>,
    /// `--permission-mode` (`bypassPermissions`, `acceptEdits`, …).
    pub permission_mode: String,
    /// `--max-turns`, when set.
    pub max_turns: Option<u32>,
    /// `--allowedTools`, when non-empty.
    pub allowed_tools: Vec<String>,
    /// Extra arguments appended last.
    pub extra_args: Vec<String>,
    /// `--max-budget-usd` (`[budget] per_run_usd`), when set.
    pub max_budget_usd: Option<f64>,
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
            if req.read_only {
                "plan".into()
            } else {
                self.permission_mode.clone()
            },
            if req.read_only {
                format!("--disallowedTools={}", READ_ONLY_DISALLOWED.join(","))
            } else {
                "--disallowedTools=AskUserQuestion".into()
            },
        ];
        self.push_model_args(&mut args, &req.choice);
        if let Some(turns) = self.max_turns {
            args.push("--max-turns".into());
            args.push(turns.to_string());
        }
        if let Some(usd) = self.max_budget_usd {
            args.push("--max-budget-usd".into());
            args.push(usd.to_string());
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

    /// `--model`, `--fallback-model` and `--effort`, as far as they are set.
    fn push_model_args(&self, args: &mut Vec<String>, choice: &ModelChoice) {
        if let Some(model) = self.model_for(choice) {
            args.push("--model".into());
            args.push(model.to_string());
        }
        if !self.fallback_models.is_empty() {
            args.push(format!(
                "--fallback-model={}",
                self.fallback_models.join(",")
            ));
        }
        if let Some(effort) = choice.effort.or(self.effort) {
            args.push("--effort".into());
            args.push(effort.as_str().into());
        }
    }

    /// The arguments of an interactive `claude --resume`: the headless run's permission mode,
    /// model and effort (the issue's, see [`Claude::model_for`]), tools and extra arguments, without what only print mode takes (`-p`, the output
    /// format, `--max-turns`) and without hiding the question tool, as a person is there to
    /// answer.
    pub fn resume_args(&self, session: &str, choice: &ModelChoice) -> Vec<String> {
        let mut args = vec![
            "--resume".to_string(),
            session.to_string(),
            "--permission-mode".into(),
            self.permission_mode.clone(),
        ];
        self.push_model_args(&mut args, choice);
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

    fn parse_line_searchable(&self, line: &[u8]) -> (Vec<AgentEvent>, bool) {
        stream::parse_line_searchable(line)
    }

    fn interactive_args(&self, session: &str, choice: &ModelChoice) -> Option<Vec<String>> {
        Some(self.resume_args(session, choice))
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
            models: Default::default(),
            effort: None,
            fallback_models: Vec::new(),
            permission_mode: "acceptEdits".into(),
            max_turns: Some(5),
            allowed_tools: vec!["Write".into(), "Bash(cargo:*)".into()],
            extra_args: vec!["--foo".into()],
            max_budget_usd: Some(2.5),
        };
        let req = AgentRequest {
            prompt: "do it".into(),
            cwd: ".".into(),
            resume: Some("sid".into()),
            issue_id: 1,
            prompt_file: None,
            choice: Default::default(),
            read_only: false,
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
                "--max-budget-usd",
                "2.5",
                "--allowedTools=Write,Bash(cargo:*)",
                "--resume",
                "sid",
                "--foo"
            ]
        );
        // A planner's run goes without every tool that writes or runs, whatever is allowed.
        let planner = c.args(&AgentRequest {
            read_only: true,
            ..req.clone()
        });
        assert_eq!(planner[5], "plan");
        assert_eq!(
            planner[6],
            "--disallowedTools=AskUserQuestion,Edit,Write,MultiEdit,NotebookEdit,Bash"
        );
        assert_eq!(planner.len(), c.args(&req).len());
        assert!(c.resume_failed("No conversation found with session ID: sid", false));
        assert!(!c.resume_failed("No conversation found", true));
        // Interactively: the same permission mode, model, tools and extras; nothing of print
        // mode.
        assert_eq!(
            c.interactive_args("sid", &ModelChoice::default())
                .unwrap_or_default(),
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
        let generic = crate::runner::agent::plain_text();
        assert_eq!(
            generic.interactive_args("sid", &ModelChoice::default()),
            None
        );
    }

    #[test]
    fn the_issue_model_wins_over_its_kinds_which_wins_over_the_default() {
        let c = Claude {
            program: "claude".into(),
            model: Some("opus".into()),
            models: [(Kind::Bug, "sonnet".to_string())].into(),
            effort: Some(Effort::Medium),
            fallback_models: vec!["sonnet".into(), "haiku".into()],
            permission_mode: "acceptEdits".into(),
            max_turns: None,
            allowed_tools: Vec::new(),
            extra_args: Vec::new(),
            max_budget_usd: None,
        };
        let args = |model: Option<&str>, effort, kind| {
            let req = AgentRequest {
                prompt: String::new(),
                cwd: ".".into(),
                resume: None,
                issue_id: 1,
                prompt_file: None,
                choice: crate::runner::agent::ModelChoice {
                    model: model.map(String::from),
                    effort,
                    kind,
                },
                read_only: false,
            };
            c.args(&req)[7..].join(" ")
        };
        let tail = "--fallback-model=sonnet,haiku --effort";
        assert_eq!(
            args(Some("haiku"), Some(Effort::Max), Some(Kind::Bug)),
            format!("--model haiku {tail} max")
        );
        assert_eq!(
            args(None, None, Some(Kind::Bug)),
            format!("--model sonnet {tail} medium")
        );
        assert_eq!(
            args(None, Some(Effort::Xhigh), Some(Kind::Chore)),
            format!("--model opus {tail} xhigh")
        );
        // A reviewer's request names no kind: the default.
        assert_eq!(
            args(None, None, None),
            format!("--model opus {tail} medium")
        );
        // Continuing the session interactively keeps the issue's choice.
        let own = ModelChoice {
            model: None,
            effort: Some(Effort::Low),
            kind: Some(Kind::Bug),
        };
        assert_eq!(
            c.resume_args("sid", &own)[4..].join(" "),
            format!("--model sonnet {tail} low")
        );
        let bare = Claude {
            model: None,
            models: Default::default(),
            effort: None,
            fallback_models: Vec::new(),
            ..c.clone()
        };
        let req = AgentRequest {
            prompt: String::new(),
            cwd: ".".into(),
            resume: None,
            issue_id: 1,
            prompt_file: None,
            choice: Default::default(),
            read_only: false,
        };
        assert_eq!(bare.args(&req).len(), 7, "nothing configured adds nothing");
    }
}
