//! The editor's schedule fields: when the issue may start and how often it repeats, read as
//! `add --at` and `--every` read them. A bad value is refused with the field focused and
//! everything typed kept.

use crossterm::event::KeyEvent;
use tui_textarea::TextArea;

use super::{text_input, Editor, Field};
use crate::domain::sanitize::one_line;
use crate::domain::schedule::{format_every, parse_at, parse_every};
use crate::domain::{format_millis, Issue, Millis};

/// The start field's placeholder.
pub(super) const AT_HINT: &str = "any time (+2h, +1d or RFC 3339)";
/// The repeat field's placeholder.
pub(super) const EVERY_HINT: &str = "never (1d, 1w)";

/// A schedule field's change: `None` leaves it, `Some(None)` clears it.
type Change = Option<Option<Millis>>;

/// At most this many characters of a refused value are echoed in the error line.
const ECHO: usize = 24;

impl Editor {
    /// The editor filled with `issue`'s schedule, remembered so that saving it unchanged
    /// leaves it (a relative time is not re-read against a later now).
    pub(super) fn with_schedule(mut self, issue: &Issue) -> Editor {
        let at = issue.not_before.map(format_millis).unwrap_or_default();
        let every = issue.every_ms.map(format_every).unwrap_or_default();
        self.at = filled(&at, AT_HINT);
        self.every = filled(&every, EVERY_HINT);
        self.schedule_before = (at, every);
        self
    }

    /// Start input.
    pub fn at(&self) -> &TextArea<'static> {
        &self.at
    }

    /// Repeat input.
    pub fn every(&self) -> &TextArea<'static> {
        &self.every
    }

    /// A key in a schedule field (each is one line; enter does nothing there).
    pub(super) fn type_schedule(&mut self, key: KeyEvent) {
        match self.field {
            Field::At => self.at.input(key),
            _ => self.every.input(key),
        };
    }

    /// The schedule to save, or `None` with the reason shown and its field focused.
    pub(super) fn schedule(&mut self) -> Option<(Change, Change)> {
        let at = self.at.lines().join("").trim().to_string();
        let every = self.every.lines().join("").trim().to_string();
        let editing = matches!(self.purpose, super::EditorPurpose::Edit(_));
        let at_change = if editing && at == self.schedule_before.0 {
            None
        } else {
            match parse_at(&at, crate::domain::now_millis()) {
                Ok(t) => Some(t),
                Err(_) => return self.refuse(Field::At, at_error(&at)),
            }
        };
        let every_change = if editing && every == self.schedule_before.1 {
            None
        } else {
            match parse_every(&every) {
                Ok(e) => Some(e),
                Err(e) => return self.refuse(Field::Every, every_error(&every, &e)),
            }
        };
        Some((at_change, every_change))
    }

    fn refuse<T>(&mut self, field: Field, message: String) -> Option<T> {
        self.error = Some(message);
        self.field = field;
        None
    }
}

fn filled(text: &str, hint: &str) -> TextArea<'static> {
    let mut input = text_input(
        Some(text.to_string())
            .filter(|t| !t.is_empty())
            .into_iter()
            .collect(),
        Some(hint),
    );
    input.move_cursor(tui_textarea::CursorMove::End);
    input
}

/// What was typed, on one line and short enough for the error line.
fn echo(text: &str) -> String {
    let line = one_line(text);
    match line.char_indices().nth(ECHO) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

fn at_error(text: &str) -> String {
    format!(
        "start: {:?} is not a time (+30m, +2h, +1d, 2026-12-24T09:00:00Z)",
        echo(text)
    )
}

fn every_error(text: &str, why: &str) -> String {
    if why.contains("too short") {
        return format!("repeat: {:?} is too short: at least 1m", echo(text));
    }
    format!(
        "repeat: {:?} is not a duration (30m, 12h, 1d, 1w)",
        echo(text)
    )
}
