//! App state and the pure `update`: keys become actions, actions and background events change
//! state and queue effects (store requests, runner commands) that the event loop carries out.

use std::collections::{BTreeSet, VecDeque};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use tui_textarea::TextArea;

use super::keymap::{normalize, Action, Context, HelpRow, Keymap};
use super::store_thread::{Card, InboxItem, StoreReply, StoreRequest};
use super::theme::Theme;
use crate::domain::{
    legal_targets, Actor, AuthorKind, Event, EventKind, IssueDetail, Kind, Millis, RunOutcome,
    Status,
};
use crate::runner::{PaneLine, RunnerCommand, RunnerEvent};
use crate::store::{IssueEdit, NewIssue, PauseState};

/// The board's columns, one per status.
const COLUMNS: usize = Status::ALL.len();
/// Lines kept per agent pane; the full transcript stays in the store.
pub const PANE_CAPACITY: usize = 2_000;
/// Rows one card takes on the board.
pub const CARD_HEIGHT: u16 = 3;
/// Narrowest a board column may get before fewer columns are shown.
pub const MIN_COLUMN_WIDTH: u16 = 26;
/// Most toasts shown at once.
const MAX_TOASTS: usize = 5;

/// Which area receives keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The six columns.
    Board,
    /// The agent panes.
    Panes,
    /// The blocked inbox.
    Inbox,
    /// The notifications, to open the issue one is about.
    Toasts,
}

/// Something for the event loop to do on the UI's behalf.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Ask the store thread.
    Store(StoreRequest),
    /// Tell the runner of this process.
    Runner(RunnerCommand),
    /// Ring the terminal bell.
    Bell,
    /// Suspend the process (ctrl-z).
    Suspend,
}

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

/// Whether a pane's run is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneState {
    /// Streaming.
    Running,
    /// Ended this way.
    Finished(RunOutcome),
}

/// One runner slot's live output.
#[derive(Debug, Clone)]
pub struct Pane {
    /// Runner slot.
    pub slot: usize,
    /// The run.
    pub run_id: i64,
    /// The issue.
    pub issue_id: i64,
    /// Its title.
    pub title: String,
    /// Agent id.
    pub agent: String,
    /// Running or how it ended.
    pub state: PaneState,
    /// When it started (UI clock).
    pub started: Millis,
    /// When it ended (UI clock).
    pub ended: Option<Millis>,
    /// Turns so far.
    pub turns: Option<i64>,
    /// Cost so far.
    pub cost: Option<f64>,
    /// The newest lines, at most `PANE_CAPACITY`.
    pub lines: VecDeque<PaneLine>,
    /// Lines scrolled up from the bottom (0 = tail).
    pub scroll: usize,
    /// Stick to the tail as lines arrive.
    pub follow: bool,
}

impl Pane {
    fn push(&mut self, lines: Vec<PaneLine>) {
        let added = lines.len();
        for l in lines {
            if self.lines.len() == PANE_CAPACITY {
                self.lines.pop_front();
            }
            self.lines.push_back(l);
        }
        if !self.follow {
            // Keep the same lines in view while new ones arrive below.
            self.scroll = (self.scroll + added).min(self.lines.len().saturating_sub(1));
        }
    }
}

/// The keys overlay: every binding, filterable, and a way to run the selected one (so it
/// doubles as a command palette).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelpState {
    /// Rows are kept when their keys, description or context contain this (any case).
    pub filter: String,
    /// Whether keys type into the filter (after `/`).
    pub typing: bool,
    /// The selected row among those kept.
    pub selected: usize,
}

/// What an editor is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditorPurpose {
    /// A new issue.
    New,
    /// Editing an issue.
    Edit(i64),
    /// A comment.
    Comment(i64),
    /// Request changes on a reviewed issue.
    RequestChanges(i64),
    /// Answer a blocked question (inline in the inbox).
    Reply(i64),
}

/// Editor fields in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// One-line title.
    Title,
    /// Multi-line body.
    Body,
    /// Kind picker.
    Kind,
    /// Priority number.
    Priority,
}

/// The issue/comment editor.
#[derive(Debug, Clone)]
pub struct Editor {
    /// What saving does.
    pub purpose: EditorPurpose,
    /// Title input.
    pub title: TextArea<'static>,
    /// Body input.
    pub body: TextArea<'static>,
    /// Selected kind.
    pub kind: Kind,
    /// Priority.
    pub priority: i64,
    /// Focused field.
    pub field: Field,
    /// Validation message.
    pub error: Option<String>,
}

impl Editor {
    fn new(purpose: EditorPurpose) -> Editor {
        let title = text_input(Vec::new(), Some("title"));
        let body = text_input(
            Vec::new(),
            Some(match purpose {
                EditorPurpose::New | EditorPurpose::Edit(_) => "description (markdown)",
                EditorPurpose::Reply(_) => "your answer",
                _ => "your comment",
            }),
        );
        let field = if Self::has_title(purpose) {
            Field::Title
        } else {
            Field::Body
        };
        Editor {
            purpose,
            title,
            body,
            kind: Kind::Feature,
            priority: 0,
            field,
            error: None,
        }
    }

    fn has_title(purpose: EditorPurpose) -> bool {
        matches!(purpose, EditorPurpose::New | EditorPurpose::Edit(_))
    }

    /// Whether this editor has title, kind and priority fields.
    pub fn is_issue(&self) -> bool {
        Self::has_title(self.purpose)
    }

    /// The heading.
    pub fn heading(&self) -> String {
        match self.purpose {
            EditorPurpose::New => "New issue".into(),
            EditorPurpose::Edit(id) => format!("Edit #{id}"),
            EditorPurpose::Comment(id) => format!("Comment on #{id}"),
            EditorPurpose::RequestChanges(id) => format!("Request changes on #{id}"),
            EditorPurpose::Reply(id) => format!("Answer #{id}"),
        }
    }

