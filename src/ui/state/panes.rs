//! The agent panes: one per runner slot of this process, and one per run another process runs
//! (fed from the store), each a bounded ring of output lines with its own scroll and follow
//! mode.

use std::collections::VecDeque;

use super::step;
use crate::domain::{Millis, RunOutcome, Status};
use crate::runner::PaneLine;
use crate::ui::keymap::Action;

/// Lines kept per agent pane; the full transcript stays in the store.
pub const PANE_CAPACITY: usize = 2_000;

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
    /// Which other process runs it (`pid 1234@host`, printable); `None` for this one's runner.
    pub owner: Option<String>,
    /// Running or how it ended.
    pub state: PaneState,
    /// When it started (UI clock).
    pub started: Millis,
    /// When it ended (UI clock).
    pub ended: Option<Millis>,
    /// Turns so far.
    pub turns: Option<i64>,
    /// Cost the agent reported (at its end).
    pub cost: Option<f64>,
    /// The live estimate while it runs.
    pub estimate: Option<crate::runner::Estimate>,
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

/// What a new pane shows at first.
#[derive(Debug, Clone)]
pub struct PaneStart {
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
}

/// The panes, by slot order, the selected one and whether it is zoomed.
#[derive(Debug, Clone, Default)]
pub struct Panes {
    list: Vec<Pane>,
    cursor: usize,
    zoom: bool,
    /// The user picked the selected pane (a key, a click): it stays selected as others start.
    chosen: bool,
}

impl Panes {
    /// Every pane, by slot.
    pub fn list(&self) -> &[Pane] {
        &self.list
    }

    /// Whether there is no pane.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The selected pane's index.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Whether the selected pane fills the body.
    pub fn zoomed(&self) -> bool {
        self.zoom
    }

    /// The selected pane.
    pub fn selected(&self) -> Option<&Pane> {
        self.list.get(self.cursor)
    }

    /// The selected pane's issue, and in progress while its run goes on.
    pub fn selected_issue(&self) -> Option<(i64, Option<Status>)> {
        self.selected().map(|p| {
            let status = (p.state == PaneState::Running).then_some(Status::InProgress);
            (p.issue_id, status)
        })
    }

    /// Running agents, wherever they run.
    pub fn running(&self) -> usize {
        self.list
            .iter()
            .filter(|p| p.state == PaneState::Running)
            .count()
    }

    /// Running agents of this process's runner (what quitting stops).
    pub fn running_here(&self) -> usize {
        self.list
            .iter()
            .filter(|p| p.state == PaneState::Running && p.owner.is_none())
            .count()
    }

    /// The running pane of an issue.
    pub fn running_for(&self, issue_id: i64) -> Option<&Pane> {
        self.list
            .iter()
            .find(|p| p.issue_id == issue_id && p.state == PaneState::Running)
    }

    /// A run started in a slot: its pane replaces the slot's previous one.
    pub(crate) fn start(&mut self, s: PaneStart, now: Millis) {
        self.place(s, None, now, Vec::new());
    }

    /// A run of another process (`owner`), seen from the store: its pane replaces the one of
    /// the same owner's slot, and starts with the run's newest stored `lines`.
    pub(crate) fn start_remote(
        &mut self,
        s: PaneStart,
        owner: String,
        started: Millis,
        lines: Vec<PaneLine>,
    ) {
        if self.run_mut(s.run_id).is_none() {
            self.place(s, Some(owner), started, lines);
        }
    }

    /// Puts a new pane in its place: this process's by slot first, then other processes' by
    /// owner and slot. A pane the user picked stays selected.
    fn place(&mut self, s: PaneStart, owner: Option<String>, now: Millis, lines: Vec<PaneLine>) {
        // An agent the user picked stays selected when a new one takes a place before it;
        // until then the selection stays on the first.
        let selected = self.selected().filter(|_| self.chosen).map(|p| p.run_id);
        let mut pane = Pane {
            slot: s.slot,
            run_id: s.run_id,
            issue_id: s.issue_id,
            title: s.title,
            agent: s.agent,
            owner,
            state: PaneState::Running,
            started: now,
            ended: None,
            turns: None,
            cost: None,
            estimate: None,
            lines: VecDeque::new(),
            scroll: 0,
            follow: true,
        };
        pane.push(lines);
        let same = |p: &&mut Pane| p.slot == s.slot && p.owner == pane.owner;
        match self.list.iter_mut().find(same) {
            Some(p) => *p = pane,
            None => {
                self.list.push(pane);
                self.list
                    .sort_by(|a, b| (a.owner.as_ref(), a.slot).cmp(&(b.owner.as_ref(), b.slot)));
            }
        }
        if let Some(i) = selected.and_then(|r| self.list.iter().position(|p| p.run_id == r)) {
            self.cursor = i;
        }
    }

    fn run_mut(&mut self, run_id: i64) -> Option<&mut Pane> {
        self.list.iter_mut().find(|p| p.run_id == run_id)
    }

    /// Output of a run.
    pub(crate) fn output(&mut self, run_id: i64, lines: Vec<PaneLine>) {
        if let Some(p) = self.run_mut(run_id) {
            p.push(lines);
        }
    }

    /// Turns, reported cost and estimate so far (None keeps what is known).
    pub(crate) fn progress(
        &mut self,
        run_id: i64,
        turns: Option<i64>,
        cost: Option<f64>,
        estimate: Option<crate::runner::Estimate>,
    ) {
        if let Some(p) = self.run_mut(run_id) {
            p.turns = turns.or(p.turns);
            p.cost = cost.or(p.cost);
            p.estimate = estimate.or(p.estimate);
        }
    }

