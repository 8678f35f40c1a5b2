//! The searchable text of one stored transcript line: what a reader would look for (the
//! agent's words, tool calls and their results, errors), not the JSON around it.
//!
//! Agents print either JSON events (Claude Code's stream-json) or plain text. Of a JSON object
//! only the members that carry words are read (`message`, `result`, `error`, `content`, …: the
//! init line's tool and plugin lists, usage and ids are not), and inside them every string but
//! those under keys that only name or identify things (`type`, ids, the model, hidden
//! thinking). A plain line is taken as it is. The store indexes transcripts of every agent with
//! this one function, without knowing their formats, which live in the runner.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::sanitize::{sanitize, strip_all};

/// Members of a line's JSON object that carry what the agent said, ran, read or hit.
const WORD_KEYS: &[&str] = &[
    "message",
    "result",
    "error",
    "errors",
    "content",
    "text",
    "tool_name",
    "output",
];

/// Keys inside those whose values are bookkeeping, never something a person searches for.
const SKIPPED_KEYS: &[&str] = &[
    "type",
    "subtype",
    "id",
    "uuid",
    "session_id",
    "parent_tool_use_id",
    "tool_use_id",
    "request_id",
    "signature",
    "thinking",
    "role",
    "model",
    "stop_reason",
    "stop_sequence",
    "usage",
    "context_management",
    "container",
    "timestamp",
];

/// Most text one line adds to the index: a line may be megabytes (a whole file read back),
/// and the index is for finding, not for keeping.
pub const MAX_LINE_TEXT: usize = 64 * 1024;

/// Appends the searchable text of `line` to `out`, separated from what is there by a newline.
/// Control characters and escape sequences never reach `out`.
pub fn push_search_text(line: &[u8], out: &mut String) {
    let start = out.len();
    if !out.is_empty() {
        out.push('\n');
    }
    let sep_end = out.len();
    if line.first() == Some(&b'{') {
        let mut de = serde_json::Deserializer::from_slice(line);
        let end = sep_end + MAX_LINE_TEXT;
        if (Collect {
            out,
            top: true,
            end,
        })
        .deserialize(&mut de)
        .is_ok()
        {
            finish(out, start, sep_end);
            return;
        }
        out.truncate(sep_end);
    }
    out.push_str(&String::from_utf8_lossy(
        &line[..line.len().min(MAX_LINE_TEXT)],
    ));
    finish(out, start, sep_end);
}

/// Appends `parts` (strings a parser already decoded from one line) to `out` as
/// [`push_search_text`] would have appended that line's text: one part per line, empty ones
/// skipped, capped at [`MAX_LINE_TEXT`], made terminal-safe. Lets an adapter that kept every
/// wordy string of a line skip the second walk over its JSON.
pub fn push_search_parts<'p>(parts: impl IntoIterator<Item = &'p str>, out: &mut String) {
    let start = out.len();
    if !out.is_empty() {
        out.push('\n');
    }
    let sep_end = out.len();
    let mut collect = Collect {
        out,
        top: false,
        end: sep_end + MAX_LINE_TEXT,
    };
    for part in parts {
        collect.push(part);
    }
    finish(out, start, sep_end);
}

/// Makes what was appended terminal-safe and drops a separator that separates nothing.
fn finish(out: &mut String, start: usize, sep_end: usize) {
    let added = &out[sep_end..];
    if added.is_empty() {
        out.truncate(start);
        return;
    }
    // Nearly every line is plain already: checked without copying it.
    if matches!(sanitize(added), Cow::Borrowed(_)) {
        return;
    }
    let safe = strip_all(added);
    if safe != added {
        out.truncate(sep_end);
        out.push_str(&safe);
    }
}

/// Walks a JSON value, appending its wordy strings to `out`, one per line.
struct Collect<'o> {
    out: &'o mut String,
    /// Whether this is the line's own value (whose object members are picked by `WORD_KEYS`).
    top: bool,
    /// Where the line's text must stop in `out` ([`MAX_LINE_TEXT`]).
    end: usize,
}

impl Collect<'_> {
    fn push(&mut self, s: &str) {
        if s.is_empty() || self.out.len() >= self.end {
            return;
        }
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        let mut take = s.len().min(self.end.saturating_sub(self.out.len()));
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.out.push_str(&s[..take]);
    }
}

