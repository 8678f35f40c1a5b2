//! Taking over by hand: `s` (a shell in the worktree), `C` (the agent's session continued),
//! `E` (the body in `$EDITOR`); and the comments that start from something on screen: `c` on
//! a diff line, `R`'s draft after an accept conflicted. The runner prepares and runs the
//! programs; the event loop gives them the terminal. Here are the app's halves: asking, and
//! folding in what came back.

use super::{App, Effect, Level};
use crate::domain::sanitize::one_line;
use crate::domain::Status;
use crate::runner::takeover::{Outcome, Prepared, Takeover};
use crate::store::IssueEdit;
use crate::ui::state::detail::DetailView;
use crate::ui::state::editor::{Editor, EditorPurpose};
use crate::ui::store_thread::StoreRequest;

impl App {
    /// Whether a take-over is being prepared or runs.
    pub fn taking_over(&self) -> bool {
        self.taking_over
    }

    /// Asks for a take-over of an issue; one at a time.
    pub(super) fn take_over(&mut self, t: Takeover) {
        if self.taking_over {
            self.toast(
                Level::Info,
                "one moment: the last one is still starting",
                None,
            );
            return;
        }
        self.taking_over = true;
        self.outbox.push(Effect::PrepareTakeover(t));
    }

    /// A take-over was checked: run it, or say why not (nothing ran, the screen stays).
    pub fn on_takeover_ready(&mut self, t: Takeover, prepared: Result<Prepared, String>) {
        self.dirty = true;
        match prepared {
            Ok(p) => self.outbox.push(Effect::RunTakeover(Box::new(p))),
            Err(e) => {
                self.taking_over = false;
                let id = t.issue_id();
                self.toast(Level::Warn, one_line(&e), Some(id));
            }
        }
    }

    /// A take-over's program ended: the terminal is taken back first, then what it did is
    /// said, and an edited body is saved the way the issue editor saves one.
    pub fn on_takeover_done(&mut self, outcome: Outcome) {
        self.outbox.push(Effect::Resume);
        self.taking_over = false;
        self.dirty = true;
        let id = outcome.issue_id;
        let level = if outcome.ok { Level::Ok } else { Level::Warn };
        self.toast(level, one_line(&outcome.message), Some(id));
        if let Some(body) = outcome.body {
            let edit = IssueEdit {
                body: Some(body),
                ..IssueEdit::default()
            };
            self.outbox
                .push(Effect::Store(StoreRequest::Update(id, edit)));
        }
        self.reload();
    }

    /// The status of issue `id`, as far as the screen knows it.
    fn known_status(&self, id: i64) -> Option<Status> {
        let in_detail = self
            .detail
            .as_ref()
            .and_then(DetailView::detail)
            .map(|d| &d.issue)
            .filter(|i| i.id == id);
        in_detail
            .or_else(|| self.board.issue(id))
            .map(|i| i.status)
            .or_else(|| {
                let blocked = self.inbox.items().iter().any(|i| i.issue_id == id);
                blocked.then_some(Status::Blocked)
            })
    }

    /// `c` in the diff: a comment opening with the cursor's `file:line` quoted. On an issue
    /// in review it requests changes, so it goes back to the agent with the quote in its
    /// next prompt; elsewhere it is a plain comment.
    pub(super) fn comment_on_diff(&mut self) {
        let Some(v) = self.diff.as_ref() else {
            return;
        };
        let id = v.issue_id();
        let text = v.quote().map(|q| format!("{q}\n\n")).unwrap_or_default();
        let purpose = match self.known_status(id) {
            Some(Status::InReview) => EditorPurpose::RequestChanges(id),
            _ => EditorPurpose::Comment(id),
        };
        self.editor = Some(Editor::prefilled(purpose, &text));
        self.dirty = true;
    }

    /// The store's draft for a change request (after an accept conflicted): it fills the
    /// request's editor if that is still open and untouched.
    pub(super) fn on_changes_draft(&mut self, id: i64, text: Option<String>) {
        let Some(text) = text else {
            return;
        };
        if let Some(ed) = self
            .editor
            .as_mut()
            .filter(|e| e.purpose() == EditorPurpose::RequestChanges(id))
        {
            self.dirty |= ed.fill_if_empty(&text);
        }
    }
}
