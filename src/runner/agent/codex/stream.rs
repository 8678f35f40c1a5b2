//! `codex exec --json` output, read into [`AgentEvent`]s.
//!
//! One JSON object per line: `thread.started` (the thread id, which `codex exec resume` takes),
//! `turn.started`, `item.started` / `item.updated` / `item.completed` (an `item` with a `type`:
//! `agent_message`, `reasoning`, `command_execution`, `file_change`, `mcp_tool_call`,
//! `web_search`, `todo_list`, `error`), `turn.completed` with the turn's usage, `turn.failed`
//! with its error, and `error` for a stream error. Unknown types and fields are skipped: new
//! ones appear between releases. tests/fixtures/codex-exec-json/README.md describes the schema.

use serde::Deserialize;
use serde_json::Value;

use super::super::{truncate, AgentEvent, AgentResult};
use crate::domain::{RunUsage, Tokens};

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: Option<String>,
    thread_id: Option<String>,
    item: Option<Item>,
    usage: Option<Usage>,
    error: Option<ErrorField>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    message: Option<String>,
    command: Option<String>,
    aggregated_output: Option<String>,
    exit_code: Option<i64>,
    status: Option<String>,
    changes: Option<Vec<Change>>,
    server: Option<String>,
    tool: Option<String>,
    arguments: Option<Value>,
    result: Option<Value>,
    error: Option<ErrorField>,
    query: Option<String>,
    items: Option<Vec<Todo>>,
}

#[derive(Deserialize)]
struct Change {
    path: Option<String>,
    kind: Option<Value>,
}

#[derive(Deserialize)]
struct Todo {
    text: Option<String>,
    completed: Option<bool>,
}

/// Codex's turn usage: `input_tokens` includes the cached part.
#[derive(Deserialize)]
struct Usage {
    input_tokens: Option<i64>,
    cached_input_tokens: Option<i64>,
    cache_write_input_tokens: Option<i64>,
    output_tokens: Option<i64>,
}

impl Usage {
    fn tokens(&self) -> Tokens {
        let input = self.input_tokens.unwrap_or(0).max(0);
        let cached = self.cached_input_tokens.unwrap_or(0).clamp(0, input);
        Tokens {
            input: input - cached,
            output: self.output_tokens.unwrap_or(0).max(0),
            cache_read: cached,
            cache_write: self.cache_write_input_tokens.unwrap_or(0).max(0),
        }
    }
}

/// An error is `{"message": …}` in some places and a bare string in others.
#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    Object { message: Option<String> },
    Text(String),
}

impl ErrorField {
    fn text(self) -> String {
        match self {
            ErrorField::Object { message } => message.unwrap_or_default(),
            ErrorField::Text(t) => t,
        }
    }
}

/// Parses one line of `codex exec --json` output. `model` is the one the run was started
/// with, reported with the session (Codex's events do not name it) so usage can be priced.
pub fn parse_line(line: &[u8], model: Option<&str>) -> Vec<AgentEvent> {
    let text = String::from_utf8_lossy(line);
    if text.trim().is_empty() {
        return Vec::new();
    }
    let parsed = match serde_json::from_str::<Line>(&text) {
        Ok(Line { kind: None, .. }) => return vec![AgentEvent::Raw(text.into_owned())],
        Ok(parsed) => parsed,
        Err(_) => {
            return match serde_json::from_str::<Value>(&text) {
                Ok(v) if v.get("type").is_some_and(Value::is_string) => vec![AgentEvent::Ignored],
                _ => vec![AgentEvent::Raw(text.into_owned())],
            }
        }
    };
    let kind = parsed.kind.as_deref().unwrap_or("");
    match kind {
        "thread.started" => vec![AgentEvent::Init {
            session_id: parsed.thread_id.unwrap_or_default(),
            model: model.map(String::from),
            permission_mode: None,
        }],
        "item.started" | "item.updated" | "item.completed" => match parsed.item {
            Some(item) => item_events(kind, item),
            None => vec![AgentEvent::Ignored],
        },
        "turn.completed" => {
            let tokens = parsed.usage.as_ref().map(Usage::tokens);
            let mut out = Vec::with_capacity(2);
            if let Some(tokens) = tokens {
                out.push(AgentEvent::Usage {
                    message_id: None,
                    model: model.map(String::from),
                    tokens,
                });
            }
            out.push(AgentEvent::Result(AgentResult {
                subtype: "success".into(),
                usage: tokens.map(|t| {
                    Box::new(RunUsage {
                        tokens: Some(t),
                        model: model.map(String::from),
                        by_model: Vec::new(),
                    })
                }),
                ..AgentResult::default()
            }));
            out
        }
        "turn.failed" => {
            let message = parsed.error.map(ErrorField::text).unwrap_or_default();
            vec![AgentEvent::Result(AgentResult {
                is_error: true,
                subtype: "turn_failed".into(),
                api_error_status: http_status(&message),
                errors: vec![message],
                ..AgentResult::default()
            })]
        }
        "error" => vec![AgentEvent::ApiError(
            parsed
                .message
                .or(parsed.error.map(ErrorField::text))
                .unwrap_or_default(),
        )],
        _ => vec![AgentEvent::Ignored],
    }
}

