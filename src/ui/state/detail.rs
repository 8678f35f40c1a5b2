//! The issue detail (body, thread, runs) and, over it, a run's full transcript.

use super::{Hint, Step};
use crate::domain::{IssueDetail, Millis, Status};
use crate::runner::review::diff::{DiffTarget, FileStat};
use crate::runner::PaneLine;
use crate::ui::keymap::{Action, Context, Keymap};

/// The issue detail overlay.
#[derive(Debug, Clone)]
pub struct DetailView {
    id: i64,
    detail: Option<Box<IssueDetail>>,
    scroll: u16,
    run_cursor: usize,
    child_cursor: usize,
    transcript: Option<TranscriptView>,
    /// The files an in_review issue's branch changed, or why they cannot be read.
    files: Option<Result<Vec<FileStat>, String>>,
    /// The request the files are awaited from, and the issue version it was made for.
    files_asked: Option<(u64, Millis)>,
}

/// What a detail key asks of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailStep {
    /// Handled here, or not the detail's (see [`Step`]).
    Step(Step),
    /// Close the detail.
    Close,
    /// A transcript opened: load this run's lines.
    LoadTranscript(i64),
    /// Open asked for a transcript, but there is no run.
    NoRuns,
    /// Open this subtask's detail instead.
    OpenChild(i64),
}

impl DetailView {
    /// A detail that is loading.
    pub fn new(id: i64) -> DetailView {
        DetailView {
            id,
            detail: None,
            scroll: 0,
            run_cursor: 0,
            child_cursor: 0,
            transcript: None,
            files: None,
            files_asked: None,
        }
    }

    /// The files an in_review issue's branch changed (None until read).
    pub fn files(&self) -> Option<&Result<Vec<FileStat>, String>> {
        self.files.as_ref()
    }

    /// What to diff for the file list, when an in_review issue changed since it was read
    /// (one request per version of the issue, not one per reload); `gen` is recorded.
    pub(crate) fn want_files(&mut self, gen: u64) -> Option<DiffTarget> {
        let i = &self.detail.as_ref()?.issue;
        if i.status != Status::InReview
            || self.files_asked.is_some_and(|(_, at)| at == i.updated_at)
        {
            return None;
        }
        self.files_asked = Some((gen, i.updated_at));
        Some(DiffTarget {
            issue_id: i.id,
            branch: i.branch.clone(),
            base: i.base.clone(),
        })
    }

    /// The answer to the file-list request `gen`; false when it is not the one awaited.
    pub(crate) fn set_files(&mut self, gen: u64, files: Result<Vec<FileStat>, String>) -> bool {
        if self.files_asked.map(|(g, _)| g) != Some(gen) {
            return false;
        }
        self.files = Some(files);
        true
    }

    /// The issue.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Loaded detail (None while loading).
    pub fn detail(&self) -> Option<&IssueDetail> {
        self.detail.as_deref()
    }

    /// The issue's status, once loaded.
    pub fn status(&self) -> Option<Status> {
        self.detail.as_ref().map(|d| d.issue.status)
    }

    /// Scroll position in lines.
    pub fn scroll(&self) -> u16 {
        self.scroll
    }

    /// Selected run (index into `runs`, newest last).
    pub fn run_cursor(&self) -> usize {
        self.run_cursor
    }

    /// Selected subtask (index into `children`).
    pub fn child_cursor(&self) -> usize {
        self.child_cursor
    }

    /// The open transcript.
    pub fn transcript(&self) -> Option<&TranscriptView> {
        self.transcript.as_ref()
    }

    /// A store reply for this issue; the first one selects the newest run.
    pub(crate) fn set_detail(&mut self, d: Box<IssueDetail>) {
        if self.detail.is_none() {
            self.run_cursor = d.runs.len().saturating_sub(1);
        }
        self.detail = Some(d);
    }

    /// A store reply with a run's lines, if that transcript is still open.
    pub(crate) fn set_transcript(&mut self, run_id: i64, lines: Vec<PaneLine>) {
        if let Some(t) = self.transcript.as_mut().filter(|t| t.run_id == run_id) {
            t.lines = Some(lines);
        }
    }

    /// Opens `run_id`'s transcript (its lines are asked for by the caller).
    pub(crate) fn open_transcript(&mut self, run_id: i64) {
        self.transcript = Some(TranscriptView::new(run_id));
    }

