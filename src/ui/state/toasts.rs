//! Notifications: a short stack that expires by itself, and can be focused to open the issue
//! one is about.

use crate::domain::Millis;
use crate::ui::keymap::Action;

/// Most toasts shown at once.
const MAX_TOASTS: usize = 5;

/// Toast severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Neutral.
    Info,
    /// Good news.
    Ok,
    /// Needs attention.
    Warn,
    /// Something failed.
    Error,
}

/// A notification that goes away by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    /// The text.
    pub text: String,
    /// Severity.
    pub level: Level,
    /// The issue it is about (`o` jumps there).
    pub issue_id: Option<i64>,
    /// When it appeared.
    pub born: Millis,
}

impl Toast {
    fn lifetime(&self) -> Millis {
        match self.level {
            Level::Error | Level::Warn => 8_000,
            _ => 4_000,
        }
    }
}

/// The notifications, oldest first, and the focused one.
#[derive(Debug, Clone, Default)]
pub struct Toasts {
    list: Vec<Toast>,
    cursor: usize,
}

impl Toasts {
    /// Every toast, oldest first.
    pub fn list(&self) -> &[Toast] {
        &self.list
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The focused notification, counted from the newest.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Whether one names an issue (only then can they take the focus).
    pub fn any_with_issue(&self) -> bool {
        self.list.iter().any(|t| t.issue_id.is_some())
    }

    /// The issue of the newest notification that names one.
    pub fn newest_issue(&self) -> Option<i64> {
        self.list.iter().rev().find_map(|t| t.issue_id)
    }

    /// The focused notification's issue.
    pub fn selected_issue(&self) -> Option<i64> {
        self.list
            .iter()
            .rev()
            .nth(self.cursor)
            .and_then(|t| t.issue_id)
    }

    /// Adds a toast, dropping the oldest past the limit. Toasts quote names and errors from
    /// elsewhere: never let a control sequence through.
    pub(crate) fn push(&mut self, level: Level, text: &str, issue_id: Option<i64>, now: Millis) {
        self.list.push(Toast {
            text: crate::domain::sanitize::strip_all(text),
            level,
            issue_id,
            born: now,
        });
        if self.list.len() > MAX_TOASTS {
            self.list.remove(0);
        }
    }

    /// Drops the expired ones, unless `hold` (the user is choosing one); true when some went.
    pub(crate) fn expire(&mut self, now: Millis, hold: bool) -> bool {
        let before = self.list.len();
        if !hold {
            self.list.retain(|t| now - t.born < t.lifetime());
        }
        before != self.list.len()
    }

    /// Focus starts on the newest notification that names an issue.
    pub(crate) fn focus_newest(&mut self) {
        self.cursor = self
            .list
            .iter()
            .rev()
            .position(|t| t.issue_id.is_some())
            .unwrap_or(0);
    }

    /// Moves the focus; the newest is drawn lowest, so up goes to older ones.
    pub(crate) fn navigate(&mut self, action: Action) {
        let n = self.list.len();
        let c = self.cursor;
        self.cursor = match action {
            Action::Up => (c + 1).min(n.saturating_sub(1)),
            Action::Down => c.saturating_sub(1),
            Action::PageUp | Action::Top => n.saturating_sub(1),
            _ => 0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toasts_stack_expire_and_hold_while_chosen() {
        let mut t = Toasts::default();
        for i in 0..7 {
            t.push(Level::Info, &format!("n{i}\u{1b}[2J"), Some(i), 0);
        }
        assert_eq!(t.list().len(), MAX_TOASTS);
        assert_eq!(t.list()[0].text, "n2", "the oldest went, the escape too");
        t.push(Level::Error, "failed", None, 3_000);
        t.focus_newest();
        assert_eq!(t.selected_issue(), Some(6));
        t.navigate(Action::Up);
        assert_eq!(t.selected_issue(), Some(5));
        assert!(!t.expire(60_000, true));
        assert!(t.expire(5_000, false));
        assert_eq!(t.list().len(), 1, "errors last longer");
        assert_eq!(t.newest_issue(), None);
    }
}
