//! Claude Code's `stream-json` output, read into [`AgentEvent`]s.
//!
//! The stream is one JSON object per line; keys come in any order and new fields appear between
//! releases, so unknown fields and types are skipped and lines are switched on `type` /
//! `subtype`. Lines are decoded straight into typed fields: agent output can be hundreds of
//! thousands of lines, and building a JSON tree per line was the ingest's largest cost.

use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;

use super::super::{truncate, AgentEvent, AgentResult};
use super::usage::{result_usage, ModelUsage, Usage};

/// One stream-json line, as far as autopilot reads it. Decoded in one pass into typed fields
/// (unknown fields are skipped without building anything); the parts whose shape varies or
/// that are rarely needed (tool input, tool results, errors) are kept as raw JSON slices and
/// decoded only when used.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: Option<LineKind>,
    subtype: Option<String>,
    session_id: Option<String>,
    model: Option<String>,
    #[serde(rename = "permissionMode")]
    permission_mode: Option<String>,
    attempt: Option<i64>,
    max_retries: Option<i64>,
    error_status: Option<i64>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
    tool_name: Option<String>,
    #[serde(borrow)]
    message: Option<MessageField<'a>>,
    is_api_error_message: Option<bool>,
    is_error: Option<bool>,
    result: Option<String>,
    #[serde(borrow)]
    errors: Option<Vec<&'a RawValue>>,
    total_cost_usd: Option<f64>,
    num_turns: Option<i64>,
    duration_ms: Option<i64>,
    api_error_status: Option<i64>,
    permission_denials: Option<Vec<IgnoredAny>>,
    usage: Option<Usage>,
    #[serde(rename = "modelUsage")]
    model_usage: Option<BTreeMap<String, ModelUsage>>,
}

/// The line types autopilot acts on; anything else is valid but ignored.
#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum LineKind {
    System,
    Assistant,
    User,
    Result,
    #[serde(other)]
    Other,
}

/// `message` is an object in assistant and user lines and a string in permission denials.
enum MessageField<'a> {
    Text(String),
    Object(Message<'a>),
}

impl<'de: 'a, 'a> Deserialize<'de> for MessageField<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Field<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Field<'a> {
            type Value = MessageField<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a message object or text")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(MessageField::Text(s.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Message::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(MessageField::Object)
            }
        }
        d.deserialize_any(Field(PhantomData))
    }
}

#[derive(Deserialize)]
struct Message<'a> {
    id: Option<String>,
    model: Option<String>,
    usage: Option<Usage>,
    #[serde(borrow)]
    content: Option<Content<'a>>,
}

/// Message content: a list of blocks, or (in prompts echoed back) plain text.
enum Content<'a> {
    Text,
    Blocks(Vec<Block<'a>>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Blocks<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Blocks<'a> {
            type Value = Content<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of content blocks or text")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Content::Text)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(64));
                while let Some(block) = seq.next_element()? {
                    blocks.push(block);
                }
                Ok(Content::Blocks(blocks))
            }
        }
        d.deserialize_any(Blocks(PhantomData))
    }
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type")]
    kind: Option<BlockKind>,
    text: Option<String>,
    name: Option<String>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    is_error: Option<bool>,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum BlockKind {
    Text,
    ToolUse,
    ToolResult,
    #[serde(other)]
    Other,
}

/// A raw JSON value as text: strings decoded, anything else as its JSON.
fn raw_text(raw: &RawValue) -> String {
    serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_string())
}

/// Parses one line of Claude Code's stream-json output.
pub fn parse_line(line: &[u8]) -> Vec<AgentEvent> {
    parse_line_searchable(line).0
}

/// Parses one line, and says whether its events hold every word the line does: an assistant
/// message of text blocks only (its ids, model and usage are bookkeeping), whose
/// [`AgentEvent::Text`]s are then the line's searchable text without a second walk over
/// its JSON. Tool calls (summarised) and everything else say no.
pub fn parse_line_searchable(line: &[u8]) -> (Vec<AgentEvent>, bool) {
    // Validating first is much faster than the lossy walk, and almost every line is valid.
    match std::str::from_utf8(line) {
        Ok(valid) => parse_text(valid),
        // The index reads such a line as text, not as JSON.
        Err(_) => (parse_text(&String::from_utf8_lossy(line)).0, false),
    }
}

