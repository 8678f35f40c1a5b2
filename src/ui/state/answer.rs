//! The inbox's answer form: one input per field a blocked question asks for (`NEEDS:` lines).
//! Secret values are masked on screen, kept out of every message, undo history and `Debug`,
//! and overwritten with zeros when dropped (a best effort: the bytes of the one buffer each
//! value lives in; a reallocation while typing past its reserve may leave an older copy).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{cycle, Hint};
use crate::domain::needs::{self, Need};
use crate::domain::sanitize::one_line;
use crate::domain::Millis;
use crate::ui::keymap::{Action, Context, Keymap};

/// Bytes reserved for a value up front, so typing rarely moves (and copies) it.
const RESERVE: usize = 256;
/// Most mask characters drawn for a secret: its length beyond this is not shown.
pub const MASK_MAX: usize = 12;

/// A typed value: its text and the cursor (a char index). Zeroed when dropped.
#[derive(Default)]
pub struct Value {
    text: String,
    cursor: usize,
}

impl Drop for Value {
    fn drop(&mut self) {
        wipe(&mut self.text);
    }
}

/// Overwrites `s`'s bytes with zeros and empties it.
fn wipe(s: &mut String) {
    let mut bytes = std::mem::take(s).into_bytes();
    bytes.iter_mut().for_each(|b| *b = 0);
    // Keeps the zeroing from being optimised away as a store to memory about to be freed.
    std::hint::black_box(&bytes);
}

impl Value {
    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// The key's edit; whether it was one.
    fn edit(&mut self, key: KeyEvent) -> bool {
        let n = self.text.chars().count();
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if ctrl => {
                wipe(&mut self.text);
                self.text.reserve(RESERVE);
                self.cursor = 0;
            }
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = n,
            KeyCode::Char(c) if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) => {
                if c.is_control() || self.text.len() + c.len_utf8() > needs::MAX_VALUE {
                    return false;
                }
                if self.text.capacity() == 0 {
                    self.text.reserve(RESERVE);
                }
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Delete if self.cursor < n => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(n),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = n,
            _ => return false,
        }
        true
    }
}

/// One field of the form.
pub struct FormField {
    need: Need,
    value: Value,
}

impl FormField {
    /// The variable's name.
    pub fn name(&self) -> &str {
        &self.need.name
    }

    /// What the agent says it is for (one printable line).
    pub fn description(&self) -> &str {
        &self.need.description
    }

    /// Whether the value is a secret.
    pub fn secret(&self) -> bool {
        self.need.secret
    }

    /// What the screen shows of the value: the text for an ordinary field, a mask for a
    /// secret (never its characters); and the cursor's column in it.
    pub fn shown(&self) -> (String, usize) {
        if self.need.secret {
            let n = self.value.text.chars().count().min(MASK_MAX);
            ("•".repeat(n), self.value.cursor.min(n))
        } else {
            (one_line(&self.value.text), self.value.cursor)
        }
    }

    /// Whether nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.value.text.is_empty()
    }
}

/// What a form key asks of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormStep {
    /// Typed, or moved between fields.
    Typed,
    /// Close the form (what was typed stays as a draft).
    Cancel,
    /// Send it (see [`AnswerForm::submit`]).
    Send,
}

/// The values of a submitted form, `(name, value)`, on their way to the store. `Debug` shows
/// names only, and the values are zeroed when it is dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Answers(pub Vec<(String, String)>);

impl std::fmt::Debug for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n))
            .finish()
    }
}

impl Drop for Answers {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|(_, v)| wipe(v));
    }
}

/// The answer form of one blocked issue's question.
pub struct AnswerForm {
    issue_id: i64,
    /// When the question was asked: a new question is another form.
    asked_at: Millis,
    fields: Vec<FormField>,
    focus: usize,
    error: Option<String>,
    /// Sent, waiting for the store's answer (a refusal comes back here).
    pending: bool,
}

impl std::fmt::Debug for AnswerForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerForm")
            .field("issue_id", &self.issue_id)
            .field("focus", &self.focus)
            .finish_non_exhaustive()
    }
}

impl AnswerForm {
    /// An empty form for `fields`; descriptions and names are made one printable line.
    pub fn new(issue_id: i64, asked_at: Millis, fields: &[Need]) -> AnswerForm {
        let fields = fields
            .iter()
            .map(|n| FormField {
                need: Need {
                    name: one_line(&n.name),
                    secret: n.secret,
                    description: one_line(&n.description),
                },
                value: Value::default(),
            })
            .collect();
        AnswerForm {
            issue_id,
            asked_at,
            fields,
            focus: 0,
            error: None,
            pending: false,
        }
    }

    /// The issue it answers.
    pub fn issue_id(&self) -> i64 {
        self.issue_id
    }

    /// When the question it answers was asked.
    pub fn asked_at(&self) -> Millis {
        self.asked_at
    }

    /// The fields, in the agent's order.
    pub fn fields(&self) -> &[FormField] {
        &self.fields
    }

    /// The focused field's index.
    pub fn focus(&self) -> usize {
        self.focus
    }

    /// Why the last send failed (the store's words, or a missing value).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether it waits for the store's answer.
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// The store refused the answer: its message shows in the form and everything typed stays.
    pub fn refused(&mut self, message: String) {
        self.pending = false;
        self.error = Some(one_line(&message));
    }

    /// A key while the form is open (`action` is what the editor context binds it to).
    pub(crate) fn on_key(&mut self, action: Option<Action>, key: KeyEvent) -> FormStep {
        let order: Vec<usize> = (0..self.fields.len()).collect();
        match action {
            Some(Action::Close) => return FormStep::Cancel,
            Some(Action::Save) => return FormStep::Send,
            Some(Action::NextField) | Some(Action::PrevField) if !order.is_empty() => {
                self.focus = cycle(&order, self.focus, action == Some(Action::PrevField));
                return FormStep::Typed;
            }
            _ => {}
        }
        if key.code == KeyCode::Enter {
            // Enter moves on, and sends from the last field.
            if self.focus + 1 >= self.fields.len() {
                return FormStep::Send;
            }
            self.focus += 1;
            return FormStep::Typed;
        }
        if let Some(f) = self.fields.get_mut(self.focus) {
            if f.value.edit(key) {
                self.error = None;
            }
        }
        FormStep::Typed
    }

    /// The answers to send, or None with the reason shown in the form (and the focus on the
    /// first field left empty). The form keeps its values until the store answers.
    pub(crate) fn submit(&mut self) -> Option<Answers> {
        if self.pending {
            return None;
        }
        if let Some(i) = self.fields.iter().position(FormField::is_empty) {
            self.focus = i;
            self.error = Some(format!(
                "{} is empty: every field is needed",
                self.fields[i].need.name
            ));
            return None;
        }
        for f in &self.fields {
            if let Err(why) = needs::check_value(&f.need.name, &f.value.text) {
                self.error = Some(why);
                return None;
            }
        }
        self.error = None;
        self.pending = true;
        Some(Answers(
            self.fields
                .iter()
                .map(|f| (f.need.name.clone(), f.value.text.clone()))
                .collect(),
        ))
    }

    /// The hint bar while the form is open.
    pub fn hints(keymap: &Keymap) -> Vec<Hint> {
        [Action::Save, Action::Close, Action::NextField]
            .into_iter()
            .filter_map(|a| keymap.hint(Context::Editor, a))
            .map(|(k, d)| (k, d.to_string()))
            .collect()
    }
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