impl<'de> DeserializeSeed<'de> for Collect<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Collect<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: serde::de::Error>(mut self, s: &str) -> Result<(), E> {
        self.push(s);
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Collect {
                out: &mut *self.out,
                top: false,
                end: self.end,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let wanted = if self.top {
                WORD_KEYS.contains(&key.as_ref())
            } else {
                !SKIPPED_KEYS.contains(&key.as_ref())
            };
            if wanted {
                map.next_value_seed(Collect {
                    out: &mut *self.out,
                    top: false,
                    end: self.end,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &str) -> String {
        let mut out = String::new();
        push_search_text(line.as_bytes(), &mut out);
        out
    }

    #[test]
    fn assistant_words_tool_calls_and_results_are_kept_without_the_json() {
        let t = text(
            r#"{"type":"assistant","message":{"id":"msg_1","role":"assistant","model":"m","content":[{"type":"text","text":"Fixing the parser"},{"type":"tool_use","id":"tu_1","name":"Bash","input":{"command":"cargo test"}}]},"session_id":"s"}"#,
        );
        assert_eq!(t, "Fixing the parser\nBash\ncargo test");
        let t = text(
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"tu_1","content":[{"type":"text","text":"error[E0308]: mismatched"}],"is_error":true}]}}"#,
        );
        assert_eq!(t, "error[E0308]: mismatched");
    }

    #[test]
    fn bookkeeping_and_hidden_thinking_are_left_out() {
        let t = text(
            r#"{"type":"system","subtype":"init","cwd":"/x","session_id":"s","tools":["Bash"],"model":"opus","plugins":[{"name":"p"}]}"#,
        );
        assert_eq!(t, "");
        let t = text(
            r#"{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"secret plan","signature":"x"}]}}"#,
        );
        assert_eq!(t, "");
    }

    #[test]
    fn real_stream_json_gives_the_words_and_nothing_of_the_metadata() {
        let fixtures = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/claude-stream-json"
        );
        let mut out = String::new();
        for name in ["implement.jsonl", "bash.jsonl", "error.jsonl"] {
            let text = std::fs::read(format!("{fixtures}/{name}")).unwrap();
            for line in text.split(|b| *b == b'\n') {
                push_search_text(line, &mut out);
            }
        }
        for wanted in [
            "Implemented hello.txt.",
            "File created successfully",
            "bash-ok",
            "API Error: 500",
        ] {
            assert!(out.contains(wanted), "{wanted}: {out}");
        }
        for unwanted in [
            "claude-opus-5-5",
            "deep-research",
            "interrupt_receipt",
            "toolu_",
            "msg_01",
            "standard",
            "bypassPermissions",
            "sdk_opt_in",
        ] {
            assert!(!out.contains(unwanted), "{unwanted}: {out}");
        }
    }

    #[test]
    fn plain_and_broken_lines_are_taken_as_they_are_but_made_safe() {
        assert_eq!(text("make: *** [all] Error 2"), "make: *** [all] Error 2");
        assert_eq!(
            text(r#"{"type":"assistant","mess"#),
            r#"{"type":"assistant","mess"#
        );
        assert_eq!(text("a\u{1b}]52;c;Zm9v\u{7}\u{1b}[31mred\u{0}"), "ared");
        assert_eq!(
            text(
                r#"{"type":"assistant","message":{"content":[{"type":"text","text":"x\u001b[2Jy"}]}}"#
            ),
            "xy"
        );
    }

    #[test]
    fn a_huge_line_adds_at_most_the_cap() {
        let big = "é".repeat(MAX_LINE_TEXT);
        assert_eq!(text(&big).len(), MAX_LINE_TEXT);
        let json = format!(
            r#"{{"type":"assistant","message":{{"content":[{{"type":"text","text":"{big}"}},{{"type":"text","text":"more"}}]}}}}"#
        );
        let t = text(&json);
        assert!(
            t.len() <= MAX_LINE_TEXT && t.len() > MAX_LINE_TEXT - 4,
            "{}",
            t.len()
        );
        assert!(!t.contains("more"));
    }

    #[test]
    fn lines_are_joined_by_newlines_and_empty_ones_add_nothing() {
        let mut out = String::new();
        push_search_text(b"first", &mut out);
        push_search_text(br#"{"type":"system"}"#, &mut out);
        push_search_text(b"second", &mut out);
        assert_eq!(out, "first\nsecond");
    }
}