fn parse_text(text: &str) -> (Vec<AgentEvent>, bool) {
    match serde_json::from_str::<Line<'_>>(text) {
        Ok(Line { kind: None, .. }) => (vec![AgentEvent::Raw(text.to_owned())], false),
        Ok(parsed) => {
            let text_only = matches!(parsed.kind, Some(LineKind::Assistant))
                && parsed.error.is_none()
                && parsed.is_api_error_message != Some(true)
                && matches!(&parsed.message, Some(MessageField::Object(m))
                    if matches!(&m.content, Some(Content::Blocks(b))
                        if !b.is_empty() && b.iter().all(|b| b.kind == Some(BlockKind::Text))));
            (events_of(parsed), text_only)
        }
        Err(_) if text.trim().is_empty() => (Vec::new(), false),
        // A shape this parser does not know (a field of another type): still an agent event
        // if it is a JSON object with a type, shown as text otherwise.
        Err(_) => (
            match serde_json::from_str::<Value>(text) {
                Ok(v) if v.get("type").is_some_and(Value::is_string) => vec![AgentEvent::Ignored],
                _ => vec![AgentEvent::Raw(text.to_owned())],
            },
            false,
        ),
    }
}

fn events_of(line: Line<'_>) -> Vec<AgentEvent> {
    match line.kind {
        Some(LineKind::System) => vec![match line.subtype.as_deref() {
            Some("init") => AgentEvent::Init {
                session_id: line.session_id.unwrap_or_default(),
                model: line.model,
                permission_mode: line.permission_mode,
            },
            Some("api_retry") => AgentEvent::Retry {
                attempt: line.attempt.unwrap_or(0),
                max_retries: line.max_retries.unwrap_or(0),
                error: format!(
                    "{} {}",
                    line.error_status.map(|s| s.to_string()).unwrap_or_default(),
                    line.error.map(raw_text).unwrap_or_default()
                )
                .trim()
                .to_string(),
            },
            Some("permission_denied") => AgentEvent::PermissionDenied {
                tool: line.tool_name.unwrap_or_default(),
                message: match line.message {
                    Some(MessageField::Text(t)) => t,
                    _ => String::new(),
                },
            },
            _ => AgentEvent::Ignored,
        }],
        Some(LineKind::Assistant) => {
            let is_api_error = line.is_api_error_message == Some(true) || line.error.is_some();
            match line.message {
                Some(MessageField::Object(m)) => assistant_events(m, is_api_error),
                _ => vec![AgentEvent::Ignored],
            }
        }
        Some(LineKind::User) => match line.message {
            Some(MessageField::Object(m)) => tool_results(m),
            _ => vec![AgentEvent::Ignored],
        },
        Some(LineKind::Result) => {
            vec![AgentEvent::Result(AgentResult {
                is_error: line.is_error.unwrap_or(false),
                subtype: line.subtype.unwrap_or_default(),
                text: line.result,
                errors: line
                    .errors
                    .unwrap_or_default()
                    .into_iter()
                    .map(raw_text)
                    .collect(),
                cost_usd: line.total_cost_usd,
                turns: line.num_turns,
                duration_ms: line.duration_ms,
                session_id: line.session_id,
                api_error_status: line.api_error_status,
                permission_denials: line.permission_denials.map_or(0, |d| d.len()),
                usage: result_usage(line.usage.as_ref(), line.model_usage.as_ref()),
            })]
        }
        Some(LineKind::Other) | None => vec![AgentEvent::Ignored],
    }
}

