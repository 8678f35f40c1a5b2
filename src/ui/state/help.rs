//! The keys overlay: every binding, filterable, and a way to run the selected one (so it
//! doubles as a command palette).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::Hint;
use crate::ui::keymap::{Action, Context, Keymap};

/// The overlay's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelpState {
    filter: String,
    typing: bool,
    selected: usize,
}

/// What an overlay key asks of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpStep {
    /// Nothing beyond the overlay itself.
    Stay,
    /// Close the overlay.
    Close,
    /// Run the selected row (its index among the rows shown).
    Run(usize),
    /// Quit now.
    Quit,
}

impl HelpState {
    /// Rows are kept when their keys, description or context contain this (any case).
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Whether keys type into the filter (after `/`).
    pub fn is_typing(&self) -> bool {
        self.typing
    }

    /// The selected row among those kept.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// A key while the overlay is open: `action` is what it means in the overlay's context
    /// (the filter's, while typing); `rows` is how many rows are shown.
    pub(crate) fn on_key(
        &mut self,
        action: Option<Action>,
        key: KeyEvent,
        rows: usize,
    ) -> HelpStep {
        if self.typing {
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            match (action, key.code) {
                (Some(Action::ForceQuit), _) => return HelpStep::Quit,
                (Some(Action::Close), _) => {
                    self.filter.clear();
                    self.typing = false;
                }
                (Some(Action::Done), _) => self.typing = false,
                (None, KeyCode::Backspace) => {
                    self.filter.pop();
                }
                (None, KeyCode::Char(c)) if !ctrl => self.filter.push(c),
                _ => {}
            }
            self.selected = 0;
            return HelpStep::Stay;
        }
        match action {
            Some(Action::Filter) => self.typing = true,
            Some(Action::Close | Action::Help | Action::Quit) => return HelpStep::Close,
            Some(Action::Open) => return HelpStep::Run(self.selected),
            Some(Action::Down) => self.selected = (self.selected + 1).min(rows.saturating_sub(1)),
            Some(Action::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Action::ForceQuit) => return HelpStep::Quit,
            _ => {}
        }
        HelpStep::Stay
    }

    /// The hint bar while the overlay is open.
    pub fn hints(&self, keymap: &Keymap) -> Vec<Hint> {
        if self.typing {
            return vec![
                (keymap.label(Context::Filter, Action::Done), "done".into()),
                (keymap.label(Context::Filter, Action::Close), "clear".into()),
            ];
        }
        let c = Context::Overlay;
        vec![
            (keymap.pair(c, Action::Down, Action::Up), "select".into()),
            (keymap.label(c, Action::Open), "run".into()),
            (keymap.label(c, Action::Filter), "filter".into()),
            (keymap.label(c, Action::Close), "close".into()),
        ]
    }

    /// The same hints for the overlay's bottom border.
    pub fn title_hint(&self, keymap: &Keymap) -> String {
        let hints: Vec<String> = self
            .hints(keymap)
            .into_iter()
            .map(|(k, d)| format!("{k} {d}"))
            .collect();
        let lead = if self.typing {
            "type to filter · "
        } else {
            ""
        };
        format!(" {lead}{} ", hints.join(" · "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn the_filter_types_until_done_and_selection_restarts() {
        let km = Keymap::default();
        let mut h = HelpState::default();
        h.on_key(Some(Action::Down), key('j'), 10);
        assert_eq!(h.selected(), 1);
        h.on_key(Some(Action::Filter), key('/'), 10);
        assert_eq!(
            h.title_hint(&km),
            " type to filter · enter done · esc clear "
        );
        for c in "quit".chars() {
            h.on_key(None, key(c), 10);
        }
        assert_eq!((h.filter(), h.selected()), ("quit", 0));
        h.on_key(Some(Action::Done), KeyEvent::from(KeyCode::Enter), 3);
        assert!(!h.is_typing());
        assert_eq!(h.on_key(Some(Action::Open), key('x'), 3), HelpStep::Run(0));
        assert_eq!(h.on_key(Some(Action::Quit), key('q'), 3), HelpStep::Close);
        assert_eq!(
            h.title_hint(&km),
            " j/k select · enter run · / filter · esc close "
        );
    }
}
