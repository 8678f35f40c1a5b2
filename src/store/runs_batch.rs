//! A batch of transcript lines as the store writes it: the lines joined by newlines, and the
//! text the search index gets for them.

use crate::domain::transcript_text::{push_search_parts, push_search_text};
use crate::domain::Millis;

/// One stored line of agent output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptLine {
    /// Position in the run, from 0.
    pub seq: i64,
    /// When it arrived (epoch ms): lines stored in one batch carry the batch's first arrival.
    pub ts: Millis,
    /// The bytes as the agent printed them (without the newline), secrets redacted.
    pub line: Vec<u8>,
}

/// Lines of agent output on their way into the store, kept as they will be stored: one row,
/// the lines joined by `\n`. Lines never hold a newline (output is split on it), so the row
/// splits back into exactly the lines given, byte for byte.
#[derive(Debug, Clone, Default)]
pub struct TranscriptBatch {
    pub(in crate::store) data: Vec<u8>,
    pub(in crate::store) lines: i64,
    pub(in crate::store) ts: Millis,
    /// The lines' searchable text, when rendered as they were pushed ([`Self::with_search_text`]).
    pub(in crate::store) text: Option<String>,
}

impl TranscriptBatch {
    /// A batch that renders each line's searchable text as it is pushed, on the pushing
    /// thread: the ingest does it beside the store, whose transaction then only indexes it.
    pub fn with_search_text() -> TranscriptBatch {
        TranscriptBatch {
            text: Some(String::new()),
            ..TranscriptBatch::default()
        }
    }

    /// Adds a line that arrived at `ts`; any newline in it is stored as a space.
    pub fn push(&mut self, ts: Millis, line: &[u8]) {
        self.push_searchable(ts, line, None::<[&str; 0]>);
    }

    /// [`Self::push`], with the line's searchable text already decoded by the caller's parse
    /// (`parts`, as [`push_search_parts`] takes them); None renders it from the line.
    pub fn push_searchable<'p>(
        &mut self,
        ts: Millis,
        line: &[u8],
        parts: Option<impl IntoIterator<Item = &'p str>>,
    ) {
        if self.lines == 0 {
            self.ts = ts;
        } else {
            self.data.push(b'\n');
        }
        let start = self.data.len();
        self.data.extend_from_slice(line);
        if memchr::memchr(b'\n', line).is_some() {
            for b in &mut self.data[start..] {
                if *b == b'\n' {
                    *b = b' ';
                }
            }
        }
        if let Some(text) = &mut self.text {
            match parts {
                Some(parts) => push_search_parts(parts, text),
                // From the bytes as stored, so the text is what the store would render from them.
                None => push_search_text(&self.data[start..], text),
            }
        }
        self.lines += 1;
    }

    /// Adds the lines of a batch that arrived later.
    pub fn append(&mut self, later: TranscriptBatch) {
        if later.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = later;
            return;
        }
        self.data.push(b'\n');
        self.data.extend_from_slice(&later.data);
        self.lines += later.lines;
        // Text for only some of the lines is no text: the store renders it from the bytes.
        self.text = match (self.text.take(), later.text) {
            (Some(mut text), Some(more)) => {
                if !text.is_empty() && !more.is_empty() {
                    text.push('\n');
                }
                text.push_str(&more);
                Some(text)
            }
            _ => None,
        };
    }

    /// Lines held.
    pub fn lines(&self) -> i64 {
        self.lines
    }

    /// Bytes held (lines and separators).
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// The bytes as they will be stored (the lines joined by `\n`).
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Whether no line was added.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }
}
