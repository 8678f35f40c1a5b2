//! The blocked inbox: every open question, which ones are new, the selected one.

use std::collections::BTreeSet;

use crate::domain::Millis;
use crate::ui::keymap::Action;
use crate::ui::store_thread::InboxItem;

/// The inbox list.
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    items: Vec<InboxItem>,
    cursor: usize,
    /// Questions already looked at (`issue id`, `asked_at`); private, so `unread` stays true.
    seen: BTreeSet<(i64, Millis)>,
    /// Cached count of unread questions: the header shows it every frame, and the inbox can
    /// hold a thousand questions on a big board.
    unread: usize,
}

impl Inbox {
    /// Blocked issues, newest question first.
    pub fn items(&self) -> &[InboxItem] {
        &self.items
    }

    /// The selected item's index.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The selected item.
    pub fn selected(&self) -> Option<&InboxItem> {
        self.items.get(self.cursor)
    }

    /// Questions not looked at yet.
    pub fn unread(&self) -> usize {
        self.unread
    }

    /// Replaces the list (a store reply).
    pub fn set_items(&mut self, items: Vec<InboxItem>) {
        self.items = items;
        self.cursor = self.cursor.min(self.items.len().saturating_sub(1));
        self.count_unread();
    }

    /// Marks every listed question as looked at.
    pub fn mark_seen(&mut self) {
        for i in &self.items {
            self.seen.insert((i.issue_id, i.asked_at));
        }
        self.count_unread();
    }

    /// Whether this question has not been looked at yet.
    pub fn is_new(&self, item: &InboxItem) -> bool {
        !self.seen.contains(&(item.issue_id, item.asked_at))
    }

    fn count_unread(&mut self) {
        self.unread = self.items.iter().filter(|i| self.is_new(i)).count();
    }

    /// Moves the selection.
    pub(crate) fn navigate(&mut self, action: Action) {
        let n = self.items.len();
        if n == 0 {
            return;
        }
        let c = self.cursor;
        self.cursor = match action {
            Action::Up => c.saturating_sub(1),
            Action::Down => (c + 1).min(n - 1),
            Action::PageUp | Action::Top => 0,
            _ => n - 1,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, at: Millis) -> InboxItem {
        InboxItem {
            issue_id: id,
            title: format!("#{id}"),
            question: "?".into(),
            asked_by: "box".into(),
            asked_at: at,
            branch: None,
            base: None,
        }
    }

    #[test]
    fn a_new_question_on_a_seen_issue_is_unread_again() {
        let mut inbox = Inbox::default();
        inbox.set_items(vec![item(1, 10), item(2, 20)]);
        assert_eq!(inbox.unread(), 2);
        inbox.mark_seen();
        assert_eq!(inbox.unread(), 0);
        inbox.set_items(vec![item(1, 30), item(2, 20)]);
        assert_eq!(inbox.unread(), 1);
        inbox.navigate(Action::Bottom);
        assert_eq!(inbox.selected().map(|i| i.issue_id), Some(2));
        inbox.set_items(vec![item(1, 30)]);
        assert_eq!(inbox.cursor(), 0, "the cursor stays on the list");
    }
}
