//! The global search overlay (`ctrl-f`): the query being typed, the hits of the last query the
//! store answered, and the selection. Typing does not ask the store at once: a query is sent
//! once the keys pause for [`DEBOUNCE_MS`], and an answer to an older query is dropped.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::Hint;
use crate::domain::Millis;
use crate::ui::keymap::{Action, Context, Keymap};
use crate::ui::store_thread::{SearchRow, StoreRequest};

/// How long after the last key the query is sent.
pub const DEBOUNCE_MS: Millis = 150;
/// Most hits asked for.
pub const LIMIT: i64 = 50;
/// Longest query kept, in characters.
const MAX_QUERY: usize = 500;

/// The overlay's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchView {
    query: String,
    /// Bumped by every edit of the query.
    gen: u64,
    /// When the current query is to be sent (None: sent, or nothing to send).
    due: Option<Millis>,
    /// The answer to the current query: hits, or the store's message for a bad query.
    result: Option<Result<Vec<SearchRow>, String>>,
    /// The generation `result` answers (older while a newer query is on its way).
    shown: Option<u64>,
    selected: usize,
}

/// What a key in the overlay asks of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchStep {
    /// Handled inside the overlay.
    Stay,
    /// Close it.
    Close,
    /// An action for the app itself (quit now, suspend).
    App(Action),
    /// Close it and open this hit.
    Open(SearchRow),
}

impl SearchView {
    /// An empty overlay whose generations continue after `gen` (the last one's), so an answer
    /// meant for an overlay closed since is never taken for one of this one's queries.
    pub fn after(gen: u64) -> SearchView {
        SearchView {
            gen,
            ..SearchView::default()
        }
    }

    /// The generation of the query typed.
    pub fn gen(&self) -> u64 {
        self.gen
    }

    /// The query as typed.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// The hits (or the error) of the query shown, None before the first answer.
    pub fn result(&self) -> Option<&Result<Vec<SearchRow>, String>> {
        self.result.as_ref()
    }

    /// Whether the hits shown are not yet those of the query typed.
    pub fn is_pending(&self) -> bool {
        !self.query.trim().is_empty() && self.shown != Some(self.gen)
    }

    /// The selected hit's index.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// When the query is to be sent.
    pub fn due(&self) -> Option<Millis> {
        self.due
    }

    /// A key while the overlay is on top (`now`: the UI clock, for the debounce).
    pub fn on_key(&mut self, action: Option<Action>, key: KeyEvent, now: Millis) -> SearchStep {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let n = self.hits().len();
        match (action, key.code) {
            (Some(Action::Close), _) => return SearchStep::Close,
            (Some(a @ (Action::ForceQuit | Action::Suspend)), _) => return SearchStep::App(a),
            (Some(Action::Down), _) => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            (Some(Action::Up), _) => self.selected = self.selected.saturating_sub(1),
            (Some(Action::Open), _) => {
                if let Some(hit) = self.hits().get(self.selected) {
                    return SearchStep::Open(hit.clone());
                }
            }
            (None, KeyCode::Backspace) => {
                self.edit(now, |q| {
                    q.pop();
                });
            }
            (None, KeyCode::Char(c)) if !ctrl && self.query.chars().count() < MAX_QUERY => {
                self.edit(now, |q| q.push(c));
            }
            _ => {}
        }
        SearchStep::Stay
    }

    fn edit(&mut self, now: Millis, f: impl FnOnce(&mut String)) {
        let before = self.query.clone();
        f(&mut self.query);
        if self.query == before {
            return;
        }
        self.gen += 1;
        if self.query.trim().is_empty() {
            self.due = None;
            self.result = None;
            self.shown = None;
            self.selected = 0;
        } else {
            self.due = Some(now + DEBOUNCE_MS);
        }
    }

    /// The request to send when the debounce ran out by `now`.
    pub fn fire(&mut self, now: Millis) -> Option<StoreRequest> {
        if self.due.map_or(true, |due| due > now) {
            return None;
        }
        self.due = None;
        Some(StoreRequest::Search {
            gen: self.gen,
            query: self.query.clone(),
            limit: LIMIT,
        })
    }