    fn next_field(&mut self, back: bool) {
        if !self.is_issue() {
            return;
        }
        let order = [Field::Title, Field::Body, Field::Kind, Field::Priority];
        self.field = cycle(&order, self.field, back);
    }
}

/// An editor text box holding `lines`, without the default underline on the cursor's line.
fn text_input(lines: Vec<String>, placeholder: Option<&str>) -> TextArea<'static> {
    let mut input = TextArea::new(lines);
    input.set_cursor_line_style(ratatui::style::Style::default());
    if let Some(text) = placeholder {
        input.set_placeholder_text(text);
    }
    input
}

/// The index after (or before) `i` among `n`, wrapping around.
fn step(i: usize, n: usize, back: bool) -> usize {
    if back {
        (i + n - 1) % n
    } else {
        (i + 1) % n
    }
}

/// The value after (or before) `current` in `order`, wrapping around (from the first when
/// `current` is not in it). `order` is never empty.
fn cycle<T: Copy + PartialEq>(order: &[T], current: T, back: bool) -> T {
    let i = order.iter().position(|x| *x == current).unwrap_or(0);
    order[step(i, order.len(), back)]
}

/// The issue detail overlay.
#[derive(Debug, Clone)]
pub struct DetailView {
    /// The issue.
    pub id: i64,
    /// Loaded detail (None while loading).
    pub detail: Option<Box<IssueDetail>>,
    /// Scroll position in lines.
    pub scroll: u16,
    /// Selected run (index into `runs`, newest last).
    pub run_cursor: usize,
    /// An open transcript.
    pub transcript: Option<TranscriptView>,
}

/// A run's full transcript.
#[derive(Debug, Clone)]
pub struct TranscriptView {
    /// The run.
    pub run_id: i64,
    /// Lines (None while loading).
    pub lines: Option<Vec<PaneLine>>,
    /// Scroll position.
    pub scroll: usize,
}

/// The inbox list.
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    /// Blocked issues, newest question first.
    pub items: Vec<InboxItem>,
    /// Selected item.
    pub cursor: usize,
    /// Questions already looked at (`issue id`, `asked_at`); private, so `unread` stays true.
    seen: BTreeSet<(i64, Millis)>,
    /// Cached count of unread questions: the header shows it every frame, and the inbox can
    /// hold a thousand questions on a big board.
    unread: usize,
}

impl Inbox {
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
}

/// A yes/no question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Quit while agents run.
    Quit {
        /// How many.
        running: usize,
    },
}

/// Everything the UI shows, owned by the UI task alone.
pub struct App {
    /// Styles.
    pub theme: Theme,
    /// Bindings.
    pub keymap: Keymap,
    /// Who the human is (author of comments and moves).
    pub user: String,
    /// Repository name for the header.
    pub repo: String,
    /// The UI clock (epoch ms), set by the loop; fixed in tests.
    pub now: Millis,
    /// Terminal size.
    pub size: (u16, u16),
    /// Keyboard focus.
    pub focus: Focus,
    /// The six columns.
    pub columns: Vec<Column>,
    /// Focused column.
    pub col: usize,
    /// Active filter.
    pub filter: String,
    /// Whether keys type into the filter (after `/`, until enter or esc).
    pub filter_typing: bool,
    /// Agent panes, by slot order.
    pub panes: Vec<Pane>,
    /// Selected pane.
    pub pane_cursor: usize,
    /// Zoomed pane.
    pub zoom: bool,
    /// The blocked inbox.
    pub inbox: Inbox,
    /// Open detail.
    pub detail: Option<DetailView>,
    /// Open editor.
    pub editor: Option<Editor>,
    /// The keys overlay, when open.
    pub help: Option<HelpState>,
    /// Open confirmation.
    pub confirm: Option<Confirm>,
    /// Notifications, oldest first.
    pub toasts: Vec<Toast>,
    /// A condition the user must fix.
    pub banner: Option<String>,
    /// A runner runs in this process.
    pub has_runner: bool,
    /// Whether claiming is paused by a person, or held after a rate limit (until when, why).
    pub pause: PauseState,
    /// Ring the bell on "needs you".
    pub bell: bool,
    /// Capture the mouse.
    pub mouse: bool,
    /// Set when the screen must be redrawn.
    pub dirty: bool,
    /// Set when the user quit.
    pub quit: bool,
    /// Quit as soon as no agent of this process runs (the user chose to wait for them).
    pub quit_when_idle: bool,
    /// The focused notification, counted from the newest.
    pub toast_cursor: usize,
    /// Work for the event loop.
    pub outbox: Vec<Effect>,
    board_gen: u64,
    applied_gen: u64,
}

fn clamp(v: i64, lo: i64, hi: i64) -> i64 {
    v.max(lo).min(hi.max(lo))
}

impl App {
    /// A fresh app; nothing is loaded until `start` queues the first requests.
    pub fn new(theme: Theme, keymap: Keymap, user: String, repo: String) -> App {
        App {
            theme,
            keymap,
            user,
            repo,
            now: 0,
            size: (80, 24),
            focus: Focus::Board,
            columns: Status::ALL.iter().map(|s| Column::new(*s)).collect(),
            col: 0,
            filter: String::new(),
            filter_typing: false,
            panes: Vec::new(),
            pane_cursor: 0,
            zoom: false,
            inbox: Inbox::default(),
            detail: None,
            editor: None,
            help: None,
            confirm: None,
            toasts: Vec::new(),
            banner: None,
            has_runner: false,
            pause: PauseState::default(),
            bell: false,
            mouse: false,
            dirty: true,
            quit: false,
            quit_when_idle: false,
            toast_cursor: 0,
            outbox: Vec::new(),
            board_gen: 0,
            applied_gen: 0,
        }
    }

