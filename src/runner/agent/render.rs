//! The default rendering of agent events into pane lines. Adapters own how their output is
//! shown ([`super::Adapter::display`]); most use this one, so live panes, the transcript view
//! and `log` look alike for every agent that reports the same events.

use super::{truncate, AgentEvent};
use crate::domain::sanitize::{sanitize, strip_all};

/// What a pane line shows, so views can style it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// The agent's words.
    Text,
    /// A tool call (`Edit src/x.rs`).
    Tool,
    /// A tool's (trimmed) output.
    ToolOutput,
    /// A failed tool call or an API error.
    Error,
    /// Session start, retries, the closing summary.
    Meta,
    /// Output that was not in the expected format.
    Raw,
}

/// One display line of agent output: sanitized (only SGR colour escapes remain), no newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaneLine {
    /// What it is.
    pub kind: LineKind,
    /// The text; may hold SGR escapes, never any other control sequence.
    pub text: String,
}

/// Longest tool output shown in a pane, in lines (the transcript keeps all of it).
const TOOL_OUTPUT_LINES: usize = 6;
/// Longest single display line, in characters.
const MAX_LINE_CHARS: usize = 2_000;

fn push_lines(out: &mut Vec<PaneLine>, kind: LineKind, text: &str, max_lines: usize) {
    let safe = sanitize(text);
    let mut lines = safe.lines();
    for line in lines.by_ref().take(max_lines) {
        out.push(PaneLine {
            kind,
            text: truncate(line, MAX_LINE_CHARS),
        });
    }
    let more = lines.count();
    if more > 0 {
        out.push(PaneLine {
            kind: LineKind::Meta,
            text: format!("  … {more} more lines"),
        });
    }
}

/// Renders one parsed agent event as display lines.
pub fn display_lines(event: &AgentEvent) -> Vec<PaneLine> {
    let mut out = Vec::new();
    match event {
        AgentEvent::Init {
            session_id, model, ..
        } => out.push(PaneLine {
            kind: LineKind::Meta,
            text: format!(
                "● session {} {}",
                strip_all(&truncate(session_id, 40)),
                model.as_deref().map(strip_all).unwrap_or_default()
            )
            .trim_end()
            .to_string(),
        }),
        AgentEvent::Text { text, .. } => push_lines(&mut out, LineKind::Text, text, usize::MAX),
        AgentEvent::ToolUse { name, summary, .. } => out.push(PaneLine {
            kind: LineKind::Tool,
            text: format!("▸ {} {}", strip_all(name), strip_all(summary)),
        }),
        AgentEvent::ToolResult { text, is_error } => {
            let kind = if *is_error {
                LineKind::Error
            } else {
                LineKind::ToolOutput
            };
            let indented: String = text.lines().map(|l| format!("  {l}\n")).collect();
            push_lines(&mut out, kind, &indented, TOOL_OUTPUT_LINES);
        }
        AgentEvent::Retry {
            attempt,
            max_retries,
            error,
        } => out.push(PaneLine {
            kind: LineKind::Error,
            text: format!("↻ API retry {attempt}/{max_retries}: {}", strip_all(error)),
        }),
        AgentEvent::ApiError(text) => push_lines(&mut out, LineKind::Error, text, 10),
        AgentEvent::PermissionDenied { tool, message } => out.push(PaneLine {
            kind: LineKind::Error,
            text: format!("✗ {} denied: {}", strip_all(tool), strip_all(message)),
        }),
        AgentEvent::Result(r) => {
            let cost = r
                .cost_usd
                .map(|c| format!(" · ${c:.4}"))
                .unwrap_or_default();
            let turns = r.turns.map(|t| format!(" · {t} turns")).unwrap_or_default();
            let status = if r.is_error {
                "✗ failed"
            } else {
                "✓ finished"
            };
            out.push(PaneLine {
                kind: if r.is_error {
                    LineKind::Error
                } else {
                    LineKind::Meta
                },
                text: format!("{status} ({}){cost}{turns}", strip_all(&r.subtype)),
            });
            for e in &r.errors {
                push_lines(&mut out, LineKind::Error, e, 5);
            }
        }
        AgentEvent::Ignored | AgentEvent::Usage { .. } => {}
        AgentEvent::Raw(text) => push_lines(&mut out, LineKind::Raw, text, 50),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_never_survive_into_display_lines() {
        let ev = AgentEvent::ToolResult {
            text: "\u{1b}]52;c;Zm9v\u{7}\u{1b}[31mred\u{1b}[0m\n\u{1b}[2Jx".into(),
            is_error: false,
        };
        let lines = display_lines(&ev);
        assert_eq!(lines[0].text, "  \u{1b}[31mred\u{1b}[0m");
        assert_eq!(lines[1].text, "  x");
    }

    #[test]
    fn long_tool_output_is_trimmed_with_a_count() {
        let text: String = (0..20).map(|i| format!("l{i}\n")).collect();
        let lines = display_lines(&AgentEvent::ToolResult {
            text,
            is_error: false,
        });
        assert_eq!(lines.len(), TOOL_OUTPUT_LINES + 1);
        assert_eq!(
            lines.last().map(|l| l.text.as_str()),
            Some("  … 14 more lines")
        );
    }

    #[test]
    fn tool_calls_are_summarised() {
        let lines = display_lines(&AgentEvent::ToolUse {
            message_id: None,
            name: "Bash".into(),
            summary: "cargo test".into(),
        });
        assert_eq!(
            lines,
            vec![PaneLine {
                kind: LineKind::Tool,
                text: "▸ Bash cargo test".into()
            }]
        );
    }
}
