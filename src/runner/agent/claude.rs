//! Claude Code headless: `claude -p <prompt> --output-format stream-json --verbose`.
//!
//! The stream is one JSON object per line; keys come in any order and new fields appear between
//! releases, so lines are read as loose JSON and switched on `type` / `subtype`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use super::{truncate, Adapter, AgentEvent, AgentRequest, AgentResult};

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
        // The prompt is the positional argument right after -p: a variadic flag such as
        // --disallowedTools placed before it would swallow it, so those use the `=` form.
        let mut args = vec![
            "-p".to_string(),
            req.prompt.clone(),
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

impl Adapter for Claude {
    fn name(&self) -> &'static str {
        "claude"
    }

    fn program(&self) -> &Path {
        &self.program
    }

    fn command(&self, req: &AgentRequest) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(self.args(req))
            .current_dir(&req.cwd)
            .stdin(Stdio::null());
        cmd
    }

    fn parse_line(&self, line: &[u8]) -> Vec<AgentEvent> {
        parse_line(line)
    }

    fn resume_failed(&self, stderr: &str, saw_init: bool) -> bool {
        !saw_init && stderr.contains("No conversation found")
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Parses one line of Claude Code's stream-json output.
pub fn parse_line(line: &[u8]) -> Vec<AgentEvent> {
    let text = String::from_utf8_lossy(line);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    let Ok(v) = serde_json::from_str::<Value>(trimmed) else {
        return vec![AgentEvent::Raw(text.into_owned())];
    };
    let Some(kind) = v.get("type").and_then(Value::as_str) else {
        return vec![AgentEvent::Raw(text.into_owned())];
    };
    match kind {
        "system" => match v.get("subtype").and_then(Value::as_str) {
            Some("init") => vec![AgentEvent::Init {
                session_id: str_field(&v, "session_id").unwrap_or_default(),
                model: str_field(&v, "model"),
                permission_mode: str_field(&v, "permissionMode"),
            }],
            Some("api_retry") => vec![AgentEvent::Retry {
                attempt: v.get("attempt").and_then(Value::as_i64).unwrap_or(0),
                max_retries: v.get("max_retries").and_then(Value::as_i64).unwrap_or(0),
                error: format!(
                    "{} {}",
                    v.get("error_status")
                        .and_then(Value::as_i64)
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    str_field(&v, "error").unwrap_or_default()
                )
                .trim()
                .to_string(),
            }],
            Some("permission_denied") => vec![AgentEvent::PermissionDenied {
                tool: str_field(&v, "tool_name").unwrap_or_default(),
                message: str_field(&v, "message").unwrap_or_default(),
            }],
            _ => vec![AgentEvent::Ignored],
        },
        "assistant" => parse_assistant(&v),
        "user" => parse_tool_results(&v),
        "result" => vec![AgentEvent::Result(parse_result(&v))],
        _ => vec![AgentEvent::Ignored],
    }
}

fn parse_assistant(v: &Value) -> Vec<AgentEvent> {
    let message = v.get("message").unwrap_or(&Value::Null);
    let message_id = str_field(message, "id");
    let blocks = message.get("content").and_then(Value::as_array);
    let is_api_error = v.get("is_api_error_message").and_then(Value::as_bool) == Some(true)
        || v.get("error").is_some_and(|e| !e.is_null());
    let mut out = Vec::new();
    for block in blocks.into_iter().flatten() {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let text = str_field(block, "text").unwrap_or_default();
                if is_api_error {
                    out.push(AgentEvent::ApiError(text));
                } else {
                    out.push(AgentEvent::Text {
                        message_id: message_id.clone(),
                        text,
                    });
                }
            }
            Some("tool_use") => {
                let name = str_field(block, "name").unwrap_or_else(|| "tool".into());
                let input = block.get("input").unwrap_or(&Value::Null);
                out.push(AgentEvent::ToolUse {
                    message_id: message_id.clone(),
                    summary: tool_summary(&name, input),
                    name,
                });
            }
            _ => {}
        }
    }
    if out.is_empty() {
        out.push(AgentEvent::Ignored);
    }
    out
}

/// A one-line description of a tool call (`src/main.rs`, `cargo test`).
pub fn tool_summary(name: &str, input: &Value) -> String {
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| input.get(*k).and_then(Value::as_str))
            .map(|s| s.lines().next().unwrap_or("").to_string())
    };
    let summary = match name {
        "Bash" => pick(&["command"]),
        "Edit" | "Write" | "Read" | "MultiEdit" | "NotebookEdit" => {
            pick(&["file_path", "notebook_path", "path"])
        }
        "Grep" | "Glob" => pick(&["pattern"]),
        "WebFetch" => pick(&["url"]),
        "WebSearch" => pick(&["query"]),
        "Task" | "Agent" => pick(&["description", "prompt"]),
        _ => None,
    };
    let summary = summary.unwrap_or_else(|| match input {
        Value::Null => String::new(),
        other => other.to_string(),
    });
    truncate(&summary, 160)
}