/// The HTTP status an error message names (`exceeded retry limit, last status: 429 Too Many
/// Requests`, `unexpected status 429 …`).
fn http_status(message: &str) -> Option<i64> {
    let rest = message[message.find("status")? + 6..].trim_start_matches([':', ' ']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 3).then(|| digits.parse().ok()).flatten()
}

fn item_events(phase: &str, item: Item) -> Vec<AgentEvent> {
    let started = phase == "item.started";
    let completed = phase == "item.completed";
    let failed = item.status.as_deref() == Some("failed");
    let event = match item.kind.as_deref().unwrap_or("") {
        "agent_message" if completed => AgentEvent::Text {
            message_id: item.id,
            text: item.text.unwrap_or_default(),
        },
        "command_execution" if started => AgentEvent::ToolUse {
            message_id: None,
            name: "Bash".into(),
            summary: first_line(item.command.as_deref().unwrap_or_default()),
        },
        "command_execution" if completed => AgentEvent::ToolResult {
            text: item.aggregated_output.unwrap_or_default(),
            is_error: failed || item.exit_code.is_some_and(|c| c != 0),
        },
        "file_change" if completed => AgentEvent::ToolUse {
            message_id: None,
            name: if failed { "Patch failed" } else { "Patch" }.into(),
            summary: changes_summary(item.changes.unwrap_or_default()),
        },
        "mcp_tool_call" if started => AgentEvent::ToolUse {
            message_id: None,
            name: format!(
                "{}.{}",
                item.server.unwrap_or_default(),
                item.tool.unwrap_or_default()
            ),
            summary: item
                .arguments
                .map(|a| truncate(&a.to_string(), 160))
                .unwrap_or_default(),
        },
        "mcp_tool_call" if completed => match item.error {
            Some(e) => AgentEvent::ToolResult {
                text: e.text(),
                is_error: true,
            },
            None => AgentEvent::ToolResult {
                text: item.result.map(|r| r.to_string()).unwrap_or_default(),
                is_error: failed,
            },
        },
        "web_search" if completed => AgentEvent::ToolUse {
            message_id: None,
            name: "WebSearch".into(),
            summary: item.query.unwrap_or_default(),
        },
        "todo_list" if !started || item.items.is_some() => AgentEvent::ToolUse {
            message_id: None,
            name: "Plan".into(),
            summary: todo_summary(item.items.unwrap_or_default()),
        },
        // A warning the turn goes on after (an unknown model, a config problem): shown, but
        // not an API error, which would be taken for the reason a failed turn failed.
        "error" if completed => AgentEvent::Raw(format!("⚠ {}", item.message.unwrap_or_default())),
        _ => AgentEvent::Ignored,
    };
    vec![event]
}

fn first_line(text: &str) -> String {
    truncate(text.lines().next().unwrap_or(""), 160)
}

fn changes_summary(changes: Vec<Change>) -> String {
    let parts: Vec<String> = changes
        .into_iter()
        .map(|c| {
            let kind = match c.kind {
                Some(Value::String(s)) => s,
                Some(Value::Object(o)) => o
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("update")
                    .to_string(),
                _ => "update".into(),
            };
            format!("{kind} {}", c.path.unwrap_or_default())
        })
        .collect();
    truncate(&parts.join(", "), 160)
}

fn todo_summary(items: Vec<Todo>) -> String {
    let done = items.iter().filter(|t| t.completed == Some(true)).count();
    let next = items
        .iter()
        .find(|t| t.completed != Some(true))
        .and_then(|t| t.text.as_deref())
        .map(|t| format!(": {}", first_line(t)))
        .unwrap_or_default();
    format!("{done}/{} done{next}", items.len())
}
