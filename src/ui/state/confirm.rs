//! The dialogs that ask before acting: quitting while agents run (wait for them or stop
//! them), and deleting an issue (yes or no). Their keys and the hint bar under them come from
//! their context's bindings.

use super::Hint;
use crate::ui::keymap::{Action, Context, Keymap};

/// A question the user must answer before anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Quit while agents run.
    Quit {
        /// How many.
        running: usize,
    },
    /// Delete a backlog issue (it cannot be undone).
    Delete {
        /// The issue.
        id: i64,
    },
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Stop the agents and quit.
    Stop,
    /// Claim nothing more and quit once the running agents finish.
    Wait,
    /// Stay (any key the dialog does not bind).
    Stay,
}

impl Confirm {
    /// The keymap context of the dialog's keys.
    pub fn context(&self) -> Context {
        match self {
            Confirm::Quit { .. } => Context::Confirm,
            Confirm::Delete { .. } => Context::Ask,
        }
    }

    /// What a key (bound to `action` in the quit dialog, or not) answers.
    pub fn answer(action: Option<Action>) -> Answer {
        match action {
            Some(Action::StopAndQuit) => Answer::Stop,
            Some(Action::WaitThenQuit) => Answer::Wait,
            _ => Answer::Stay,
        }
    }

    /// The dialog's choices, one per binding: its key and what it does.
    pub fn choices(&self, keymap: &Keymap) -> Vec<Hint> {
        let context = self.context();
        keymap
            .bindings
            .iter()
            .filter(|b| b.context == context)
            .filter_map(|b| {
                let key = b.keys.first()?;
                Some((crate::ui::keymap::key_label(key), b.desc.to_string()))
            })
            .collect()
    }

    /// The hint bar under the dialog.
    pub fn hints(&self, keymap: &Keymap) -> Vec<Hint> {
        keymap
            .hints(self.context())
            .into_iter()
            .map(|(k, d)| (k, d.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_dialog_and_the_hint_bar_offer_the_same_keys() {
        let km = Keymap::default();
        let keys = |v: Vec<Hint>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        let quit = Confirm::Quit { running: 1 };
        assert_eq!(keys(quit.choices(&km)), ["w", "s", "esc"]);
        assert_eq!(keys(quit.hints(&km)), ["w", "s", "esc"]);
        let delete = Confirm::Delete { id: 3 };
        assert_eq!(keys(delete.choices(&km)), ["y", "esc"]);
        assert_eq!(keys(delete.hints(&km)), ["y", "esc"]);
        let mut o = BTreeMap::new();
        o.insert("wait_then_quit".to_string(), vec!["W".to_string()]);
        let (km, _) = Keymap::with_overrides(Some(&o));
        assert_eq!(keys(quit.choices(&km))[0], "W");
        assert_eq!(keys(quit.hints(&km))[0], "W");
        assert_eq!(Confirm::answer(Some(Action::WaitThenQuit)), Answer::Wait);
        assert_eq!(Confirm::answer(None), Answer::Stay);
    }
}
