//! The pure `update`: an action goes down the open layers (transcript, detail, the focused
//! area) until one takes it. Nothing here draws or does I/O; work for the store and the runner
//! is queued as effects.

use super::{App, Effect, Focus, Level};
use crate::domain::{legal_targets, Actor, Status};
use crate::runner::takeover::Takeover;
use crate::runner::RunnerCommand;
use crate::ui::keymap::Action;
use crate::ui::router::Layer;
use crate::ui::state::cycle;
use crate::ui::state::detail::{DetailStep, DetailView};
use crate::ui::state::editor::{Editor, EditorPurpose};
use crate::ui::state::help::HelpState;
use crate::ui::state::stats::{StatsStep, StatsView};
use crate::ui::state::Step;
use crate::ui::store_thread::StoreRequest;

/// Applies one action. Pure apart from queuing effects in the app's outbox.
pub fn update(app: &mut App, action: Action) {
    app.dirty = true;
    // Dialogs, editors and filters read keys themselves (see `input`); actions go to the
    // layers beneath them.
    let open = app.open_layers();
    for layer in open.stack().filter(|l| !l.is_modal()) {
        let step = match layer {
            Layer::Stats => app.stats_action(action),
            Layer::Diff => app.diff_action(action),
            Layer::Transcript => app.transcript_action(action),
            Layer::Detail => app.detail_action(action),
            _ => {
                app.focus_action(action);
                Step::Done
            }
        };
        if step == Step::Done {
            return;
        }
    }
}

impl App {
    /// A page of the detail and the transcript: the screen less header, borders and hints.
    fn detail_page(&self) -> u16 {
        self.size.1.saturating_sub(4)
    }

    fn stats_action(&mut self, action: Action) -> Step {
        if matches!(action, Action::Help | Action::ForceQuit | Action::Suspend) {
            self.app_action(action);
            return Step::Done;
        }
        let Some(v) = self.stats.as_mut() else {
            return Step::Pass;
        };
        match v.on_action(action) {
            StatsStep::Stay => {}
            StatsStep::Close => self.stats = None,
            StatsStep::Open(id) => {
                self.stats = None;
                self.jump_to_issue(id);
            }
        }
        // The overlay takes only its own keys: nothing reaches the layers under it.
        Step::Done
    }

    fn transcript_action(&mut self, action: Action) -> Step {
        let page = self.detail_page();
        self.detail
            .as_mut()
            .map_or(Step::Pass, |d| d.on_transcript_action(action, page))
    }

    fn detail_action(&mut self, action: Action) -> Step {
        let page = self.detail_page();
        let Some(d) = self.detail.as_mut() else {
            return Step::Pass;
        };
        match d.on_action(action, page) {
            DetailStep::Step(step) => step,
            DetailStep::Close => {
                self.detail = None;
                Step::Done
            }
            DetailStep::LoadTranscript(run_id) => {
                self.outbox
                    .push(Effect::Store(StoreRequest::Transcript(run_id)));
                Step::Done
            }
            DetailStep::NoRuns => {
                self.toast(Level::Info, "no runs yet", None);
                Step::Done
            }
            DetailStep::OpenChild(id) => {
                self.jump_to_issue(id);
                Step::Done
            }
        }
    }

