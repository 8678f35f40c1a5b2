//! Store replies and runner events folded into the app.

use super::{App, Effect, Focus, Level};
use crate::domain::sanitize::one_line;
use crate::domain::{AuthorKind, Event, EventKind, RunOutcome, Status};
use crate::runner::review::accept::{AcceptError, Accepted};
use crate::runner::{RunnerCommand, RunnerEvent};
use crate::ui::keymap::{Action, Context};
use crate::ui::state::answer::AnswerForm;
use crate::ui::state::panes::PaneStart;
use crate::ui::store_thread::{RemoteUpdate, StoreReply, StoreRequest};

impl App {
    /// Folds a store reply into state.
    pub fn on_store(&mut self, reply: StoreReply) {
        self.dirty = true;
        match reply {
            StoreReply::Board {
                gen,
                counts,
                columns,
            } => self.board.apply(gen, &counts, columns),
            StoreReply::Inbox(items) => {
                self.inbox.set_items(items);
                if self.focus == Focus::Inbox {
                    self.inbox.mark_seen();
                }
            }
            StoreReply::Detail(d) => {
                if let Some(view) = self.detail.as_mut().filter(|v| v.id() == d.issue.id) {
                    view.set_detail(d);
                    self.request_detail_files();
                }
            }
            StoreReply::Transcript { run_id, lines } => {
                if let Some(d) = self.detail.as_mut() {
                    d.set_transcript(run_id, lines);
                }
            }
            StoreReply::Done { message, issue } => {
                if self.editor.as_ref().is_some_and(|e| e.is_pending()) {
                    self.editor = None;
                }
                let id = issue.as_ref().map(|i| i.id);
                // Sent and taken: the values (secrets too) are dropped, zeroed.
                let answered = |f: &AnswerForm| f.is_pending() && id == Some(f.issue_id());
                if self.inbox.answering().is_some_and(answered) {
                    self.inbox.discard_form();
                }
                if issue.as_ref().is_some_and(|i| i.status == Status::Ready) && self.has_runner {
                    self.outbox.push(Effect::Runner(RunnerCommand::Wake));
                }
                self.toast(Level::Ok, message, id);
            }
            StoreReply::Search { gen, result } => self.on_search(gen, result),
            StoreReply::TranscriptAt { run_id, lines, at } => {
                self.on_transcript_at(run_id, lines, at);
            }
            StoreReply::Spend(usd) => self.today_usd = usd,
            StoreReply::Stats(report) => {
                if let Some(v) = self.stats.as_mut() {
                    v.set_report(*report);
                }
            }
            StoreReply::Failed(msg) => match self.editor.as_mut().filter(|e| e.is_pending()) {
                Some(ed) => ed.refused(msg),
                None => match self.inbox.answering_mut().filter(|f| f.is_pending()) {
                    Some(form) => form.refused(msg),
                    None => self.toast(Level::Error, msg, None),
                },
            },
            StoreReply::ChangesDraft { issue_id, text } => self.on_changes_draft(issue_id, text),
            StoreReply::Remote(updates) => self.on_remote(updates),
            StoreReply::Changed { events, pause } => {
                self.pause = pause;
                // Made ready elsewhere, a dependency done, a hold lifted: an idle slot claims
                // it now, not at its next poll.
                let news = events.iter().any(|e| {
                    !matches!(
                        e.kind,
                        EventKind::RunStarted { .. } | EventKind::RunFinished { .. }
                    )
                });
                if news && self.has_runner {
                    self.outbox.push(Effect::Runner(RunnerCommand::Wake));
                }
                for e in &events {
                    self.forget_deleted(e);
                    self.event_toast(e);
                }
                self.reload();
            }
        }
    }