    /// Queues the initial loads.
    pub fn start(&mut self) {
        self.request_board();
        self.outbox.push(Effect::Store(StoreRequest::Inbox));
    }

    /// Takes the queued effects.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.outbox)
    }

    /// Shows a notification.
    pub fn toast(&mut self, level: Level, text: impl Into<String>, issue_id: Option<i64>) {
        self.toasts.push(Toast {
            // Toasts quote names and errors from elsewhere; never let a control sequence through.
            text: crate::runner::sanitize::strip_all(&text.into()),
            level,
            issue_id,
            born: self.now,
        });
        if self.toasts.len() > MAX_TOASTS {
            self.toasts.remove(0);
        }
        self.dirty = true;
    }

    /// Running agents in this process.
    pub fn running(&self) -> usize {
        self.panes
            .iter()
            .filter(|p| p.state == PaneState::Running)
            .count()
    }

    /// The end of a rate limit's hold on claiming, while it lasts.
    pub fn held_until(&self) -> Option<Millis> {
        self.pause.until.filter(|until| *until > self.now)
    }

    /// Pauses or resumes claiming as shown; resuming lifts a hold as well.
    fn set_paused(&mut self, paused: bool) {
        self.pause.paused = paused;
        if !paused {
            self.pause.until = None;
            self.pause.reason = None;
        }
        self.dirty = true;
    }

    /// Whether a once-a-second tick is needed (elapsed counters, toast expiry, the end of a
    /// hold).
    pub fn needs_tick(&self) -> bool {
        self.animating() || self.held_until().is_some()
    }

    fn animating(&self) -> bool {
        !self.toasts.is_empty()
            || self.running() > 0
            || self
                .columns
                .iter()
                .any(|c| c.cards.iter().any(|k| k.live.is_some()))
    }

    /// Advances the clock; expires toasts. Redraws only when something visible changes.
    pub fn tick(&mut self, now: Millis) {
        let held = self.held_until().is_some();
        self.now = now;
        let before = self.toasts.len();
        // Notifications hold still while the user is choosing one.
        if self.focus != Focus::Toasts {
            self.toasts.retain(|t| now - t.born < t.lifetime());
        }
        if before != self.toasts.len() || self.animating() || held != self.held_until().is_some() {
            self.dirty = true;
        }
    }

    /// The keymap context for the current layer.
    pub fn context(&self) -> Context {
        if self.detail.is_some() {
            return Context::Detail;
        }
        match self.focus {
            Focus::Board => Context::Board,
            Focus::Panes => Context::Panes,
            Focus::Inbox => Context::Inbox,
            Focus::Toasts => Context::Toasts,
        }
    }

    /// Board rows available for cards in one column, from the terminal size.
    pub fn card_rows(&self) -> i64 {
        super::views::card_rows(self).max(1)
    }

    /// Columns shown side by side at the current width.
    pub fn visible_columns(&self) -> usize {
        usize::from(self.size.0 / MIN_COLUMN_WIDTH).clamp(1, COLUMNS)
    }

    /// The first column shown (the focused one is always visible).
    pub fn first_column(&self) -> usize {
        let n = self.visible_columns();
        if self.col < n {
            0
        } else {
            (self.col + 1 - n).min(COLUMNS - n)
        }
    }

    /// The selected card of the focused column.
    pub fn selected_card(&self) -> Option<&Card> {
        let c = self.columns.get(self.col)?;
        c.card(c.cursor)
    }

    /// The issue keys act on: the selected card, pane or inbox item.
    pub fn selected_issue(&self) -> Option<(i64, Option<Status>)> {
        if let Some(d) = &self.detail {
            return Some((d.id, d.detail.as_ref().map(|x| x.issue.status)));
        }
        match self.focus {
            Focus::Board => self
                .selected_card()
                .map(|c| (c.issue.id, Some(c.issue.status))),
            Focus::Panes => self.panes.get(self.pane_cursor).map(|p| {
                let status = if p.state == PaneState::Running {
                    Some(Status::InProgress)
                } else {
                    None
                };
                (p.issue_id, status)
            }),
            Focus::Inbox => self
                .inbox
                .items
                .get(self.inbox.cursor)
                .map(|i| (i.issue_id, Some(Status::Blocked))),
            Focus::Toasts => self
                .toasts
                .iter()
                .rev()
                .nth(self.toast_cursor)
                .and_then(|t| t.issue_id)
                .map(|id| (id, None)),
        }
    }

    fn request_board(&mut self) {
        self.board_gen += 1;
        let rows = self.card_rows();
        let mut windows = [(0i64, 0i64); COLUMNS];
        for (w, c) in windows.iter_mut().zip(self.columns.iter()) {
            // A window of three screens around the view, so small scrolls need no reload.
            *w = ((c.offset - rows).max(0), rows * 3);
        }
        self.outbox.push(Effect::Store(StoreRequest::Board {
            gen: self.board_gen,
            filter: self.filter.clone(),
            windows,
        }));
    }

    fn reload(&mut self) {
        self.request_board();
        self.outbox.push(Effect::Store(StoreRequest::Inbox));
        if let Some(d) = &self.detail {
            self.outbox.push(Effect::Store(StoreRequest::Detail(d.id)));
        }
    }

    fn move_cursor(&mut self, delta: i64) {
        let rows = self.card_rows();
        let Some(c) = self.columns.get_mut(self.col) else {
            return;
        };
        c.cursor = clamp(c.cursor + delta, 0, c.count - 1);
        if c.cursor < c.offset {
            c.offset = c.cursor;
        } else if c.cursor >= c.offset + rows {
            c.offset = c.cursor - rows + 1;
        }
        let end = (c.offset + rows).min(c.count);
        let loaded_end = c.window_start + c.cards.len() as i64;
        if c.offset < c.window_start || end > loaded_end {
            self.request_board();
        }
        self.dirty = true;
    }

    fn focus_column(&mut self, col: usize) {
        self.col = col.min(COLUMNS - 1);
        self.focus = Focus::Board;
        self.dirty = true;
    }

    fn open_editor(&mut self, purpose: EditorPurpose) {
        let mut ed = Editor::new(purpose);
        if let EditorPurpose::Edit(id) = purpose {
            let found = self
                .columns
                .iter()
                .flat_map(|c| c.cards.iter())
                .map(|c| &c.issue)
                .chain(
                    self.detail
                        .as_ref()
                        .and_then(|d| d.detail.as_ref())
                        .map(|d| &d.issue),
                )
                .find(|i| i.id == id)
                .cloned();
            let Some(issue) = found else {
                self.toast(Level::Warn, format!("#{id} is not loaded yet"), Some(id));
                return;
            };
            ed.title = text_input(vec![issue.title.clone()], None);
            ed.body = text_input(issue.body.lines().map(str::to_string).collect(), None);
            ed.kind = issue.kind;
            ed.priority = issue.priority;
        }
        self.editor = Some(ed);
        self.dirty = true;
    }

    fn human_move(&mut self, to: Status, verb: &str, from_expected: &[Status]) {
        let Some((id, status)) = self.selected_issue() else {
            self.toast(Level::Info, "no issue selected", None);
            return;
        };
        match status {
            Some(s)
                if from_expected.contains(&s) && legal_targets(s, Actor::Human).contains(&to) =>
            {
                self.outbox.push(Effect::Store(StoreRequest::Move(id, to)));
            }
            Some(s) => {
                let from: Vec<&str> = from_expected.iter().map(|s| s.as_str()).collect();
                self.toast(
                    Level::Warn,
                    format!("#{id} is {s}: {verb} works from {}", from.join("/")),
                    Some(id),
                );
            }
            None => self.toast(
                Level::Warn,
                format!("#{id}: status not loaded yet"),
                Some(id),
            ),
        }
    }

    fn save_editor(&mut self) {
        let Some(ed) = self.editor.as_mut() else {
            return;
        };
        let title = ed.title.lines().join(" ").trim().to_string();
        let body = ed.body.lines().join("\n").trim_end().to_string();
        if ed.is_issue() && title.is_empty() {
            ed.error = Some("a title is needed".into());
            ed.field = Field::Title;
            self.dirty = true;
            return;
        }
        if !ed.is_issue() && body.trim().is_empty() {
            ed.error = Some("write something first (esc cancels)".into());
            self.dirty = true;
            return;
        }
        let req = match ed.purpose {
            EditorPurpose::New => StoreRequest::Create(NewIssue {
                title,
                body,
                kind: ed.kind,
                priority: ed.priority,
                ready: false,
                depends_on: Vec::new(),
            }),
            EditorPurpose::Edit(id) => StoreRequest::Update(
                id,
                IssueEdit {
                    title: Some(title),
                    body: Some(body),
                    kind: Some(ed.kind),
                    priority: Some(ed.priority),
                    base: None,
                },
            ),
            EditorPurpose::Comment(id) | EditorPurpose::Reply(id) => {
                StoreRequest::Comment(id, body)
            }
            EditorPurpose::RequestChanges(id) => StoreRequest::RequestChanges(id, body),
        };
        self.outbox.push(Effect::Store(req));
        self.editor = None;
        self.dirty = true;
    }

    /// Routes a key through the layers: confirm, editor, filter, help, then the keymap.
    pub fn on_key(&mut self, key: KeyEvent) {
        let key = normalize(key);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if let Some(Confirm::Quit { running }) = self.confirm {
            match key.code {
                KeyCode::Char('y' | 's') | KeyCode::Enter => self.quit = true,
                KeyCode::Char('w') => {
                    // Drain: claim nothing more here, quit once the running agents finish.
                    self.outbox.push(Effect::Runner(RunnerCommand::Drain));
                    self.quit_when_idle = true;
                    self.confirm = None;
                    self.toast(
                        Level::Info,
                        format!("waiting for {running} agent(s) to finish, then quitting (q again to stop them)"),
                        None,
                    );
                }
                _ => self.confirm = None,
            }
            self.dirty = true;
            return;
        }
        if self.editor.is_some() {
            self.editor_key(key, ctrl);
            return;
        }
        if self.filter_typing {
            match key.code {
                KeyCode::Esc => {
                    self.filter_typing = false;
                    if !self.filter.is_empty() {
                        self.filter.clear();
                        self.reset_scroll();
                    }
                }
                KeyCode::Enter => self.filter_typing = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                    self.reset_scroll();
                }
                KeyCode::Char(c) if !ctrl => {
                    self.filter.push(c);
                    self.reset_scroll();
                }
                _ => {}
            }
            self.dirty = true;
            return;
        }
        if self.help.is_some() {
            self.help_key(key, ctrl);
            self.dirty = true;
            return;
        }
        if let Some(action) = self.keymap.lookup(self.context(), key) {
            update(self, action);
        }
    }

    /// The rows the keys overlay shows now.
    pub fn help_rows(&self) -> Vec<HelpRow> {
        self.help
            .as_ref()
            .map(|h| self.keymap.help_rows(&h.filter))
            .unwrap_or_default()
    }

    /// Keys while the overlay is open: `/` filters, j/k select, enter runs, esc closes.
    fn help_key(&mut self, key: KeyEvent, ctrl: bool) {
        let rows = self.help_rows().len();
        let Some(h) = self.help.as_mut() else {
            return;
        };
        if h.typing {
            match key.code {
                KeyCode::Esc => {
                    h.filter.clear();
                    h.typing = false;
                }
                KeyCode::Enter => h.typing = false,
                KeyCode::Backspace => {
                    h.filter.pop();
                }
                KeyCode::Char('c') if ctrl => self.quit = true,
                KeyCode::Char(c) if !ctrl => h.filter.push(c),
                _ => {}
            }
            h.selected = 0;
            return;
        }
        match (key.code, self.keymap.lookup(Context::Global, key)) {
            (KeyCode::Char('/'), _) => h.typing = true,
            (KeyCode::Esc, _) | (_, Some(Action::Help | Action::Quit)) => self.help = None,
            (KeyCode::Enter, _) => self.run_help_row(),
            (_, Some(Action::Down)) => h.selected = (h.selected + 1).min(rows.saturating_sub(1)),
            (_, Some(Action::Up)) => h.selected = h.selected.saturating_sub(1),
            (_, Some(Action::ForceQuit)) => self.quit = true,
            _ => {}
        }
    }

    /// Runs the selected overlay row when it applies where the user is (or everywhere).
    fn run_help_row(&mut self) {
        let selected = self.help.as_ref().map_or(0, |h| h.selected);
        let Some(row) = self.help_rows().into_iter().nth(selected) else {
            return;
        };
        let here = self.context();
        if row.context == Context::Global || row.context == here {
            self.help = None;
            update(self, row.action);
        } else {
            self.toast(
                Level::Info,
                format!(
                    "“{}” works in {}, not in {}",
                    row.desc,
                    row.context.title(),
                    here.title()
                ),
                None,
            );
        }
    }

    fn editor_key(&mut self, key: KeyEvent, ctrl: bool) {
        let Some(ed) = self.editor.as_mut() else {
            return;
        };
        self.dirty = true;
        match key.code {
            KeyCode::Esc => {
                self.editor = None;
                return;
            }
            KeyCode::Char('s') if ctrl => {
                self.save_editor();
                return;
            }
            KeyCode::Tab => {
                ed.next_field(false);
                return;
            }
            KeyCode::BackTab => {
                ed.next_field(true);
                return;
            }
            _ => {}
        }
        ed.error = None;
        match ed.field {
            Field::Title => {
                if key.code == KeyCode::Enter {
                    ed.field = Field::Body;
                } else {
                    ed.title.input(key);
                }
            }
            Field::Body => {
                ed.body.input(key);
            }
            Field::Kind => match key.code {
                KeyCode::Left | KeyCode::Char('h') => ed.kind = cycle(Kind::ALL, ed.kind, true),
                KeyCode::Right | KeyCode::Char('l') | KeyCode::Char(' ') => {
                    ed.kind = cycle(Kind::ALL, ed.kind, false)
                }
                KeyCode::Char('f') => ed.kind = Kind::Feature,
                KeyCode::Char('b') => ed.kind = Kind::Bug,
                KeyCode::Char('c') => ed.kind = Kind::Chore,
                KeyCode::Char('F') => ed.kind = Kind::Feedback,
                _ => {}
            },
            Field::Priority => match key.code {
                KeyCode::Left | KeyCode::Down | KeyCode::Char('-') => ed.priority -= 1,
                KeyCode::Right | KeyCode::Up | KeyCode::Char('+') => ed.priority += 1,
                KeyCode::Char(c) if c.is_ascii_digit() => {
                    let d = i64::from(c.to_digit(10).unwrap_or(0));
                    ed.priority =
                        (ed.priority.abs().saturating_mul(10).saturating_add(d)).min(9_999);
                }
                KeyCode::Backspace => ed.priority /= 10,
                _ => {}
            },
        }
    }

    fn reset_scroll(&mut self) {
        for c in &mut self.columns {
            c.offset = 0;
            c.cursor = 0;
        }
        self.request_board();
    }

    /// Mouse: click selects, wheel scrolls (only when enabled in the config).
    pub fn on_mouse(&mut self, m: MouseEvent) {
        if !self.mouse || self.editor.is_some() || self.help.is_some() {
            return;
        }
        let wheel = match m.kind {
            MouseEventKind::ScrollDown => Some(Action::Down),
            MouseEventKind::ScrollUp => Some(Action::Up),
            _ => None,
        };
        // Mouse capture reports every movement, drag and release: none of them changes
        // anything, so they cost neither a hit-test nor a frame.
        if wheel.is_none() && !matches!(m.kind, MouseEventKind::Down(_)) {
            return;
        }
        if self.detail.is_some() {
            // The detail (and its transcript) fills the screen: the wheel scrolls it.
            if let Some(action) = wheel {
                update(self, action);
            }
            return;
        }
        let pane = super::views::pane_hit(self, m.column, m.row);
        let card = match pane {
            Some(_) => None,
            None => super::views::board_hit(self, m.column, m.row),
        };
        match (m.kind, wheel) {
            // The wheel scrolls what is under the pointer, focusing it.
            (_, Some(action)) => {
                if let Some(i) = pane {
                    self.focus = Focus::Panes;
                    self.pane_cursor = i;
                } else if card.is_some() && self.focus == Focus::Panes {
                    self.focus = Focus::Board;
                }
                update(self, action);
            }
            (MouseEventKind::Down(_), None) => {
                if let Some(i) = pane {
                    self.focus = Focus::Panes;
                    self.pane_cursor = i;
                } else if let Some((col, index)) = card {
                    self.focus_column(col);
                    let delta = index - self.columns[self.col].cursor;
                    self.move_cursor(delta);
                }
            }
            _ => {}
        }
        self.dirty = true;
    }

    /// Terminal resized.
    pub fn resize(&mut self, w: u16, h: u16) {
        if self.size != (w, h) {
            self.size = (w, h);
            self.request_board();
        }
        self.dirty = true;
    }

    /// Folds a store reply into state.
    pub fn on_store(&mut self, reply: StoreReply) {
        self.dirty = true;
        match reply {
            StoreReply::Board {
                gen,
                counts,
                columns,
            } => {
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
            StoreReply::Inbox(items) => {
                self.inbox.set_items(items);
                if self.focus == Focus::Inbox {
                    self.inbox.mark_seen();
                }
            }
            StoreReply::Detail(d) => {
                if let Some(view) = self.detail.as_mut().filter(|v| v.id == d.issue.id) {
                    if view.detail.is_none() {
                        view.run_cursor = d.runs.len().saturating_sub(1);
                    }
                    view.detail = Some(d);
                }
            }
            StoreReply::Transcript { run_id, lines } => {
                if let Some(t) = self
                    .detail
                    .as_mut()
                    .and_then(|d| d.transcript.as_mut())
                    .filter(|t| t.run_id == run_id)
                {
                    t.lines = Some(lines);
                }
            }
            StoreReply::Done { message, issue } => {
                let id = issue.as_ref().map(|i| i.id);
                if issue.as_ref().is_some_and(|i| i.status == Status::Ready) && self.has_runner {
                    self.outbox.push(Effect::Runner(RunnerCommand::Wake));
                }
                self.toast(Level::Ok, message, id);
            }
            StoreReply::Failed(msg) => self.toast(Level::Error, msg, None),
            StoreReply::Changed { events, pause } => {
                self.pause = pause;
                for e in &events {
                    self.event_toast(e);
                }
                self.reload();
            }
        }
    }

    fn event_toast(&mut self, e: &Event) {
        // Our own actions were already confirmed by their `Done` reply.
        if e.actor.is_human(&self.user) {
            return;
        }
        let id = e.issue_id;
        let who = &e.actor.name;
        let n = id.map(|i| format!("#{i}")).unwrap_or_default();
        match e.kind {
            EventKind::IssueCreated { .. } => self.toast(Level::Info, format!("{n} created"), id),
            EventKind::IssueStatus { to, .. } => match to {
                Status::Blocked => {
                    self.toast(Level::Warn, format!("{n} blocked — needs you (i)"), id);
                    if self.bell {
                        self.outbox.push(Effect::Bell);
                    }
                }
                Status::InReview => self.toast(Level::Ok, format!("{n} ready for review"), id),
                // Made ready elsewhere (the CLI, another UI): claim it now, not at the next poll.
                Status::Ready if self.has_runner => {
                    self.outbox.push(Effect::Runner(RunnerCommand::Wake))
                }
                _ => {}
            },
            // An agent's comment always comes with a move (blocked, review) that is toasted.
            EventKind::CommentAdded {
                author_kind: AuthorKind::Human,
                ..
            } => {
                self.toast(Level::Info, format!("{n} comment by {who}"), id);
            }
            EventKind::RunStarted { .. } => {
                self.toast(Level::Info, format!("{n} agent {who} started"), id);
            }
            EventKind::RunFinished {
                outcome: Some(RunOutcome::Failed),
                ..
            } => {
                self.toast(Level::Error, format!("{n} run failed"), id);
            }
            _ => {}
        }
    }

    /// Folds a runner event into state.
    pub fn on_runner(&mut self, ev: RunnerEvent) {
        // Output and progress only show in the panes, which the detail view covers: streaming
        // agents do not redraw an open detail.
        let in_panes = matches!(
            ev,
            RunnerEvent::Output { .. } | RunnerEvent::Progress { .. }
        );
        if !in_panes || self.detail.is_none() {
            self.dirty = true;
        }
        match ev {
            RunnerEvent::RunStarted {
                slot,
                run_id,
                issue_id,
                title,
                agent_id,
            } => {
                let pane = Pane {
                    slot,
                    run_id,
                    issue_id,
                    title,
                    agent: agent_id,
                    state: PaneState::Running,
                    started: self.now,
                    ended: None,
                    turns: None,
                    cost: None,
                    lines: VecDeque::new(),
                    scroll: 0,
                    follow: true,
                };
                match self.panes.iter_mut().find(|p| p.slot == slot) {
                    Some(p) => *p = pane,
                    None => {
                        self.panes.push(pane);
                        self.panes.sort_by_key(|p| p.slot);
                    }
                }
            }
            RunnerEvent::Output { run_id, lines, .. } => {
                if let Some(p) = self.panes.iter_mut().find(|p| p.run_id == run_id) {
                    p.push(lines);
                }
            }
            RunnerEvent::Progress {
                run_id,
                turns,
                cost_usd,
            } => {
                if let Some(p) = self.panes.iter_mut().find(|p| p.run_id == run_id) {
                    p.turns = turns.or(p.turns);
                    p.cost = cost_usd.or(p.cost);
                }
            }
            RunnerEvent::RunFinished {
                run_id, outcome, ..
            } => {
                if let Some(p) = self.panes.iter_mut().find(|p| p.run_id == run_id) {
                    p.state = PaneState::Finished(outcome);
                    p.ended = Some(self.now);
                }
                // The store thread reports the commit (one reload), unless it already has.
                self.outbox.push(Effect::Store(StoreRequest::Poll));
            }
            RunnerEvent::StoreChanged => self.outbox.push(Effect::Store(StoreRequest::Poll)),
            RunnerEvent::Problem(p) => self.banner = Some(p),
            RunnerEvent::ProblemCleared => self.banner = None,
            RunnerEvent::Paused(p) => self.set_paused(p),
        }
    }

    fn jump_to_issue(&mut self, id: i64) {
        self.detail = Some(DetailView {
            id,
            detail: None,
            scroll: 0,
            run_cursor: 0,
            transcript: None,
        });
        self.outbox.push(Effect::Store(StoreRequest::Detail(id)));
        self.dirty = true;
    }
}