    /// A transcript opened at a search hit: its lines, scrolled so `at` is the first shown
    /// (and marked), if that transcript is still open.
    pub(crate) fn set_transcript_at(
        &mut self,
        run_id: i64,
        lines: Vec<PaneLine>,
        at: Option<usize>,
    ) {
        if let Some(t) = self.transcript.as_mut().filter(|t| t.run_id == run_id) {
            t.lines = Some(lines);
            t.scroll = at.unwrap_or(0);
            t.mark = at;
        }
    }

    /// An action while the detail is on top (`page` lines a page).
    pub(crate) fn on_action(&mut self, action: Action, page: u16) -> DetailStep {
        let runs = self.detail.as_ref().map_or(0, |x| x.runs.len());
        let children = self.detail.as_ref().map_or(0, |x| x.children.len());
        match action {
            Action::NextChild => {
                self.child_cursor = (self.child_cursor + 1).min(children.saturating_sub(1));
            }
            Action::PrevChild => self.child_cursor = self.child_cursor.saturating_sub(1),
            Action::OpenChild => {
                let child = self.detail.as_ref();
                let child = child.and_then(|x| x.children.get(self.child_cursor));
                return match child {
                    Some(c) => DetailStep::OpenChild(c.id),
                    None => DetailStep::Step(Step::Done),
                };
            }
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::Down => self.scroll = self.scroll.saturating_add(1),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(page),
            Action::PageDown => self.scroll = self.scroll.saturating_add(page),
            Action::Top => self.scroll = 0,
            Action::Left => self.run_cursor = self.run_cursor.saturating_sub(1),
            Action::Right => self.run_cursor = (self.run_cursor + 1).min(runs.saturating_sub(1)),
            Action::Open => {
                let run = self
                    .detail
                    .as_ref()
                    .and_then(|x| x.runs.get(self.run_cursor))
                    .map(|r| r.id);
                return match run {
                    Some(run_id) => {
                        self.transcript = Some(TranscriptView::new(run_id));
                        DetailStep::LoadTranscript(run_id)
                    }
                    None => DetailStep::NoRuns,
                };
            }
            Action::Close => return DetailStep::Close,
            _ => return DetailStep::Step(Step::Pass),
        }
        DetailStep::Step(Step::Done)
    }

    /// An action while the transcript is on top: scrolling keys move it, close goes back to
    /// the detail, the keys that work everywhere (quit, suspend, help) go to the layers
    /// beneath, anything else stops here.
    pub(crate) fn on_transcript_action(&mut self, action: Action, page: u16) -> Step {
        let Some(t) = self.transcript.as_mut() else {
            return Step::Pass;
        };
        match action {
            Action::Close => {
                self.transcript = None;
                Step::Done
            }
            Action::Quit | Action::ForceQuit | Action::Suspend | Action::Help => Step::Pass,
            _ => {
                t.move_by(action, usize::from(page));
                Step::Done
            }
        }
    }

    /// The hint bar while the detail is on top: select a run, the detail's keys and the
    /// global ones, back.
    pub fn hints(keymap: &Keymap) -> Vec<Hint> {
        let mut v: Vec<Hint> = vec![(
            keymap.pair(Context::Detail, Action::Left, Action::Right),
            "select run".into(),
        )];
        v.extend(
            keymap
                .hints(Context::Detail)
                .into_iter()
                .map(|(k, d)| (k, d.to_string())),
        );
        v.push((keymap.label(Context::Detail, Action::Close), "back".into()));
        v
    }

    /// The line under the runs that says how to see one.
    pub fn runs_hint(keymap: &Keymap) -> String {
        format!(
            "{} select a run · {} shows its transcript",
            keymap.pair(Context::Detail, Action::Left, Action::Right),
            keymap.label(Context::Detail, Action::Open)
        )
    }
}

impl DetailView {
    /// The line under the subtasks that says how to open one.
    pub fn children_hint(keymap: &Keymap) -> String {
        format!(
            "{} select a subtask · {} opens it",
            keymap.pair(Context::Detail, Action::PrevChild, Action::NextChild),
            keymap.label(Context::Detail, Action::OpenChild)
        )
    }
}

/// A run's full transcript.
#[derive(Debug, Clone)]
pub struct TranscriptView {
    run_id: i64,
    lines: Option<Vec<PaneLine>>,
    scroll: usize,
    /// The line a search hit opened it at, highlighted.
    mark: Option<usize>,
}

impl TranscriptView {
    fn new(run_id: i64) -> TranscriptView {
        TranscriptView {
            run_id,
            lines: None,
            scroll: 0,
            mark: None,
        }
    }

    /// The run.
    pub fn run_id(&self) -> i64 {
        self.run_id
    }

