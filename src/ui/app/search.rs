//! The search overlay in the app: keys, the debounced query sent to the store thread, its
//! answers, and opening a hit (the issue, or the transcript at the hit's line).

use crossterm::event::KeyEvent;

use super::{App, Effect};
use crate::domain::Millis;
use crate::runner::PaneLine;
use crate::store::SearchSource;
use crate::ui::keymap::Action;
use crate::ui::state::detail::DetailView;
use crate::ui::state::search::{SearchStep, SearchView};
use crate::ui::store_thread::{SearchRow, StoreRequest};

impl App {
    /// The search overlay, when open.
    pub fn search(&self) -> Option<&SearchView> {
        self.search.as_ref()
    }

    /// Opens the search overlay, empty.
    pub(super) fn open_search(&mut self) {
        self.search = Some(SearchView::after(self.search_gen));
        self.dirty = true;
    }

    /// When the loop must wake to send the typed query (None: nothing waits). The loop sleeps
    /// until then and no longer: an idle overlay costs no wake-up.
    pub fn search_due(&self) -> Option<Millis> {
        self.search.as_ref().and_then(SearchView::due)
    }

    /// Sends the typed query once its debounce ran out by `now`.
    pub fn fire_search(&mut self, now: Millis) {
        if let Some(req) = self.search.as_mut().and_then(|v| v.fire(now)) {
            self.outbox.push(Effect::Store(req));
            // The "searching…" mark changes.
            self.dirty = true;
        }
    }

    pub(super) fn search_key(&mut self, action: Option<Action>, key: KeyEvent) {
        let now = self.now;
        let Some(v) = self.search.as_mut() else {
            return;
        };
        self.dirty = true;
        match v.on_key(action, key, now) {
            SearchStep::Stay => {}
            SearchStep::Close => self.close_search(),
            SearchStep::App(a) => self.app_action(a),
            SearchStep::Open(hit) => {
                self.close_search();
                self.open_hit(hit);
            }
        }
    }

    fn close_search(&mut self) {
        if let Some(v) = self.search.take() {
            self.search_gen = v.gen();
        }
    }

    /// The store's answer to a query; dropped when the query changed since.
    pub(super) fn on_search(&mut self, gen: u64, result: Result<Vec<SearchRow>, String>) {
        if let Some(v) = self.search.as_mut() {
            v.set_result(gen, result);
        }
    }

    /// A run's transcript opened from a hit, scrolled to the hit's line.
    pub(super) fn on_transcript_at(
        &mut self,
        run_id: i64,
        lines: Vec<PaneLine>,
        at: Option<usize>,
    ) {
        if let Some(d) = self.detail.as_mut() {
            d.set_transcript_at(run_id, lines, at);
        }
    }

    /// A title, body or comment hit opens the issue; a transcript hit opens the run's
    /// transcript over the issue, at the first line holding the matched word.
    fn open_hit(&mut self, hit: SearchRow) {
        self.diff = None;
        let mut detail = DetailView::new(hit.issue_id);
        self.outbox
            .push(Effect::Store(StoreRequest::Detail(hit.issue_id)));
        if let (SearchSource::Transcript, Some(run_id)) = (hit.source, hit.run_id) {
            detail.open_transcript(run_id);
            let term = hit.term().unwrap_or_default().to_string();
            self.outbox
                .push(Effect::Store(StoreRequest::TranscriptAt { run_id, term }));
        }
        self.detail = Some(detail);
    }
}
