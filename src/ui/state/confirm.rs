//! The quit dialog: quitting while agents run asks whether to wait for them or stop them.
//! Its text, its keys and the hint bar under it all come from the quit dialog's bindings.

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
    /// What a key (bound to `action` in the dialog, or not) answers.
    pub fn answer(action: Option<Action>) -> Answer {
        match action {
            Some(Action::StopAndQuit) => Answer::Stop,
            Some(Action::WaitThenQuit) => Answer::Wait,
            _ => Answer::Stay,
        }
    }

    /// The dialog's choices, one per binding: its key and what it does.
    pub fn choices(keymap: &Keymap) -> Vec<Hint> {
        keymap
            .bindings
            .iter()
            .filter(|b| b.context == Context::Confirm)
            .filter_map(|b| {
                let key = b.keys.first()?;
                Some((crate::ui::keymap::key_label(key), b.desc.to_string()))
            })
            .collect()
    }

    /// The hint bar under the dialog.
    pub fn hints(keymap: &Keymap) -> Vec<Hint> {
        keymap
            .hints(Context::Confirm)
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
        assert_eq!(keys(Confirm::choices(&km)), ["w", "s", "esc"]);
        assert_eq!(keys(Confirm::hints(&km)), ["w", "s", "esc"]);
        let mut o = BTreeMap::new();
        o.insert("wait_then_quit".to_string(), vec!["W".to_string()]);
        let (km, _) = Keymap::with_overrides(Some(&o));
        assert_eq!(keys(Confirm::choices(&km))[0], "W");
        assert_eq!(keys(Confirm::hints(&km))[0], "W");
        assert_eq!(Confirm::answer(Some(Action::WaitThenQuit)), Answer::Wait);
        assert_eq!(Confirm::answer(None), Answer::Stay);
    }
}