    /// Runs of other processes folded into their panes.
    fn on_remote(&mut self, updates: Vec<RemoteUpdate>) {
        for u in updates {
            match u {
                RemoteUpdate::Started(s) => {
                    let s = *s;
                    let start = PaneStart {
                        slot: s.slot,
                        run_id: s.run_id,
                        issue_id: s.issue_id,
                        title: s.title,
                        agent: s.agent,
                    };
                    self.panes
                        .start_remote(start, s.owner, s.started_at, s.lines);
                }
                RemoteUpdate::Output { run_id, lines } => self.panes.output(run_id, lines),
                RemoteUpdate::Finished { run_id, outcome } => {
                    self.panes.finish(run_id, outcome, self.now);
                }
            }
        }
    }

    /// Closes the detail of an issue deleted elsewhere: reloading it would only fail.
    fn forget_deleted(&mut self, e: &Event) {
        if let EventKind::IssueDeleted { .. } = e.kind {
            if self
                .detail
                .as_ref()
                .is_some_and(|d| Some(d.id()) == e.issue_id)
            {
                self.detail = None;
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
                    let inbox = self.keymap.label(Context::Global, Action::Inbox);
                    self.toast(
                        Level::Warn,
                        format!("{n} blocked — needs you ({inbox})"),
                        id,
                    );
                    if self.bell {
                        self.outbox.push(Effect::Bell);
                    }
                    self.osc_notice(id, "blocked — needs you");
                }
                Status::InReview => {
                    self.toast(Level::Ok, format!("{n} ready for review"), id);
                    self.osc_notice(id, "ready for review");
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
            EventKind::IssueArchived {} => {
                self.toast(Level::Info, format!("{n} archived by {who}"), id);
            }
            EventKind::IssueDeleted { .. } => {
                self.toast(Level::Info, format!("{n} deleted by {who}"), None);
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

    /// Folds in how accepting an issue ended (see [`Effect::Accept`]).
    pub fn on_accepted(&mut self, id: i64, result: Result<Accepted, AcceptError>) {
        self.dirty = true;
        match result {
            Ok(done) => {
                self.toast(Level::Ok, one_line(&done.merged), Some(id));
                let kept: Vec<&String> = done
                    .notes
                    .iter()
                    .filter(|n| n.starts_with("kept") || n.starts_with("could not"))
                    .collect();
                if !kept.is_empty() {
                    let text: Vec<String> = kept.iter().map(|n| one_line(n)).collect();
                    self.toast(Level::Warn, format!("#{id}: {}", text.join("; ")), Some(id));
                }
            }
            Err(e) => {
                let mut text = one_line(&e.to_string());
                if e.conflicts().is_some() {
                    let key = self.keymap.label(Context::Board, Action::RequestChanges);
                    text.push_str(&format!(" — {key} sends it back to the agent to resolve"));
                }
                self.toast(Level::Error, text, Some(id));
            }
        }
        // The store thread would notice the commit at its next poll; show it now.
        self.outbox.push(Effect::Store(StoreRequest::Poll));
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
            } => self.panes.start(
                PaneStart {
                    slot,
                    run_id,
                    issue_id,
                    title,
                    agent: agent_id,
                },
                self.now,
            ),
            RunnerEvent::Output { run_id, lines, .. } => self.panes.output(run_id, lines),
            RunnerEvent::Progress {
                run_id,
                turns,
                cost_usd,
                estimate,
            } => self.panes.progress(run_id, turns, cost_usd, estimate),
            RunnerEvent::RunFinished {
                run_id, outcome, ..
            } => {
                self.panes.finish(run_id, outcome, self.now);
                // The store thread reports the commit (one reload), unless it already has.
                self.outbox.push(Effect::Store(StoreRequest::Poll));
            }
            RunnerEvent::StoreChanged => self.outbox.push(Effect::Store(StoreRequest::Poll)),
            RunnerEvent::Problem(p) => self.banner = Some(p),
            RunnerEvent::ProblemCleared => self.banner = None,
            RunnerEvent::Paused(p) => self.set_paused(p),
            RunnerEvent::Split { issue_id, result } => self.split_done(issue_id, result),
        }
    }
}