fn blocks(message: Message<'_>) -> Vec<Block<'_>> {
    match message.content {
        Some(Content::Blocks(b)) => b,
        Some(Content::Text) | None => Vec::new(),
    }
}

fn assistant_events(message: Message<'_>, is_api_error: bool) -> Vec<AgentEvent> {
    let message_id = message.id.clone();
    let mut out = Vec::with_capacity(2);
    if let Some(usage) = &message.usage {
        out.push(AgentEvent::Usage {
            message_id: message_id.clone(),
            model: message.model.clone(),
            tokens: usage.tokens(),
        });
    }
    for block in blocks(message) {
        match block.kind {
            Some(BlockKind::Text) => {
                let text = block.text.unwrap_or_default();
                out.push(if is_api_error {
                    AgentEvent::ApiError(text)
                } else {
                    AgentEvent::Text {
                        message_id: message_id.clone(),
                        text,
                    }
                });
            }
            Some(BlockKind::ToolUse) => {
                let name = block.name.unwrap_or_else(|| "tool".into());
                let input = block
                    .input
                    .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
                    .unwrap_or(Value::Null);
                out.push(AgentEvent::ToolUse {
                    message_id: message_id.clone(),
                    summary: tool_summary(&name, &input),
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

fn tool_results(message: Message<'_>) -> Vec<AgentEvent> {
    let mut out = Vec::new();
    for block in blocks(message) {
        match block.kind {
            Some(BlockKind::ToolResult) => {
                let content = block
                    .content
                    .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok());
                let text = match content {
                    Some(Value::String(s)) => s,
                    Some(Value::Array(parts)) => parts
                        .iter()
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => String::new(),
                };
                out.push(AgentEvent::ToolResult {
                    text,
                    is_error: block.is_error.unwrap_or(false),
                });
            }
            Some(BlockKind::Text) => out.push(AgentEvent::Raw(block.text.unwrap_or_default())),
            _ => {}
        }
    }
    if out.is_empty() {
        out.push(AgentEvent::Ignored);
    }
    out
}

#[cfg(test)]
#[path = "search_text_tests.rs"]
mod search_text_tests;

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
    fn every_field_shape_the_stream_uses_is_read() {
        let denied = parse_line(
            br#"{"type":"system","subtype":"permission_denied","tool_name":"Bash","message":"not allowed"}"#,
        );
        assert_eq!(
            denied,
            [AgentEvent::PermissionDenied {
                tool: "Bash".into(),
                message: "not allowed".into()
            }]
        );
        let retry = parse_line(
            br#"{"type":"system","subtype":"api_retry","attempt":2,"max_retries":10,"error_status":529,"error":"overloaded"}"#,
        );
        assert_eq!(
            retry,
            [AgentEvent::Retry {
                attempt: 2,
                max_retries: 10,
                error: "529 overloaded".into()
            }]
        );
        // An `error` object on an assistant line marks its text as the API error.
        let api = parse_line(
            br#"{"type":"assistant","error":{"type":"rate_limit"},"message":{"id":"m","content":[{"type":"text","text":"API Error: 429"}]}}"#,
        );
        assert_eq!(api, [AgentEvent::ApiError("API Error: 429".into())]);
        // Escapes, a thinking block and unknown fields of any type are taken in stride.
        let text = parse_line(
            br#"{"type":"assistant","future":[1,{"a":null}],"message":{"id":"m\u0031","content":[{"type":"thinking","thinking":"hm","signature":"x"},{"type":"text","text":"a\n\"b\" \u00e9"}]}}"#,
        );
        assert_eq!(
            text,
            [AgentEvent::Text {
                message_id: Some("m1".into()),
                text: "a\n\"b\" \u{e9}".into()
            }]
        );
        // Results list errors as strings or objects; prompts echoed back are plain text.
        let r = parse_line(
            br#"{"type":"result","subtype":"error_during_execution","is_error":true,"errors":["x",{"code":1}],"permission_denials":[{},{}]}"#,
        );
        assert!(
            matches!(&r[0], AgentEvent::Result(r) if r.errors == ["x", r#"{"code":1}"#] && r.permission_denials == 2)
        );
        assert_eq!(
            parse_line(br#"{"type":"user","message":{"role":"user","content":"the prompt"}}"#),
            [AgentEvent::Ignored]
        );
        let tool = parse_line(
            br#"{"type":"user","message":{"content":[{"type":"tool_result","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"is_error":true}]}}"#,
        );
        assert_eq!(
            tool,
            [AgentEvent::ToolResult {
                text: "a\nb".into(),
                is_error: true
            }]
        );
        // Invalid UTF-8 inside a string is replaced, the rest of the line still counts.
        let mut line =
            br#"{"type":"assistant","message":{"id":"m","content":[{"type":"text","text":"x"#
                .to_vec();
        line.extend_from_slice(&[0xff, b'"', b'}', b']', b'}', b'}']);
        assert_eq!(
            parse_line(&line),
            [AgentEvent::Text {
                message_id: Some("m".into()),
                text: "x\u{fffd}".into()
            }]
        );
        // A known type whose fields have another shape is ignored, not mistaken for text.
        assert_eq!(
            parse_line(br#"{"type":"result","num_turns":"many"}"#),
            [AgentEvent::Ignored]
        );
        assert_eq!(
            parse_line(br#"{"type":"assistant","type":"user"}"#),
            [AgentEvent::Ignored]
        );
    }
}