    /// The bottom layer: the focused area, and everything that works everywhere.
    fn focus_action(&mut self, action: Action) {
        match action {
            Action::Quit
            | Action::ForceQuit
            | Action::Suspend
            | Action::Help
            | Action::TogglePause
            | Action::Inbox
            | Action::Stats
            | Action::Search
            | Action::CycleFocus
            | Action::CycleFocusBack
            | Action::NewIssue
            | Action::OpenToast => self.app_action(action),
            Action::Close => self.close_action(),
            Action::EditIssue
            | Action::Comment
            | Action::Reply
            | Action::RequestChanges
            | Action::HandOff
            | Action::Accept
            | Action::ToBacklog
            | Action::Open
            | Action::OpenDiff
            | Action::StopAgent
            | Action::Shell
            | Action::ContinueSession
            | Action::EditBody
            | Action::Split
            | Action::Archive
            | Action::Delete => self.issue_action(action),
            Action::Filter => self.board.start_typing(),
            Action::Column(n) => self.focus_column(usize::from(n)),
            Action::Zoom => self.panes.toggle_zoom(),
            Action::Follow => self.panes.toggle_follow(),
            Action::NextAgent | Action::PrevAgent if self.focus == Focus::Panes => {
                self.panes.step(action == Action::NextAgent)
            }
            Action::NextAgent | Action::PrevAgent => {}
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => self.navigate(action),
            Action::Left | Action::Right => match self.focus {
                Focus::Board => self.board.step_column(action == Action::Right),
                Focus::Panes => self.panes.step(action == Action::Right),
                Focus::Inbox | Focus::Toasts => {}
            },
            // The editor's, the filter's and the quit dialog's own actions never get here.
            Action::Save
            | Action::NextField
            | Action::PrevField
            | Action::Done
            | Action::WaitThenQuit
            | Action::StopAndQuit
            | Action::Yes
            | Action::NextFile
            | Action::PrevFile
            | Action::NextMatch
            | Action::PrevMatch
            | Action::NextChild
            | Action::PrevChild
            | Action::OpenChild => {}
        }
    }

    /// Actions about the app as a whole: quitting, focus, help, pause, new issues.
    pub(super) fn app_action(&mut self, action: Action) {
        match action {
            Action::Quit => {
                let running = self.running();
                if running > 0 {
                    self.confirm = Some(crate::ui::state::confirm::Confirm::Quit { running });
                } else {
                    self.quit = true;
                }
            }
            Action::ForceQuit => self.quit = true,
            Action::Suspend => self.outbox.push(Effect::Suspend),
            Action::Help => self.help = Some(HelpState::default()),
            Action::CycleFocus | Action::CycleFocusBack => {
                self.cycle_focus(action == Action::CycleFocusBack)
            }
            Action::Inbox => {
                self.focus = if self.focus == Focus::Inbox {
                    Focus::Board
                } else {
                    Focus::Inbox
                };
                self.inbox.mark_seen();
            }
            Action::NewIssue => self.open_editor(EditorPurpose::New),
            Action::OpenToast => match self.toasts.newest_issue() {
                Some(id) => self.jump_to_issue(id),
                None => self.toast(Level::Info, "no notification to open", None),
            },
            Action::TogglePause => self.toggle_pause(),
            Action::Stats => {
                self.stats = Some(StatsView::default());
                self.outbox.push(Effect::Store(StoreRequest::Stats));
            }
            Action::Search => self.open_search(),
            _ => {}
        }
    }

    fn cycle_focus(&mut self, back: bool) {
        // Panes and notifications join the cycle only while there are some.
        let mut order = vec![Focus::Board];
        if !self.panes.is_empty() {
            order.push(Focus::Panes);
        }
        order.push(Focus::Inbox);
        if self.toasts.any_with_issue() {
            order.push(Focus::Toasts);
        }
        let next = cycle(&order, self.focus, back);
        if next == Focus::Toasts {
            self.toasts.focus_newest();
        }
        self.focus = next;
        self.panes.unzoom();
        if next == Focus::Inbox {
            self.inbox.mark_seen();
        }
    }

    fn toggle_pause(&mut self) {
        // Resuming lifts a rate limit's hold too, as `autopilot-tui resume` does.
        let want = !(self.pause.paused || self.held_until().is_some());
        if self.has_runner {
            self.outbox.push(Effect::Runner(RunnerCommand::SetPaused {
                paused: want,
                by: self.user.clone(),
            }));
        } else {
            self.outbox
                .push(Effect::Store(StoreRequest::SetPaused(want)));
        }
        // Shown at once; the runner's or the store's report confirms it.
        self.set_paused(want);
    }

