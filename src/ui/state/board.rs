//! The board: six columns with a loaded window of cards each, the cursor, the filter and the
//! generation of board requests (a stale reply is dropped).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::clamp;
use crate::domain::{Issue, Status};
use crate::store::StatusCounts;
use crate::ui::keymap::{Action, Context, Keymap};
use crate::ui::store_thread::{Card, ColumnWindow, StoreRequest};

/// A board column: its count and the loaded window of cards around the view.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Which column.
    pub status: Status,
    /// Cards in it (after the filter).
    pub count: i64,
    /// Index of the first visible card.
    pub offset: i64,
    /// Index of the selected card.
    pub cursor: i64,
    /// Index of `cards[0]`.
    pub window_start: i64,
    /// The loaded window.
    pub cards: Vec<Card>,
}

impl Column {
    fn new(status: Status) -> Column {
        Column {
            status,
            count: 0,
            offset: 0,
            cursor: 0,
            window_start: 0,
            cards: Vec::new(),
        }
    }

    /// The card at an absolute index, when loaded.
    pub fn card(&self, index: i64) -> Option<&Card> {
        let i = usize::try_from(index - self.window_start).ok()?;
        self.cards.get(i)
    }
}

/// The columns, the focused one, the filter and the board requests in flight.
#[derive(Debug, Clone)]
pub struct Board {
    columns: Vec<Column>,
    col: usize,
    filter: String,
    typing: bool,
    gen: u64,
    applied_gen: u64,
}

impl Default for Board {
    fn default() -> Self {
        Board {
            columns: Status::ALL.iter().map(|s| Column::new(*s)).collect(),
            col: 0,
            filter: String::new(),
            typing: false,
            gen: 0,
            applied_gen: 0,
        }
    }
}

impl Board {
    /// The six columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The focused column's index.
    pub fn col(&self) -> usize {
        self.col
    }

    /// The active filter.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Whether keys type into the filter (after `/`, until enter or esc).
    pub fn is_typing(&self) -> bool {
        self.typing
    }

    /// The selected card of the focused column.
    pub fn selected_card(&self) -> Option<&Card> {
        let c = self.columns.get(self.col)?;
        c.card(c.cursor)
    }

    /// Whether a card shows a live run (its elapsed time ticks).
    pub fn any_live(&self) -> bool {
        self.columns
            .iter()
            .any(|c| c.cards.iter().any(|k| k.live.is_some()))
    }

    /// A loaded card, by issue id.
    pub fn card_of(&self, id: i64) -> Option<&Card> {
        self.columns
            .iter()
            .flat_map(|c| c.cards.iter())
            .find(|c| c.issue.id == id)
    }

    /// A loaded issue.
    pub fn issue(&self, id: i64) -> Option<&Issue> {
        self.columns
            .iter()
            .flat_map(|c| c.cards.iter())
            .map(|c| &c.issue)
            .find(|i| i.id == id)
    }

    /// The card index `slot` rows below the first card shown in `col`, when there is one.
    pub fn index_at(&self, col: usize, slot: i64) -> Option<i64> {
        let c = self.columns.get(col)?;
        let index = c.offset + slot;
        (index < c.count).then_some(index)
    }

    /// A new board request: a window of three screens of `rows` cards around each column's
    /// view, so small scrolls need no reload.
    pub(crate) fn request(&mut self, rows: i64) -> StoreRequest {
        self.gen += 1;
        let mut windows = [(0i64, 0i64); Status::ALL.len()];
        for (w, c) in windows.iter_mut().zip(self.columns.iter()) {
            *w = ((c.offset - rows).max(0), rows * 3);
        }
        StoreRequest::Board {
            gen: self.gen,
            filter: self.filter.clone(),
            windows,
        }
    }

    /// Folds a board reply in, unless a newer one was already applied.
    pub(crate) fn apply(&mut self, gen: u64, counts: &StatusCounts, columns: Vec<ColumnWindow>) {
        if gen < self.applied_gen {
            return;
        }
        self.applied_gen = gen;
        for (c, w) in self.columns.iter_mut().zip(columns) {
            c.count = counts.get(c.status);
            c.window_start = w.offset;
            c.cards = w.cards;
            c.cursor = clamp(c.cursor, 0, c.count - 1);
            c.offset = clamp(c.offset, 0, c.count - 1);
        }
    }

    /// Focuses a column (the last one at most).
    pub(crate) fn focus_column(&mut self, col: usize) {
        self.col = col.min(self.columns.len() - 1);
    }

    /// The column to the right (or left), stopping at the ends.
    pub(crate) fn step_column(&mut self, right: bool) {
        let col = if right {
            self.col + 1
        } else {
            self.col.saturating_sub(1)
        };
        self.focus_column(col);
    }

    /// Moves the cursor of the focused column by `delta`, keeping it among the `rows` cards
    /// shown. True when the view left the loaded window, so the board must be reloaded.
    pub(crate) fn move_cursor(&mut self, delta: i64, rows: i64) -> bool {
        let Some(c) = self.columns.get_mut(self.col) else {
            return false;
        };
        c.cursor = clamp(c.cursor + delta, 0, c.count - 1);
        if c.cursor < c.offset {
            c.offset = c.cursor;
        } else if c.cursor >= c.offset + rows {
            c.offset = c.cursor - rows + 1;
        }
        let end = (c.offset + rows).min(c.count);
        let loaded_end = c.window_start + c.cards.len() as i64;
        c.offset < c.window_start || end > loaded_end
    }