/// Applies one action. Pure apart from queuing effects in `app.outbox`.
pub fn update(app: &mut App, action: Action) {
    app.dirty = true;
    // Detail and transcript take navigation keys first; an open transcript takes every key
    // but these.
    let passthrough = matches!(
        action,
        Action::Quit | Action::ForceQuit | Action::Suspend | Action::Help
    );
    let page = app.size.1.saturating_sub(4);
    if let Some(d) = app
        .detail
        .as_mut()
        .filter(|d| d.transcript.is_none() || !passthrough)
    {
        if let Some(t) = d.transcript.as_mut() {
            let page = usize::from(page);
            match action {
                Action::Up => t.scroll = t.scroll.saturating_sub(1),
                Action::Down => t.scroll += 1,
                Action::PageUp => t.scroll = t.scroll.saturating_sub(page),
                Action::PageDown => t.scroll += page,
                Action::Top => t.scroll = 0,
                Action::Bottom => t.scroll = usize::MAX / 2,
                Action::Close => d.transcript = None,
                _ => {}
            }
            if let Some(t) = d.transcript.as_mut() {
                // The last line stops at the bottom of the view, like `less` (G shows a full
                // screen of the end, not the last line alone).
                let len = t.lines.as_ref().map_or(0, Vec::len);
                t.scroll = t.scroll.min(len.saturating_sub(page));
            }
            return;
        }
        let runs = d.detail.as_ref().map_or(0, |x| x.runs.len());
        match action {
            Action::Up => {
                d.scroll = d.scroll.saturating_sub(1);
                return;
            }
            Action::Down => {
                d.scroll = d.scroll.saturating_add(1);
                return;
            }
            Action::PageUp => {
                d.scroll = d.scroll.saturating_sub(page);
                return;
            }
            Action::PageDown => {
                d.scroll = d.scroll.saturating_add(page);
                return;
            }
            Action::Top => {
                d.scroll = 0;
                return;
            }
            Action::Left => {
                d.run_cursor = d.run_cursor.saturating_sub(1);
                return;
            }
            Action::Right => {
                d.run_cursor = (d.run_cursor + 1).min(runs.saturating_sub(1));
                return;
            }
            Action::Open => {
                let run = d
                    .detail
                    .as_ref()
                    .and_then(|x| x.runs.get(d.run_cursor))
                    .map(|r| r.id);
                match run {
                    Some(run_id) => {
                        d.transcript = Some(TranscriptView {
                            run_id,
                            lines: None,
                            scroll: 0,
                        });
                        app.outbox
                            .push(Effect::Store(StoreRequest::Transcript(run_id)));
                    }
                    None => app.toast(Level::Info, "no runs yet", None),
                }
                return;
            }
            Action::Close => {
                app.detail = None;
                return;
            }
            _ => {}
        }
    }
    match action {
        Action::Quit => {
            let running = app.running();
            if running > 0 {
                app.confirm = Some(Confirm::Quit { running });
            } else {
                app.quit = true;
            }
        }
        Action::ForceQuit => app.quit = true,
        Action::Suspend => app.outbox.push(Effect::Suspend),
        Action::Help => app.help = Some(HelpState::default()),
        Action::Close => {
            if app.zoom {
                app.zoom = false;
            } else if app.focus == Focus::Panes {
                // Dismiss a finished pane; running ones stay.
                if app
                    .panes
                    .get(app.pane_cursor)
                    .is_some_and(|p| p.state != PaneState::Running)
                {
                    app.panes.remove(app.pane_cursor);
                    app.pane_cursor = app.pane_cursor.min(app.panes.len().saturating_sub(1));
                }
                if app.panes.is_empty() {
                    app.focus = Focus::Board;
                }
            } else if matches!(app.focus, Focus::Inbox | Focus::Toasts) {
                app.focus = Focus::Board;
            } else if !app.filter.is_empty() {
                app.filter.clear();
                app.reset_scroll();
            }
        }
        Action::CycleFocus | Action::CycleFocusBack => {
            // Panes and notifications join the cycle only while there are some.
            let mut order = vec![Focus::Board];
            if !app.panes.is_empty() {
                order.push(Focus::Panes);
            }
            order.push(Focus::Inbox);
            if app.toasts.iter().any(|t| t.issue_id.is_some()) {
                order.push(Focus::Toasts);
            }
            let next = cycle(&order, app.focus, action != Action::CycleFocus);
            if next == Focus::Toasts {
                // Start on the newest notification that names an issue.
                app.toast_cursor = app
                    .toasts
                    .iter()
                    .rev()
                    .position(|t| t.issue_id.is_some())
                    .unwrap_or(0);
            }
            app.focus = next;
            app.zoom = false;
            if next == Focus::Inbox {
                app.inbox.mark_seen();
            }
        }
        Action::Inbox => {
            app.focus = if app.focus == Focus::Inbox {
                Focus::Board
            } else {
                Focus::Inbox
            };
            app.inbox.mark_seen();
        }
        Action::Filter => app.filter_typing = true,
        Action::NewIssue => app.open_editor(EditorPurpose::New),
        Action::EditIssue => match app.selected_issue() {
            Some((id, _)) => app.open_editor(EditorPurpose::Edit(id)),
            None => app.toast(Level::Info, "no issue selected", None),
        },
        Action::Comment => match app.selected_issue() {
            Some((id, _)) => app.open_editor(EditorPurpose::Comment(id)),
            None => app.toast(Level::Info, "no issue selected", None),
        },
        Action::Reply => match app.selected_issue() {
            Some((id, _)) => app.open_editor(EditorPurpose::Reply(id)),
            None => app.toast(Level::Info, "nothing is blocked", None),
        },
        Action::RequestChanges => match app.selected_issue() {
            Some((id, Some(Status::InReview))) => {
                app.open_editor(EditorPurpose::RequestChanges(id))
            }
            Some((id, _)) => app.toast(
                Level::Warn,
                format!("#{id}: request changes works on in_review"),
                Some(id),
            ),
            None => app.toast(Level::Info, "no issue selected", None),
        },
        Action::HandOff => app.human_move(Status::Ready, "hand off", &[Status::Backlog]),
        Action::Accept => app.human_move(Status::Done, "accept", &[Status::InReview]),
        Action::ToBacklog => {
            let from: Vec<Status> = Status::ALL
                .iter()
                .copied()
                .filter(|s| legal_targets(*s, Actor::Human).contains(&Status::Backlog))
                .collect();
            app.human_move(Status::Backlog, "back to backlog", &from);
        }
        Action::Open => match app.selected_issue() {
            Some((id, _)) => {
                if app.focus == Focus::Toasts {
                    app.focus = Focus::Board;
                }
                app.jump_to_issue(id);
            }
            None => app.toast(Level::Info, "no issue selected", None),
        },
        Action::OpenToast => match app.toasts.iter().rev().find_map(|t| t.issue_id) {
            Some(id) => app.jump_to_issue(id),
            None => app.toast(Level::Info, "no notification to open", None),
        },
        Action::StopAgent => match app.selected_issue() {
            Some((id, Some(Status::InProgress))) if app.has_runner => {
                app.outbox.push(Effect::Runner(RunnerCommand::Stop {
                    issue_id: id,
                    by: app.user.clone(),
                }));
                app.toast(Level::Info, format!("stopping #{id}…"), Some(id));
            }
            Some((id, Some(Status::InProgress))) => {
                // No runner here: leave a stop request for the process that runs it.
                app.outbox
                    .push(Effect::Store(StoreRequest::RequestStop(id)));
            }
            Some((id, _)) => {
                app.toast(Level::Info, format!("#{id} has no running agent"), Some(id))
            }
            None => app.toast(Level::Info, "no issue selected", None),
        },
        Action::TogglePause => {
            // Resuming lifts a rate limit's hold too, as `autopilot-tui resume` does.
            let want = !(app.pause.paused || app.held_until().is_some());
            if app.has_runner {
                app.outbox.push(Effect::Runner(RunnerCommand::SetPaused {
                    paused: want,
                    by: app.user.clone(),
                }));
            } else {
                app.outbox
                    .push(Effect::Store(StoreRequest::SetPaused(want)));
            }
            // Shown at once; the runner's or the store's report confirms it.
            app.set_paused(want);
        }
        Action::Zoom => {
            if !app.panes.is_empty() {
                app.zoom = !app.zoom;
            }
        }
        Action::Follow => {
            if let Some(p) = app.panes.get_mut(app.pane_cursor) {
                p.follow = !p.follow;
                if p.follow {
                    p.scroll = 0;
                }
            }
        }
        Action::Column(n) => app.focus_column(usize::from(n)),
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => navigate(app, action),
        Action::Left | Action::Right => {
            let right = action == Action::Right;
            match app.focus {
                Focus::Board => {
                    let col = if right {
                        (app.col + 1).min(COLUMNS - 1)
                    } else {
                        app.col.saturating_sub(1)
                    };
                    app.focus_column(col);
                }
                Focus::Panes => {
                    let n = app.panes.len();
                    if n > 0 {
                        app.pane_cursor = step(app.pane_cursor, n, !right);
                    }
                }
                Focus::Inbox | Focus::Toasts => {}
            }
        }
    }
}

