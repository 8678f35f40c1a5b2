//! The diff view's part of the app: opening it for the selected issue, its keys, and the
//! replies of the diff worker (for the view, and the detail's file list).

use crossterm::event::KeyEvent;

use super::{App, Effect, Level};
use crate::runner::review::diff::DiffTarget;
use crate::ui::keymap::Action;
use crate::ui::state::detail::DetailView;
use crate::ui::state::diff::{DiffPayload, DiffReply, DiffRequest, DiffStep, DiffView};
use crate::ui::state::Step;

impl App {
    /// A page of the diff: the screen less header, borders and hints.
    fn diff_page(&self) -> usize {
        usize::from(self.size.1.saturating_sub(4)).max(1)
    }

    fn next_diff_gen(&mut self) -> u64 {
        self.diff_gen += 1;
        self.diff_gen
    }

    /// What is known of issue `id` for a diff: its branch, base and title, from the open
    /// detail, the board or the inbox.
    fn diff_target(&self, id: i64) -> Option<(DiffTarget, String)> {
        let target = |branch: &Option<String>, base: &Option<String>| DiffTarget {
            issue_id: id,
            branch: branch.clone(),
            base: base.clone(),
        };
        let issue = self
            .detail
            .as_ref()
            .and_then(DetailView::detail)
            .map(|d| &d.issue)
            .filter(|i| i.id == id)
            .or_else(|| self.board.issue(id));
        if let Some(i) = issue {
            return Some((target(&i.branch, &i.base), i.title.clone()));
        }
        self.inbox
            .items()
            .iter()
            .find(|i| i.issue_id == id)
            .map(|i| (target(&i.branch, &i.base), i.title.clone()))
    }

    /// Opens the diff of issue `id` and asks the worker for it.
    pub(super) fn open_diff(&mut self, id: i64) {
        let Some((target, title)) = self.diff_target(id) else {
            self.toast(Level::Warn, format!("#{id} is not loaded yet"), Some(id));
            return;
        };
        if target.branch.is_none() {
            self.toast(
                Level::Info,
                format!("#{id} has no branch yet: no run has started on it"),
                Some(id),
            );
            return;
        }
        let gen = self.next_diff_gen();
        self.diff = Some(DiffView::new(id, title, gen));
        self.outbox.push(Effect::Diff(DiffRequest {
            gen,
            target,
            full: true,
        }));
        self.dirty = true;
    }

    /// An action while the diff is on top.
    pub(super) fn diff_action(&mut self, action: Action) -> Step {
        if action == Action::Comment {
            self.comment_on_diff();
            return Step::Done;
        }
        let page = self.diff_page();
        let Some(v) = self.diff.as_mut() else {
            return Step::Pass;
        };
        let step = v.on_action(action, page);
        self.diff_step(step)
    }

    /// A key while the diff's search is typed.
    pub(super) fn diff_search_key(&mut self, action: Option<Action>, key: KeyEvent) {
        let page = self.diff_page();
        if let Some(v) = self.diff.as_mut() {
            let step = v.type_key(action, key, page);
            self.diff_step(step);
        }
        self.dirty = true;
    }

    fn diff_step(&mut self, step: DiffStep) -> Step {
        match step {
            DiffStep::Step(s) => return s,
            DiffStep::Close => self.diff = None,
            DiffStep::NoSearch => {
                let key = self
                    .keymap
                    .label(crate::ui::keymap::Context::Diff, Action::Filter);
                self.toast(
                    Level::Info,
                    format!("no search yet: {key} starts one"),
                    None,
                );
            }
            DiffStep::NoMatch => {
                let q = self.diff.as_ref().map(|v| v.query().to_string());
                self.toast(
                    Level::Info,
                    format!("not in this diff: {}", q.unwrap_or_default()),
                    None,
                );
            }
        }
        Step::Done
    }

    /// Asks for the open detail's file list when its issue is in review and changed.
    pub(super) fn request_detail_files(&mut self) {
        let gen = self.diff_gen + 1;
        if let Some(target) = self.detail.as_mut().and_then(|d| d.want_files(gen)) {
            self.diff_gen = gen;
            self.outbox.push(Effect::Diff(DiffRequest {
                gen,
                target,
                full: false,
            }));
        }
    }

    /// A reply of the diff worker: the open view's diff or the detail's file list. Replies
    /// to requests nobody waits for any more are dropped.
    pub fn on_diff(&mut self, reply: DiffReply) {
        let gen = reply.gen;
        match reply.result {
            Ok(DiffPayload::Stat(files)) => {
                if let Some(d) = self.detail.as_mut() {
                    self.dirty |= d.set_files(gen, Ok(files));
                }
            }
            Err(e) if !self.diff.as_ref().is_some_and(|v| v.waits_for(gen)) => {
                if let Some(d) = self.detail.as_mut() {
                    self.dirty |= d.set_files(gen, Err(e));
                }
            }
            result => {
                if let Some(v) = self.diff.as_mut() {
                    self.dirty |= v.set_reply(DiffReply {
                        gen,
                        issue_id: reply.issue_id,
                        result,
                    });
                }
            }
        }
    }
}
