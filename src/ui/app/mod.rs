//! `App` composes the UI's rooms (board, panes, inbox, toasts, detail, editor, overlay, quit
//! dialog; see `ui::state`) and is owned by the UI task alone. `update` applies an action
//! layer by layer, `input` routes keys and the mouse through the router, `events` folds store
//! replies and runner events in. Effects (store requests, runner commands) are queued for the
//! event loop, so all of it is testable without a terminal.

mod archive;
mod diff;
mod events;
mod input;
mod search;
mod takeover;
mod update;

use super::keymap::{Action, Context, HelpRow, Keymap};
use super::layout::{self, Shape};
use super::router::{Layer, Open};
use super::state::answer::AnswerForm;
use super::state::board::Board;
use super::state::confirm::Confirm;
use super::state::detail::{DetailView, TranscriptView};
use super::state::diff::DiffView;
use super::state::editor::Editor;
use super::state::help::HelpState;
use super::state::inbox::Inbox;
use super::state::panes::Panes;
use super::state::search::SearchView;
use super::state::stats::StatsView;
use super::state::toasts::Toasts;
use super::state::Hint;
use super::store_thread::{Card, StoreRequest};
use super::theme::Theme;
use crate::domain::{Millis, Status};
use crate::store::PauseState;

pub use super::router::Focus;
pub use super::state::panes::PANE_CAPACITY;
pub use super::state::toasts::Level;
pub use super::state::Effect;
pub use update::update;

/// Everything the UI shows, owned by the UI task alone.
pub struct App {
    theme: Theme,
    keymap: Keymap,
    /// Who the human is (author of comments and moves).
    user: String,
    /// Repository name for the header.
    repo: String,
    /// The prompt templates the editor offers (read when the TUI starts).
    templates: Vec<String>,
    /// The UI clock (epoch ms), set by the loop; fixed in tests.
    now: Millis,
    size: (u16, u16),
    focus: Focus,
    board: Board,
    panes: Panes,
    inbox: Inbox,
    toasts: Toasts,
    detail: Option<DetailView>,
    /// The open diff, over the board or the detail.
    diff: Option<DiffView>,
    /// The last diff request's generation.
    diff_gen: u64,
    editor: Option<Editor>,
    help: Option<HelpState>,
    confirm: Option<Confirm>,
    /// The stats overlay, when open.
    stats: Option<StatsView>,
    /// The search overlay, when open.
    search: Option<SearchView>,
    /// The last search generation used, carried over to the next overlay.
    search_gen: u64,
    /// What today's runs cost so far (local day), as the store thread last said.
    today_usd: f64,
    /// `[budget] daily_usd`, shown next to today's spend.
    daily_budget: Option<f64>,
    /// A condition the user must fix.
    banner: Option<String>,
    /// A runner runs in this process.
    has_runner: bool,
    /// `[runner] max_in_review` (None: no limit).
    max_in_review: Option<u32>,
    /// Whether claiming is paused by a person, or held after a rate limit (until when, why).
    pause: PauseState,
    /// Ring the bell on "needs you".
    bell: bool,
    /// Ask the terminal for a desktop notification on "needs you" and "ready for review".
    osc: bool,
    /// Capture the mouse.
    mouse: bool,
    /// Set when the screen must be redrawn.
    dirty: bool,
    quit: bool,
    /// Quit as soon as no agent of this process runs (the user chose to wait for them).
    quit_when_idle: bool,
    /// A take-over (shell, session, editor) is being prepared or runs: keys wait for it.
    taking_over: bool,
    outbox: Vec<Effect>,
}