    /// A run ended.
    pub(crate) fn finish(&mut self, run_id: i64, outcome: RunOutcome, now: Millis) {
        if let Some(p) = self.run_mut(run_id) {
            p.state = PaneState::Finished(outcome);
            p.ended = Some(now);
        }
    }

    /// Selects a pane.
    pub(crate) fn select(&mut self, i: usize) {
        self.cursor = i;
        self.chosen = true;
    }

    /// The next (or previous) pane, wrapping around.
    pub(crate) fn step(&mut self, right: bool) {
        let n = self.list.len();
        if n > 0 {
            self.cursor = step(self.cursor, n, !right);
            self.chosen = true;
        }
    }

    /// Zooms the selected pane in or out (only when there are panes).
    pub(crate) fn toggle_zoom(&mut self) {
        if !self.list.is_empty() {
            self.zoom = !self.zoom;
        }
    }

    /// Leaves zoom; true when it was on.
    pub(crate) fn unzoom(&mut self) -> bool {
        std::mem::take(&mut self.zoom)
    }

    /// Follow mode on or off for the selected pane; on jumps to the tail.
    pub(crate) fn toggle_follow(&mut self) {
        if let Some(p) = self.list.get_mut(self.cursor) {
            p.follow = !p.follow;
            if p.follow {
                p.scroll = 0;
            }
        }
    }

    /// Dismisses the selected pane when its run has ended (true); running ones stay.
    pub(crate) fn dismiss_finished(&mut self) -> bool {
        let finished = self
            .list
            .get(self.cursor)
            .is_some_and(|p| p.state != PaneState::Running);
        if finished {
            self.list.remove(self.cursor);
            self.cursor = self.cursor.min(self.list.len().saturating_sub(1));
        }
        finished
    }

    /// Scrolls the selected pane (`page` lines a page). Scrolling up leaves follow mode;
    /// reaching the tail re-enters it.
    pub(crate) fn scroll(&mut self, action: Action, page: usize) {
        if let Some(p) = self.list.get_mut(self.cursor) {
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
            p.follow = p.scroll == 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::LineKind;

    fn start(panes: &mut Panes, slot: usize, run_id: i64) {
        panes.start(
            PaneStart {
                slot,
                run_id,
                issue_id: run_id * 10,
                title: "t".into(),
                agent: "box".into(),
            },
            0,
        );
    }

    fn lines(n: usize) -> Vec<PaneLine> {
        (0..n)
            .map(|i| PaneLine {
                kind: LineKind::Text,
                text: format!("line {i}"),
            })
            .collect()
    }

    #[test]
    fn panes_keep_slot_order_and_a_slot_reused_replaces_its_pane() {
        let mut p = Panes::default();
        start(&mut p, 1, 5);
        start(&mut p, 0, 6);
        start(&mut p, 1, 7);
        let runs: Vec<i64> = p.list().iter().map(|p| p.run_id).collect();
        assert_eq!(runs, [6, 7]);
        assert_eq!(p.running(), 2);
        p.finish(7, RunOutcome::Implemented, 9);
        p.select(1);
        assert_eq!(p.selected_issue(), Some((70, None)));
        p.dismiss_finished();
        assert_eq!((p.list().len(), p.cursor()), (1, 0));
        p.dismiss_finished();
        assert_eq!(p.list().len(), 1, "a running pane stays");
    }

    #[test]
    fn remote_panes_sit_after_local_ones_and_quitting_only_counts_local_ones() {
        let mut p = Panes::default();
        let remote = |run_id, slot| PaneStart {
            slot,
            run_id,
            issue_id: run_id * 10,
            title: "far".into(),
            agent: "there".into(),
        };
        p.start_remote(remote(8, 0), "pid 9@b".into(), 5, lines(3));
        p.select(0);
        start(&mut p, 0, 6);
        let runs: Vec<i64> = p.list().iter().map(|p| p.run_id).collect();
        assert_eq!(runs, [6, 8]);
        assert_eq!(p.cursor(), 1, "the selected pane stays selected");
        assert_eq!(p.list()[1].lines.len(), 3);
        assert_eq!(p.list()[1].owner.as_deref(), Some("pid 9@b"));
        p.start_remote(remote(8, 0), "pid 9@b".into(), 5, lines(3));
        assert_eq!(
            p.list()[1].lines.len(),
            3,
            "a run shown is not started twice"
        );
        assert_eq!((p.running(), p.running_here()), (2, 1));
        p.finish(8, RunOutcome::Implemented, 9);
        p.start_remote(remote(11, 0), "pid 9@b".into(), 5, Vec::new());
        let runs: Vec<i64> = p.list().iter().map(|p| p.run_id).collect();
        assert_eq!(runs, [6, 11], "the owner's slot reused replaces its pane");
    }

    #[test]
    fn scrolling_up_holds_the_view_and_the_tail_follows_again() {
        let mut p = Panes::default();
        start(&mut p, 0, 1);
        p.output(1, lines(PANE_CAPACITY + 10));
        assert_eq!(p.list()[0].lines.len(), PANE_CAPACITY);
        p.scroll(Action::PageUp, 5);
        assert!(!p.list()[0].follow);
        p.output(1, lines(3));
        assert_eq!(p.list()[0].scroll, 8);
        p.scroll(Action::Bottom, 5);
        assert!(p.list()[0].follow);
        p.toggle_follow();
        p.toggle_follow();
        assert_eq!((p.list()[0].follow, p.list()[0].scroll), (true, 0));
    }
}