fn navigate(app: &mut App, action: Action) {
    match app.focus {
        Focus::Board => {
            let page = app.card_rows();
            let count = app.columns.get(app.col).map_or(0, |c| c.count);
            let cursor = app.columns.get(app.col).map_or(0, |c| c.cursor);
            let delta = match action {
                Action::Up => -1,
                Action::Down => 1,
                Action::PageUp => -page,
                Action::PageDown => page,
                Action::Top => -cursor,
                _ => count - 1 - cursor,
            };
            app.move_cursor(delta);
        }
        Focus::Panes => {
            let page = usize::from(app.size.1 / 2).max(1);
            if let Some(p) = app.panes.get_mut(app.pane_cursor) {
                let max = p.lines.len().saturating_sub(1);
                p.scroll = match action {
                    Action::Up => p.scroll + 1,
                    Action::Down => p.scroll.saturating_sub(1),
                    Action::PageUp => p.scroll + page,
                    Action::PageDown => p.scroll.saturating_sub(page),
                    Action::Top => max,
                    _ => 0,
                }
                .min(max);
                // Scrolling up leaves follow mode; reaching the tail re-enters it.
                p.follow = p.scroll == 0;
            }
        }
        Focus::Toasts => {
            // The newest is drawn lowest: up goes to older ones.
            let n = app.toasts.len();
            let c = app.toast_cursor;
            app.toast_cursor = match action {
                Action::Up => (c + 1).min(n.saturating_sub(1)),
                Action::Down => c.saturating_sub(1),
                Action::PageUp | Action::Top => n.saturating_sub(1),
                _ => 0,
            };
        }
        Focus::Inbox => {
            let n = app.inbox.items.len();
            if n == 0 {
                return;
            }
            let c = app.inbox.cursor;
            app.inbox.cursor = match action {
                Action::Up => c.saturating_sub(1),
                Action::Down => (c + 1).min(n - 1),
                Action::PageUp | Action::Top => 0,
                _ => n - 1,
            };
        }
    }
}
