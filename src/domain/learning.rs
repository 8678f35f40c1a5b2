//! Learnings: the lessons a run states on `LEARNED: …` lines, kept for the prompts of later
//! runs on other issues. Here: what such a line is and how its text is made safe and small.

use serde::Serialize;

use super::sanitize::strip_all;
use super::Millis;

/// What a line must start with (at its very start) to state a lesson.
pub const PREFIX: &str = "LEARNED:";
/// Most lessons kept from one run's result; the rest are dropped.
pub const MAX_PER_RUN: usize = 10;
/// Most bytes of one stored lesson; a longer one is cut (on a character boundary) with `…`.
pub const MAX_BYTES: usize = 500;

/// One stored learning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Learning {
    /// Its id (`learnings rm ID`).
    pub id: i64,
    /// The lesson: one line, printable, secrets redacted, at most [`MAX_BYTES`].
    pub text: String,
    /// The issue whose run stated it (none once that issue is deleted, or for one added by hand).
    pub issue_id: Option<i64>,
    /// The run that stated it.
    pub run_id: Option<i64>,
    /// When it was stored (epoch ms).
    #[serde(serialize_with = "as_rfc3339")]
    pub created_at: Millis,
}

fn as_rfc3339<S: serde::Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&super::format_millis(*ms))
}

/// The lessons of a result text: the rest of each line that starts with [`PREFIX`], made one
/// printable line ([`normalize`]); empty ones and repeats are skipped, at most [`MAX_PER_RUN`].
/// Not yet redacted or capped: the store does both when it writes them.
pub fn parse(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(PREFIX) else {
            continue;
        };
        let lesson = normalize(rest);
        if !lesson.is_empty() && !out.contains(&lesson) {
            out.push(lesson);
            if out.len() == MAX_PER_RUN {
                break;
            }
        }
    }
    out
}

/// `text` made one printable line: escape sequences and control characters (NUL included)
/// removed, every run of white space one space, trimmed. Done before redaction, so a secret
/// split by an escape sequence is whole when the redactor looks for it.
pub fn normalize(text: &str) -> String {
    strip_all(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` cut to [`MAX_BYTES`] on a character boundary, ending in `…` when cut. Done after
/// redaction, so a secret is never cut into a piece the redactor would not recognise.
pub fn cap(text: &str) -> String {
    if text.len() <= MAX_BYTES {
        return text.to_string();
    }
    let mut cut = MAX_BYTES - '…'.len_utf8();
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", text[..cut].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lines_that_start_with_the_prefix_are_lessons() {
        let text = "Did it.\nLEARNED: run `make gen` before the tests\n  LEARNED: indented is not one\nsee LEARNED: inside\nLEARNED:   spaced   out\t words  \nLEARNED:\nLEARNED: run `make gen` before the tests";
        assert_eq!(
            parse(text),
            vec!["run `make gen` before the tests", "spaced out words"]
        );
        assert!(parse("learned: lower case").is_empty());
    }

    #[test]
    fn hostile_lessons_are_made_printable_and_bounded() {
        let text = "LEARNED: a\u{1b}[31mred\u{1b}[0m \u{0}nul\u{7} \u{202e}bidi\r\n";
        assert_eq!(parse(text), vec!["ared nul bidi"]);
        let many: String = (0..50).map(|i| format!("LEARNED: lesson {i}\n")).collect();
        let got = parse(&many);
        assert_eq!(got.len(), MAX_PER_RUN);
        assert_eq!(got[0], "lesson 0");
        let long = cap(&"é".repeat(MAX_BYTES));
        assert!(
            long.len() <= MAX_BYTES && long.ends_with('…'),
            "{}",
            long.len()
        );
        assert_eq!(cap("short"), "short");
    }
}