fn parse_tool_results(v: &Value) -> Vec<AgentEvent> {
    let blocks = v
        .get("message")
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array);
    let mut out = Vec::new();
    for block in blocks.into_iter().flatten() {
        match block.get("type").and_then(Value::as_str) {
            Some("tool_result") => {
                let text = match block.get("content") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(parts)) => parts
                        .iter()
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => String::new(),
                };
                out.push(AgentEvent::ToolResult {
                    text,
                    is_error: block
                        .get("is_error")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                });
            }
            Some("text") => out.push(AgentEvent::Raw(
                str_field(block, "text").unwrap_or_default(),
            )),
            _ => {}
        }
    }
    if out.is_empty() {
        out.push(AgentEvent::Ignored);
    }
    out
}

fn parse_result(v: &Value) -> AgentResult {
    AgentResult {
        is_error: v.get("is_error").and_then(Value::as_bool).unwrap_or(false),
        subtype: str_field(v, "subtype").unwrap_or_default(),
        text: str_field(v, "result"),
        errors: v
            .get("errors")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        cost_usd: v.get("total_cost_usd").and_then(Value::as_f64),
        turns: v.get("num_turns").and_then(Value::as_i64),
        duration_ms: v.get("duration_ms").and_then(Value::as_i64),
        session_id: str_field(v, "session_id"),
        api_error_status: v.get("api_error_status").and_then(Value::as_i64),
        permission_denials: v
            .get("permission_denials")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<AgentEvent> {
        let path = format!(
            "{}/tests/fixtures/claude-stream-json/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        data.split(|b| *b == b'\n').flat_map(parse_line).collect()
    }

    fn result(events: &[AgentEvent]) -> &AgentResult {
        match events.last() {
            Some(AgentEvent::Result(r)) => r,
            other => panic!("last event is not a result: {other:?}"),
        }
    }

    #[test]
    fn implement_transcript() {
        let ev = fixture("implement.jsonl");
        assert!(
            matches!(&ev[0], AgentEvent::Init { session_id, permission_mode, .. }
            if session_id == "062e0f85-25fa-426a-8285-726f28fd0e90" && permission_mode.is_some())
        );
        assert!(ev.contains(&AgentEvent::ToolUse {
            message_id: Some("msg_01CfPPXCpyhoqZiTTemqt6h1".into()),
            name: "Write".into(),
            summary: "/repo/hello.txt".into()
        }));
        assert!(ev.iter().any(|e| matches!(e, AgentEvent::ToolResult { text, is_error: false } if text.starts_with("File created"))));
        let r = result(&ev);
        assert!(!r.is_error);
        assert_eq!(r.subtype, "success");
        assert_eq!(r.text.as_deref(), Some("Implemented hello.txt."));
        assert_eq!(r.cost_usd, Some(0.102688));
        assert_eq!(r.turns, Some(2));
        assert!(!ev.iter().any(|e| matches!(e, AgentEvent::Raw(_))));
    }

    #[test]
    fn blocked_transcript() {
        let ev = fixture("blocked.jsonl");
        assert!(ev.iter().any(|e| matches!(e, AgentEvent::Text { text, .. }
            if text == "BLOCKED: Which database should the cache use, Redis or Postgres?")));
        assert!(!result(&ev).is_error);
    }

    #[test]
    fn error_transcript_is_an_error_despite_success_subtype() {
        let ev = fixture("error.jsonl");
        let retries = ev
            .iter()
            .filter(|e| matches!(e, AgentEvent::Retry { .. }))
            .count();
        assert_eq!(retries, 2);
        assert!(ev
            .iter()
            .any(|e| matches!(e, AgentEvent::ApiError(t) if t.contains("500"))));
        let r = result(&ev);
        assert!(r.is_error);
        assert_eq!(r.subtype, "success");
        assert_eq!(r.cost_usd, Some(0.0));
    }

    #[test]
    fn bash_and_slow_transcripts() {
        let ev = fixture("bash.jsonl");
        assert!(ev.iter().any(|e| matches!(e, AgentEvent::ToolUse { name, summary, .. } if name == "Bash" && summary.starts_with("echo bash-ok"))));
        assert!(ev.iter().any(
            |e| matches!(e, AgentEvent::ToolResult { text, is_error: false } if text == "bash-ok")
        ));
        let ev = fixture("slow.jsonl");
        let texts: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                AgentEvent::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["line 1", "line 2", "line 3", "line 4", "line 5"]);
        assert_eq!(result(&ev).text.as_deref(), Some("line 5"));
    }

    #[test]
    fn malformed_lines_are_kept_raw() {
        assert_eq!(
            parse_line(b"not json"),
            vec![AgentEvent::Raw("not json".into())]
        );
        assert!(matches!(
            &parse_line(&[0xff, 0xfe, b'{'])[0],
            AgentEvent::Raw(_)
        ));
        assert!(matches!(&parse_line(b"[1,2]")[0], AgentEvent::Raw(_)));
        assert_eq!(
            parse_line(b"{\"type\":\"future_thing\"}"),
            vec![AgentEvent::Ignored]
        );
        assert!(parse_line(b"   ").is_empty());
        // max-turns results carry errors and no result text
        let r = parse_line(br#"{"type":"result","subtype":"error_max_turns","is_error":true,"errors":["max turns"]}"#);
        assert!(
            matches!(&r[0], AgentEvent::Result(r) if r.is_error && r.text.is_none() && r.errors == ["max turns"])
        );
    }

    #[test]
    fn args_keep_the_prompt_positional_and_resume_last() {
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
        };
        assert_eq!(
            c.args(&req),
            [
                "-p",
                "do it",
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
    }
}