    /// An answer from the store; false (and dropped) when the query changed since it was sent.
    pub fn set_result(&mut self, gen: u64, result: Result<Vec<SearchRow>, String>) -> bool {
        if gen != self.gen || self.query.trim().is_empty() {
            return false;
        }
        let n = result.as_ref().map_or(0, Vec::len);
        self.selected = self.selected.min(n.saturating_sub(1));
        self.result = Some(result);
        self.shown = Some(gen);
        true
    }

    fn hits(&self) -> &[SearchRow] {
        match &self.result {
            Some(Ok(hits)) => hits,
            _ => &[],
        }
    }

    /// The hint bar's pairs.
    pub fn hints(km: &Keymap) -> Vec<Hint> {
        let c = Context::Search;
        vec![
            (km.pair(c, Action::Down, Action::Up), "select".into()),
            (km.label(c, Action::Open), "open".into()),
            (km.label(c, Action::Close), "close".into()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SearchSource;

    fn hit(issue_id: i64) -> SearchRow {
        SearchRow {
            issue_id,
            source: SearchSource::Title,
            run_id: None,
            parts: vec![("word".into(), true)],
        }
    }

    fn typed(v: &mut SearchView, text: &str, now: Millis) {
        for c in text.chars() {
            v.on_key(None, KeyEvent::from(KeyCode::Char(c)), now);
        }
    }

    #[test]
    fn a_query_is_sent_once_the_keys_pause() {
        let mut v = SearchView::default();
        typed(&mut v, "wo", 1_000);
        assert_eq!(v.due(), Some(1_150));
        assert!(v.fire(1_149).is_none(), "too early");
        typed(&mut v, "r", 1_100);
        assert!(v.fire(1_200).is_none(), "the last key moved the deadline");
        let Some(StoreRequest::Search { gen, query, limit }) = v.fire(1_250) else {
            panic!("nothing sent");
        };
        assert_eq!((gen, query.as_str(), limit), (3, "wor", LIMIT));
        assert!(v.fire(5_000).is_none(), "sent once");
        assert!(v.is_pending(), "sent, not answered");
        assert!(v.set_result(gen, Ok(vec![hit(1)])));
        assert!(!v.is_pending());
        // The hits stay on screen, marked as old, until the next query's answer.
        typed(&mut v, "d", 2_000);
        assert!(v.fire(2_150).is_some());
        assert!(v.is_pending() && v.result().is_some());
    }

    #[test]
    fn an_answer_to_an_older_query_is_dropped() {
        let mut v = SearchView::default();
        typed(&mut v, "a", 0);
        let Some(StoreRequest::Search { gen: old, .. }) = v.fire(200) else {
            panic!("nothing sent");
        };
        typed(&mut v, "b", 300);
        assert!(!v.set_result(old, Ok(vec![hit(1)])));
        assert!(v.result().is_none());
        // Emptied: the hint again, and nothing to send.
        v.on_key(None, KeyEvent::from(KeyCode::Backspace), 400);
        v.on_key(None, KeyEvent::from(KeyCode::Backspace), 400);
        assert_eq!(v.query(), "");
        assert!(v.fire(10_000).is_none());
        assert!(!v.is_pending());
    }

    #[test]
    fn the_selection_moves_and_enter_opens_it() {
        let mut v = SearchView::default();
        let none = KeyEvent::from(KeyCode::Null);
        assert_eq!(v.on_key(Some(Action::Open), none, 0), SearchStep::Stay);
        typed(&mut v, "w", 0);
        let gen = v.gen;
        v.set_result(gen, Ok(vec![hit(4), hit(9)]));
        v.on_key(Some(Action::Down), none, 0);
        v.on_key(Some(Action::Down), none, 0);
        assert_eq!(v.selected(), 1);
        assert_eq!(
            v.on_key(Some(Action::Open), none, 0),
            SearchStep::Open(hit(9))
        );
        v.on_key(Some(Action::Up), none, 0);
        assert_eq!(
            v.on_key(Some(Action::Open), none, 0),
            SearchStep::Open(hit(4))
        );
        assert_eq!(v.on_key(Some(Action::Close), none, 0), SearchStep::Close);
        // A bad query's message replaces the hits; enter then opens nothing.
        v.set_result(gen, Err("cannot read".into()));
        assert_eq!(v.selected(), 0);
        assert_eq!(v.on_key(Some(Action::Open), none, 0), SearchStep::Stay);
    }
}