    /// Esc with nothing open over the focused area: unzoom, dismiss a finished pane, back to
    /// the board, or clear the filter.
    fn close_action(&mut self) {
        if self.panes.unzoom() {
            return;
        }
        match self.focus {
            Focus::Panes => {
                // A finished agent goes away; from a running one, esc goes back to the board
                // (tab moves between agents here, so it cannot be the way out).
                if !self.panes.dismiss_finished() || self.panes.is_empty() {
                    self.focus = Focus::Board;
                }
            }
            Focus::Inbox | Focus::Toasts => self.focus = Focus::Board,
            Focus::Board => {
                if self.board.clear_filter() {
                    self.request_board();
                }
            }
        }
    }

    /// Actions on the selected issue (see [`App::selected_issue`]).
    fn issue_action(&mut self, action: Action) {
        let selected = self.selected_issue();
        let none = |app: &mut App| app.toast(Level::Info, "no issue selected", None);
        match (action, selected) {
            (Action::EditIssue, Some((id, _))) => self.open_editor(EditorPurpose::Edit(id)),
            (Action::Comment, Some((id, _))) => self.open_editor(EditorPurpose::Comment(id)),
            (Action::Reply, Some((id, _))) if self.inbox.open_form(id) => self.dirty = true,
            (Action::Reply, Some((id, _))) => self.open_editor(EditorPurpose::Reply(id)),
            (Action::Reply, None) => self.toast(Level::Info, "nothing is blocked", None),
            (Action::RequestChanges, Some((id, Some(Status::InReview)))) => {
                self.open_editor(EditorPurpose::RequestChanges(id));
                // After an accept that conflicted, the store has a draft for it.
                self.outbox
                    .push(Effect::Store(StoreRequest::ChangesDraft(id)));
            }
            (Action::RequestChanges, Some((id, _))) => self.toast(
                Level::Warn,
                format!("#{id}: request changes works on in_review"),
                Some(id),
            ),
            (Action::HandOff, _) => self.human_move(Status::Ready, "hand off", &[Status::Backlog]),
            (Action::Accept, _) => self.human_move(Status::Done, "accept", &[Status::InReview]),
            (Action::ToBacklog, _) => {
                let from: Vec<Status> = Status::ALL
                    .iter()
                    .copied()
                    .filter(|s| legal_targets(*s, Actor::Human).contains(&Status::Backlog))
                    .collect();
                self.human_move(Status::Backlog, "back to backlog", &from);
            }
            (Action::Open, Some((id, _))) => {
                if self.focus == Focus::Toasts {
                    self.focus = Focus::Board;
                }
                self.jump_to_issue(id);
            }
            (Action::StopAgent, Some((id, status))) => self.stop_agent(id, status),
            (Action::OpenDiff, Some((id, _))) => self.open_diff(id),
            (Action::Shell, Some((id, _))) => self.take_over(Takeover::Shell(id)),
            (Action::ContinueSession, Some((id, _))) => self.take_over(Takeover::Continue(id)),
            (Action::EditBody, Some((id, _))) => self.take_over(Takeover::EditBody(id)),
            (Action::Split, Some((id, status))) => self.split(id, status),
            (Action::Archive, Some((id, status))) => self.archive(id, status),
            (Action::Delete, Some((id, status))) => self.ask_delete(id, status),
            _ => none(self),
        }
    }

    /// Asks this process's runner for a planner run on `id` (`split`); the result comes back
    /// as [`RunnerEvent::Split`](crate::runner::RunnerEvent::Split).
    fn split(&mut self, id: i64, status: Option<Status>) {
        if status == Some(Status::Done) {
            self.toast(
                Level::Warn,
                format!("#{id} is done: nothing to split"),
                Some(id),
            );
        } else if self.has_runner {
            self.outbox
                .push(Effect::Runner(RunnerCommand::Split { issue_id: id }));
            self.toast(Level::Info, format!("planning #{id}…"), Some(id));
        } else {
            self.toast(
                Level::Warn,
                format!("no runner here: run `autopilot-tui split {id}`"),
                Some(id),
            );
        }
    }

