//! The blocked inbox: every open question, which ones are new, the selected one.

use std::collections::BTreeSet;

use super::answer::AnswerForm;
use crate::domain::Millis;
use crate::ui::keymap::Action;
use crate::ui::store_thread::InboxItem;

/// The inbox list.
#[derive(Debug, Default)]
pub struct Inbox {
    items: Vec<InboxItem>,
    cursor: usize,
    /// Questions already looked at (`issue id`, `asked_at`); private, so `unread` stays true.
    seen: BTreeSet<(i64, Millis)>,
    /// Cached count of unread questions: the header shows it every frame, and the inbox can
    /// hold a thousand questions on a big board.
    unread: usize,
    /// The answer form of one question: open, or closed with what was typed kept until the
    /// question changes (a draft, as lazygit keeps a commit message after esc).
    form: Option<AnswerForm>,
    /// The form is open (it takes the keys).
    answering: bool,
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

    /// Replaces the list (a store reply). A closed form whose question is gone goes with it;
    /// an open one stays, so sending says why and loses nothing.
    pub fn set_items(&mut self, items: Vec<InboxItem>) {
        self.items = items;
        let asked = |f: &AnswerForm| {
            self.items
                .iter()
                .any(|i| i.issue_id == f.issue_id() && i.asked_at == f.asked_at())
        };
        if !self.answering && !self.form.as_ref().is_some_and(asked) {
            self.form = None;
        }
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

    /// The open answer form.
    pub fn answering(&self) -> Option<&AnswerForm> {
        self.form.as_ref().filter(|_| self.answering)
    }

    /// The open answer form, to type into.
    pub fn answering_mut(&mut self) -> Option<&mut AnswerForm> {
        self.form.as_mut().filter(|_| self.answering)
    }

    /// Opens the form of `item`'s question when it asks for fields: the draft of that same
    /// question if there is one, else an empty form. Whether it opened.
    pub fn open_form(&mut self, issue_id: i64) -> bool {
        let Some(item) = self.items.iter().find(|i| i.issue_id == issue_id) else {
            return false;
        };
        if item.needs.is_empty() {
            return false;
        }
        let same = |f: &AnswerForm| f.issue_id() == issue_id && f.asked_at() == item.asked_at;
        if !self.form.as_ref().is_some_and(same) {
            self.form = Some(AnswerForm::new(issue_id, item.asked_at, &item.needs));
        }
        self.answering = true;
        true
    }

    /// Closes the form, keeping what was typed (see [`Inbox::open_form`]).
    pub fn close_form(&mut self) {
        self.answering = false;
    }

    /// Drops the form and its values (sent and accepted).
    pub fn discard_form(&mut self) {
        self.answering = false;
        self.form = None;
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
            needs: Vec::new(),
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

    #[test]
    fn esc_keeps_the_draft_until_the_question_changes() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let mut inbox = Inbox::default();
        let mut asks = item(1, 10);
        asks.needs = vec![crate::domain::needs::Need {
            name: "A".into(),
            secret: false,
            description: String::new(),
        }];
        inbox.set_items(vec![asks.clone(), item(2, 20)]);
        assert!(!inbox.open_form(2), "no fields: the free-text reply");
        assert!(inbox.open_form(1));
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        inbox.answering_mut().map(|f| f.on_key(None, x));
        inbox.close_form();
        assert!(inbox.answering().is_none());
        inbox.set_items(vec![asks.clone()]);
        assert!(inbox.open_form(1));
        let kept = inbox.answering().map(|f| f.fields()[0].shown().0);
        assert_eq!(kept.as_deref(), Some("x"), "esc kept the draft");
        // Open, it survives the issue leaving the inbox (sending will say why).
        inbox.set_items(Vec::new());
        assert!(inbox.answering().is_some());
        inbox.close_form();
        asks.asked_at = 30;
        inbox.set_items(vec![asks]);
        assert!(inbox.open_form(1));
        let fresh = inbox.answering().map(|f| f.fields()[0].is_empty());
        assert_eq!(fresh, Some(true), "a new question is a new form");
    }
}