    /// A navigation action on the focused column (`rows` cards make a page). True when the
    /// board must be reloaded.
    pub(crate) fn navigate(&mut self, action: Action, rows: i64) -> bool {
        let count = self.columns.get(self.col).map_or(0, |c| c.count);
        let cursor = self.columns.get(self.col).map_or(0, |c| c.cursor);
        let delta = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -rows,
            Action::PageDown => rows,
            Action::Top => -cursor,
            _ => count - 1 - cursor,
        };
        self.move_cursor(delta, rows)
    }

    /// Every column back to its first card (the filter changed).
    pub(crate) fn reset_scroll(&mut self) {
        for c in &mut self.columns {
            c.offset = 0;
            c.cursor = 0;
        }
    }

    /// Clears the filter; true when there was one (the board must be reloaded).
    pub(crate) fn clear_filter(&mut self) -> bool {
        if self.filter.is_empty() {
            return false;
        }
        self.filter.clear();
        self.reset_scroll();
        true
    }

    /// Starts typing into the filter.
    pub(crate) fn start_typing(&mut self) {
        self.typing = true;
    }

    /// A key while typing into the filter (`action` is what the filter context binds it to).
    /// True when the filter changed, so the board must be reloaded.
    pub(crate) fn type_key(&mut self, action: Option<Action>, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match (action, key.code) {
            (Some(Action::Close), _) => {
                self.typing = false;
                self.clear_filter()
            }
            (Some(Action::Done), _) => {
                self.typing = false;
                false
            }
            (Some(_), _) => false,
            (None, KeyCode::Backspace) => {
                self.filter.pop();
                self.reset_scroll();
                true
            }
            (None, KeyCode::Char(c)) if !ctrl => {
                self.filter.push(c);
                self.reset_scroll();
                true
            }
            _ => false,
        }
    }

    /// The prompt key and the keys to end typing, for the hint line while typing.
    pub fn typing_hints(keymap: &Keymap) -> (String, String) {
        (
            keymap.label(Context::Board, Action::Filter),
            format!(
                "{} keep · {} clear",
                keymap.label(Context::Filter, Action::Done),
                keymap.label(Context::Filter, Action::Close)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Kind;

    fn card(id: i64) -> Card {
        Card {
            issue: Issue::sample(id, &format!("card {id}"), Kind::Chore, Status::Backlog),
            question: None,
            live: None,
            review: Default::default(),
            spend_usd: 0.0,
            waits_on: Vec::new(),
            progress: None,
        }
    }

    fn board_of(count: i64, loaded: i64) -> Board {
        let mut b = Board::default();
        let mut counts = StatusCounts::default();
        counts.0[0] = count;
        let mut columns = vec![ColumnWindow::default(); 6];
        columns[0].cards = (1..=loaded).map(card).collect();
        b.apply(1, &counts, columns);
        b
    }

    #[test]
    fn the_cursor_pages_by_the_rows_shown_and_reloads_past_the_window() {
        let mut b = board_of(100, 30);
        assert!(!b.navigate(Action::Down, 10));
        assert!(!b.navigate(Action::PageDown, 10));
        assert_eq!((b.columns()[0].cursor, b.columns()[0].offset), (11, 2));
        assert!(b.navigate(Action::Bottom, 10), "the end is not loaded");
        assert_eq!((b.columns()[0].cursor, b.columns()[0].offset), (99, 90));
        assert_eq!(b.index_at(0, 9), Some(99));
        assert_eq!(b.index_at(0, 10), None);
        match b.request(10) {
            StoreRequest::Board { windows, gen, .. } => {
                assert_eq!((windows[0], gen), ((80, 30), 1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn older_replies_are_dropped_and_cursors_stay_inside_the_counts() {
        let mut b = board_of(5, 5);
        b.navigate(Action::Bottom, 10);
        let mut counts = StatusCounts::default();
        counts.0[0] = 2;
        b.apply(0, &counts, vec![ColumnWindow::default(); 6]);
        assert_eq!(b.columns()[0].count, 5, "an older generation");
        b.apply(2, &counts, vec![ColumnWindow::default(); 6]);
        assert_eq!((b.columns()[0].count, b.columns()[0].cursor), (2, 1));
    }

    #[test]
    fn typing_edits_the_filter_until_done_or_cleared() {
        let mut b = Board::default();
        b.start_typing();
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert!(b.type_key(None, key('w')));
        assert!(b.type_key(None, key('e')));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert!(!b.type_key(None, ctrl_c));
        assert!(b.type_key(None, KeyEvent::from(KeyCode::Backspace)));
        assert!(!b.type_key(Some(Action::Done), KeyEvent::from(KeyCode::Enter)));
        assert_eq!((b.filter(), b.is_typing()), ("w", false));
        b.start_typing();
        assert!(b.type_key(Some(Action::Close), KeyEvent::from(KeyCode::Esc)));
        assert_eq!((b.filter(), b.is_typing()), ("", false));
        assert_eq!(
            Board::typing_hints(&Keymap::default()),
            ("/".to_string(), "enter keep · esc clear".to_string())
        );
    }
}