    /// The end of a split: its subtasks, or why there are none.
    pub(super) fn split_done(&mut self, id: i64, result: Result<Vec<i64>, String>) {
        match result {
            Ok(ids) => {
                let list: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
                let text = format!("#{id} split into {} (in backlog)", list.join(", "));
                self.toast(Level::Info, text, Some(id));
            }
            Err(e) => self.toast(Level::Error, format!("#{id} not split: {e}"), Some(id)),
        }
    }

    fn stop_agent(&mut self, id: i64, status: Option<Status>) {
        // A planner runs on an issue that stays where it is (backlog, ready): its pane says it
        // runs. A pane of another process's agent is stopped through the store.
        let pane = self.panes.running_for(id);
        let here = !pane.is_some_and(|p| p.owner.is_some());
        let status = match pane {
            Some(_) => Some(Status::InProgress),
            None => status,
        };
        match status {
            Some(Status::InProgress) if self.has_runner && here => {
                self.outbox.push(Effect::Runner(RunnerCommand::Stop {
                    issue_id: id,
                    by: self.user.clone(),
                }));
                self.toast(Level::Info, format!("stopping #{id}…"), Some(id));
            }
            Some(Status::InProgress) => {
                // No runner here: leave a stop request for the process that runs it.
                self.outbox
                    .push(Effect::Store(StoreRequest::RequestStop(id)));
            }
            _ => self.toast(Level::Info, format!("#{id} has no running agent"), Some(id)),
        }
    }

    fn navigate(&mut self, action: Action) {
        match self.focus {
            Focus::Board => {
                let rows = self.card_rows();
                if self.board.navigate(action, rows) {
                    self.request_board();
                }
            }
            Focus::Panes => {
                let page = usize::from(self.size.1 / 2).max(1);
                self.panes.scroll(action, page);
            }
            Focus::Toasts => self.toasts.navigate(action),
            Focus::Inbox => self.inbox.navigate(action),
        }
    }

    /// Moves the board cursor, reloading when the view leaves the loaded window.
    pub(super) fn move_cursor(&mut self, delta: i64) {
        let rows = self.card_rows();
        if self.board.move_cursor(delta, rows) {
            self.request_board();
        }
        self.dirty = true;
    }

    pub(super) fn focus_column(&mut self, col: usize) {
        self.board.focus_column(col);
        self.focus = Focus::Board;
        self.dirty = true;
    }

    pub(super) fn jump_to_issue(&mut self, id: i64) {
        self.detail = Some(DetailView::new(id));
        self.outbox.push(Effect::Store(StoreRequest::Detail(id)));
        self.dirty = true;
    }

    fn open_editor(&mut self, purpose: EditorPurpose) {
        let ed = match purpose {
            EditorPurpose::Edit(id) => {
                let loaded = self
                    .board
                    .issue(id)
                    .or_else(|| {
                        self.detail
                            .as_ref()
                            .and_then(|d| d.detail())
                            .map(|d| &d.issue)
                    })
                    .filter(|i| i.id == id);
                // All its dependencies when the detail is open, else the unfinished ones its
                // card shows; saving sends only the changes, so a done one left out stays.
                let deps: Vec<i64> = match self.detail.as_ref().and_then(|d| d.detail()) {
                    Some(d) if d.issue.id == id => d.depends_on.iter().map(|l| l.id).collect(),
                    _ => self
                        .board
                        .card_of(id)
                        .map(|c| c.waits_on.clone())
                        .unwrap_or_default(),
                };
                match loaded {
                    Some(issue) => Editor::editing(issue)
                        .with_dependencies(&deps)
                        .with_templates(&self.templates),
                    None => {
                        self.toast(Level::Warn, format!("#{id} is not loaded yet"), Some(id));
                        return;
                    }
                }
            }
            _ => Editor::new(purpose).with_templates(&self.templates),
        };
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
                // Done means merged: accepting goes through the runner's accept, never a
                // bare move.
                if to == Status::Done {
                    self.outbox.push(Effect::Accept(id));
                    self.toast(Level::Info, format!("accepting #{id}…"), Some(id));
                } else {
                    self.outbox.push(Effect::Store(StoreRequest::Move(id, to)));
                }
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
}