    /// Lines (None while loading).
    pub fn lines(&self) -> Option<&[PaneLine]> {
        self.lines.as_deref()
    }

    /// The first line shown.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// The line of the search hit it was opened at.
    pub fn mark(&self) -> Option<usize> {
        self.mark
    }

    fn move_by(&mut self, action: Action, page: usize) {
        match action {
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::Down => self.scroll += 1,
            Action::PageUp => self.scroll = self.scroll.saturating_sub(page),
            Action::PageDown => self.scroll += page,
            Action::Top => self.scroll = 0,
            Action::Bottom => self.scroll = usize::MAX / 2,
            _ => {}
        }
        // The last line stops at the bottom of the view, like `less` (G shows a full screen
        // of the end, not the last line alone).
        let len = self.lines.as_ref().map_or(0, Vec::len);
        self.scroll = self.scroll.min(len.saturating_sub(page));
    }

    /// The hint bar while a transcript is open.
    pub fn hints(keymap: &Keymap) -> Vec<Hint> {
        let c = Context::Transcript;
        vec![
            (
                format!(
                    "{} {}",
                    keymap.pair(c, Action::Down, Action::Up),
                    keymap.pair(c, Action::PageUp, Action::PageDown)
                ),
                "scroll".into(),
            ),
            (keymap.label(c, Action::Close), "back".into()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::LineKind;

    fn loaded(runs: usize) -> DetailView {
        let mut d = DetailView::new(8);
        let mut detail = IssueDetail {
            issue: crate::domain::Issue::sample(8, "t", crate::domain::Kind::Bug, Status::InReview),
            cost_usd: None,
            comments: Vec::new(),
            runs: Vec::new(),
            depends_on: Vec::new(),
            blocks: Vec::new(),
            children: Vec::new(),
            needs: Vec::new(),
        };
        for id in 0..runs {
            detail.runs.push(crate::domain::Run {
                id: id as i64 + 1,
                issue_id: 8,
                agent_id: "box".into(),
                slot: 0,
                role: crate::domain::RunRole::Implement,
                owner_pid: None,
                session_id: None,
                started_at: 0,
                ended_at: None,
                exit_code: None,
                outcome: None,
                error: None,
                cost_usd: None,
                estimate_usd: None,
                turns: None,
                duration_ms: None,
                input_tokens: None,
                output_tokens: None,
                cache_read_tokens: None,
                cache_write_tokens: None,
                model: None,
                template: None,
                failure: None,
                persona: None,
                transcript_lines: 0,
                transcript: String::new(),
            });
        }
        d.set_detail(Box::new(detail));
        d
    }

    #[test]
    fn the_detail_selects_the_newest_run_and_opens_its_transcript() {
        let mut d = loaded(0);
        assert_eq!(d.on_action(Action::Open, 10), DetailStep::NoRuns);
        let mut d = loaded(3);
        assert_eq!(d.run_cursor(), 2);
        d.on_action(Action::Right, 10);
        assert_eq!(d.run_cursor(), 2);
        d.on_action(Action::Left, 10);
        assert_eq!(d.on_action(Action::Open, 10), DetailStep::LoadTranscript(2));
        assert_eq!(
            d.on_action(Action::Bottom, 10),
            DetailStep::Step(Step::Pass)
        );
        assert_eq!(d.on_action(Action::Close, 10), DetailStep::Close);
    }

    #[test]
    fn a_transcript_scrolls_like_less_and_swallows_other_keys() {
        let mut d = loaded(1);
        d.on_action(Action::Open, 10);
        let lines = (0..30)
            .map(|i| PaneLine {
                kind: LineKind::Text,
                text: format!("{i}"),
            })
            .collect();
        d.set_transcript(1, lines);
        assert_eq!(d.on_transcript_action(Action::Bottom, 10), Step::Done);
        assert_eq!(d.transcript().map(TranscriptView::scroll), Some(20));
        assert_eq!(d.on_transcript_action(Action::Comment, 10), Step::Done);
        assert_eq!(d.on_transcript_action(Action::Quit, 10), Step::Pass);
        assert_eq!(d.on_transcript_action(Action::Close, 10), Step::Done);
        assert!(d.transcript().is_none());
    }

    #[test]
    fn hints_name_the_bound_keys() {
        let km = Keymap::default();
        assert_eq!(
            DetailView::runs_hint(&km),
            "h/l select a run · enter shows its transcript"
        );
        assert_eq!(TranscriptView::hints(&km)[0].0, "j/k pgup/pgdn");
    }
}