impl App {
    /// A fresh app; nothing is loaded until `start` queues the first requests.
    pub fn new(theme: Theme, keymap: Keymap, user: String, repo: String) -> App {
        App {
            theme,
            keymap,
            user,
            repo,
            templates: Vec::new(),
            now: 0,
            size: (80, 24),
            focus: Focus::Board,
            board: Board::default(),
            panes: Panes::default(),
            inbox: Inbox::default(),
            toasts: Toasts::default(),
            detail: None,
            diff: None,
            diff_gen: 0,
            editor: None,
            help: None,
            confirm: None,
            stats: None,
            search: None,
            search_gen: 0,
            today_usd: 0.0,
            daily_budget: None,
            banner: None,
            has_runner: false,
            max_in_review: None,
            pause: PauseState::default(),
            bell: false,
            osc: false,
            mouse: false,
            dirty: true,
            quit: false,
            quit_when_idle: false,
            taking_over: false,
            outbox: Vec::new(),
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
        self.toasts.push(level, &text.into(), issue_id, self.now);
        self.dirty = true;
    }

    /// Styles.
    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// Changes the styles.
    pub fn set_theme(&mut self, theme: Theme) {
        self.theme = theme;
        self.dirty = true;
    }

    /// Bindings.
    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    /// Who the human is.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Repository name for the header.
    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// The UI clock.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Sets the UI clock without expiring anything (see [`App::tick`]).
    pub fn set_now(&mut self, now: Millis) {
        self.now = now;
    }

    /// Terminal size.
    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// Keyboard focus.
    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// The columns, cursor and filter.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// The agent panes.
    pub fn panes(&self) -> &Panes {
        &self.panes
    }

    /// The blocked inbox.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// The notifications.
    pub fn toasts(&self) -> &Toasts {
        &self.toasts
    }

    /// The open detail.
    pub fn detail(&self) -> Option<&DetailView> {
        self.detail.as_ref()
    }

    /// The open diff.
    pub fn diff(&self) -> Option<&DiffView> {
        self.diff.as_ref()
    }

    /// The open editor.
    pub fn editor(&self) -> Option<&Editor> {
        self.editor.as_ref()
    }

    /// The keys overlay, when open.
    pub fn help(&self) -> Option<&HelpState> {
        self.help.as_ref()
    }

    /// The open question.
    pub fn confirm(&self) -> Option<&Confirm> {
        self.confirm.as_ref()
    }

    /// The stats overlay, when open.
    pub fn stats(&self) -> Option<&StatsView> {
        self.stats.as_ref()
    }

    /// What today's runs cost so far.
    pub fn today_usd(&self) -> f64 {
        self.today_usd
    }

    /// The daily budget, when one is configured.
    pub fn daily_budget(&self) -> Option<f64> {
        self.daily_budget
    }

    /// Sets the daily budget shown next to today's spend.
    pub fn set_daily_budget(&mut self, usd: Option<f64>) {
        self.daily_budget = usd;
        self.dirty = true;
    }

    /// A condition the user must fix.
    pub fn banner(&self) -> Option<&str> {
        self.banner.as_deref()
    }

    /// Shows (or, with None, clears) the banner.
    pub fn set_banner(&mut self, banner: Option<String>) {
        self.banner = banner;
        self.dirty = true;
    }

    /// Whether a runner runs in this process.
    pub fn has_runner(&self) -> bool {
        self.has_runner
    }

    /// Says whether a runner runs in this process.
    pub fn set_has_runner(&mut self, has_runner: bool) {
        self.has_runner = has_runner;
        self.dirty = true;
    }

    /// Sets the template names the editor's picker offers.
    pub fn set_templates(&mut self, names: Vec<String>) {
        self.templates = names;
    }

    /// Sets `[runner] max_in_review` (None or 0: no limit).
    pub fn set_max_in_review(&mut self, limit: Option<u32>) {
        self.max_in_review = limit.filter(|n| *n > 0);
    }

    /// The review limit holding claims: `(waiting, limit)` when the in_review column holds
    /// `limit` or more. Unknown (None) while a filter narrows the counts.
    pub fn review_full(&self) -> Option<(i64, u32)> {
        let limit = self.max_in_review?;
        if !self.board.filter().is_empty() {
            return None;
        }
        let waiting = self
            .board
            .columns()
            .iter()
            .find(|c| c.status == crate::domain::Status::InReview)?
            .count;
        (waiting >= i64::from(limit)).then_some((waiting, limit))
    }

    /// Whether claiming is paused or held.
    pub fn pause(&self) -> &PauseState {
        &self.pause
    }

    /// Whether the mouse is captured.
    pub fn mouse(&self) -> bool {
        self.mouse
    }

    /// Turns mouse handling on or off (the terminal guard captures it accordingly).
    pub fn set_mouse(&mut self, on: bool) {
        self.mouse = on;
    }

    /// Turns the bell on "needs you" on or off.
    pub fn set_bell(&mut self, on: bool) {
        self.bell = on;
    }

    /// Turns the terminal notifications (`[notify] osc`) on or off.
    pub fn set_osc(&mut self, on: bool) {
        self.osc = on;
    }

    /// Queues a terminal notification about issue `id` when they are on: the issue's title
    /// when the board holds it, and what happened.
    pub(super) fn osc_notice(&mut self, id: Option<i64>, what: &str) {
        if !self.osc {
            return;
        }
        let n = id.map(|i| format!("#{i} ")).unwrap_or_default();
        let title = id
            .and_then(|i| self.board.issue(i))
            .map(|issue| format!(": {}", issue.title))
            .unwrap_or_default();
        self.outbox
            .push(Effect::Notice(format!("{n}{what}{title}")));
    }

    /// Whether the screen must be redrawn.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Asks for a redraw.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// The screen shows the state: nothing to redraw.
    pub fn mark_drawn(&mut self) {
        self.dirty = false;
    }

    /// Whether the user (or a signal) asked to quit.
    pub fn quit_requested(&self) -> bool {
        self.quit
    }

    /// Quit at the next turn of the loop.
    pub fn request_quit(&mut self) {
        self.quit = true;
    }

    /// Whether the app quits once this process's agents are done.
    pub fn quit_when_idle(&self) -> bool {
        self.quit_when_idle
    }

    /// Running agents in this process (what quitting stops).
    pub fn running(&self) -> usize {
        self.panes.running_here()
    }

    /// Running agents other processes run (their panes come from the store).
    pub fn running_elsewhere(&self) -> usize {
        self.panes.running() - self.panes.running_here()
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
        !self.toasts.is_empty() || self.panes.running() > 0 || self.board.any_live()
    }

    /// Advances the clock; expires toasts. Redraws only when something visible changes.
    pub fn tick(&mut self, now: Millis) {
        let held = self.held_until().is_some();
        self.now = now;
        // Notifications hold still while the user is choosing one.
        let expired = self.toasts.expire(now, self.focus == Focus::Toasts);
        if expired || self.animating() || held != self.held_until().is_some() {
            self.dirty = true;
        }
    }

    /// Which layers are open, for the router.
    fn open_layers(&self) -> Open {
        Open {
            overlay: self.help.is_some(),
            overlay_typing: self.help.as_ref().is_some_and(HelpState::is_typing),
            editor: self.editor.is_some() || self.inbox.answering().is_some(),
            confirm: self.confirm.is_some(),
            ask: self
                .confirm
                .as_ref()
                .is_some_and(|c| c.context() == Context::Ask),
            search: self.search.is_some(),
            filter: self.board.is_typing(),
            stats: self.stats.is_some(),
            diff: self.diff.is_some(),
            diff_typing: self.diff.as_ref().is_some_and(DiffView::is_typing),
            transcript: self
                .detail
                .as_ref()
                .is_some_and(|d| d.transcript().is_some()),
            detail: self.detail.is_some(),
            focus: self.focus,
        }
    }

    /// The layer keys go to now.
    pub fn top_layer(&self) -> Layer {
        self.open_layers().top()
    }

    /// The keymap context of where the user is (under any dialog, editor or overlay).
    pub fn context(&self) -> super::keymap::Context {
        self.open_layers().here()
    }

    /// The hint bar's pairs for the top layer, from the bindings. Empty while typing into
    /// the board's filter, whose line is the filter itself.
    pub fn hints(&self) -> Vec<Hint> {
        let km = &self.keymap;
        match self.top_layer() {
            Layer::Overlay => self.help.as_ref().map(|h| h.hints(km)).unwrap_or_default(),
            Layer::Editor => self
                .editor
                .as_ref()
                .map_or_else(|| AnswerForm::hints(km), |e| e.hints(km)),
            Layer::Confirm => self
                .confirm
                .as_ref()
                .map(|c| c.hints(km))
                .unwrap_or_default(),
            Layer::Search => SearchView::hints(km),
            Layer::Filter => Vec::new(),
            Layer::DiffSearch => vec![
                (km.label(Context::Filter, Action::Done), "keep".into()),
                (km.label(Context::Filter, Action::Close), "clear".into()),
            ],
            Layer::Diff => DiffView::hints(km),
            Layer::Stats => StatsView::hints(km),
            Layer::Transcript => TranscriptView::hints(km),
            Layer::Detail => DetailView::hints(km),
            Layer::Focus => km
                .hints(self.focus.context())
                .into_iter()
                .map(|(k, d)| (k, d.to_string()))
                .collect(),
        }
    }

    /// What the screen's split depends on.
    pub fn shape(&self) -> Shape {
        Shape {
            size: self.size,
            banner: self.banner.is_some(),
            detail: self.detail.is_some() || self.diff.is_some(),
            panes: self.panes.list().len(),
            pane_cursor: self.panes.cursor(),
            zoom: self.panes.zoomed(),
            col: self.board.col(),
        }
    }

    /// Board rows available for cards in one column, from the terminal size.
    pub fn card_rows(&self) -> i64 {
        layout::card_rows(&self.shape())
    }

    /// Columns shown side by side at the current width.
    pub fn visible_columns(&self) -> usize {
        layout::visible_columns(self.size.0)
    }

    /// The first column shown (the focused one is always visible).
    pub fn first_column(&self) -> usize {
        layout::first_column(self.board.col(), self.visible_columns())
    }

    /// The `(column, card index)` under a screen position.
    pub fn board_hit(&self, x: u16, y: u16) -> Option<(usize, i64)> {
        let (col, slot) = layout::board_slot(&self.shape(), x, y)?;
        self.board.index_at(col, slot).map(|i| (col, i))
    }

    /// The agent pane under a screen position.
    pub fn pane_hit(&self, x: u16, y: u16) -> Option<usize> {
        layout::pane_hit(&self.shape(), x, y)
    }

    /// The selected card of the focused column.
    pub fn selected_card(&self) -> Option<&Card> {
        self.board.selected_card()
    }

    /// The issue keys act on: the open detail's, or the selected card, pane, inbox item or
    /// notification's.
    pub fn selected_issue(&self) -> Option<(i64, Option<Status>)> {
        if let Some(d) = &self.detail {
            return Some((d.id(), d.status()));
        }
        match self.focus {
            Focus::Board => self
                .board
                .selected_card()
                .map(|c| (c.issue.id, Some(c.issue.status))),
            Focus::Panes => self.panes.selected_issue(),
            Focus::Inbox => self
                .inbox
                .selected()
                .map(|i| (i.issue_id, Some(Status::Blocked))),
            Focus::Toasts => self.toasts.selected_issue().map(|id| (id, None)),
        }
    }

    /// The rows the keys overlay shows now.
    pub fn help_rows(&self) -> Vec<HelpRow> {
        self.help
            .as_ref()
            .map(|h| self.keymap.help_rows(h.filter()))
            .unwrap_or_default()
    }

    fn request_board(&mut self) {
        let rows = self.card_rows();
        let req = self.board.request(rows);
        self.outbox.push(Effect::Store(req));
    }

    fn reload(&mut self) {
        self.request_board();
        self.outbox.push(Effect::Store(StoreRequest::Inbox));
        if let Some(d) = &self.detail {
            self.outbox
                .push(Effect::Store(StoreRequest::Detail(d.id())));
        }
        if self.stats.is_some() {
            self.outbox.push(Effect::Store(StoreRequest::Stats));
        }
    }
}
