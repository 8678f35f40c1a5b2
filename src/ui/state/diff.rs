//! An issue's diff: the file list with counts, then the unified diff. The diff is computed off
//! the UI thread (the event loop runs [`DiffRequest`]s on a blocking task and answers with a
//! [`DiffReply`]); here it is indexed once into rows, so a frame reads only the rows it shows
//! and scrolling, file jumps and search are arithmetic on that index.

use std::borrow::Cow;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Hint, Step};
use crate::runner::review::diff::{Diff, DiffTarget, FileStat, LineKind};
use crate::ui::keymap::{Action, Context, Keymap};

/// Work for the event loop: compute an issue's diff (or only its file counts) off the UI
/// thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffRequest {
    /// Echoed in the reply, so an answer nobody waits for any more is dropped.
    pub gen: u64,
    /// The issue, its branch and base.
    pub target: DiffTarget,
    /// The whole diff (the diff view), or the file counts only (the detail).
    pub full: bool,
}

/// What a [`DiffRequest`] found.
#[derive(Debug, Clone)]
pub enum DiffPayload {
    /// The whole diff.
    Full(Box<Diff>),
    /// The files with their counts.
    Stat(Vec<FileStat>),
}

/// The answer to a [`DiffRequest`].
#[derive(Debug, Clone)]
pub struct DiffReply {
    /// The request's generation.
    pub gen: u64,
    /// The issue.
    pub issue_id: i64,
    /// The diff, or why there is none (for the user).
    pub result: Result<DiffPayload, String>,
}

/// One row of the view, pointing into the diff (indexes are `u32` to keep a 50,000-line
/// index small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A file's line in the list at the top.
    Stat(u32),
    /// The totals under the list.
    Totals,
    /// An empty row.
    Blank,
    /// A file's header.
    File(u32),
    /// A note under a file's header (rename, mode, binary): file, note.
    Note(u32, u32),
    /// A hunk header: file, hunk.
    Hunk(u32, u32),
    /// A line: file, hunk, line.
    Line(u32, u32, u32),
    /// The diff was cut at the size limit.
    Truncated,
}

#[derive(Debug, Clone)]
enum Content {
    Loading,
    Failed(String),
    Loaded {
        diff: Box<Diff>,
        rows: Vec<Row>,
        /// The row of each file's header.
        files: Vec<usize>,
    },
}

/// The diff view.
#[derive(Debug, Clone)]
pub struct DiffView {
    issue_id: i64,
    title: String,
    gen: u64,
    content: Content,
    scroll: usize,
    /// The row a comment quotes: the top row, except on the last page, where the view cannot
    /// scroll further and `j`/`k` move it down the page instead.
    cursor: usize,
    query: String,
    typing: bool,
    /// Rows that hold the query, in order.
    matches: Vec<usize>,
}

fn idx(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl DiffView {
    /// A view waiting for request `gen`.
    pub fn new(issue_id: i64, title: String, gen: u64) -> DiffView {
        DiffView {
            issue_id,
            title,
            gen,
            content: Content::Loading,
            scroll: 0,
            cursor: 0,
            query: String::new(),
            typing: false,
            matches: Vec::new(),
        }
    }

    /// The issue.
    pub fn issue_id(&self) -> i64 {
        self.issue_id
    }

    /// Its title (printable).
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The loaded diff.
    pub fn diff(&self) -> Option<&Diff> {
        match &self.content {
            Content::Loaded { diff, .. } => Some(diff),
            _ => None,
        }
    }

    /// Why the diff could not be shown.
    pub fn error(&self) -> Option<&str> {
        match &self.content {
            Content::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Every row (empty while loading).
    pub fn rows(&self) -> &[Row] {
        match &self.content {
            Content::Loaded { rows, .. } => rows,
            _ => &[],
        }
    }

    /// The first row shown.
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    /// The row comments quote (see [`DiffView::quote`]).
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The search text.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Whether the search is being typed.
    pub fn is_typing(&self) -> bool {
        self.typing
    }

    /// Rows holding the search text.
    pub fn matches(&self) -> &[usize] {
        &self.matches
    }

    /// The index of the file at the top of the view (the last header at or above it).
    pub fn current_file(&self) -> Option<usize> {
        match &self.content {
            Content::Loaded { files, .. } => {
                // None over the file list, before the first header.
                files.partition_point(|r| *r <= self.scroll).checked_sub(1)
            }
            _ => None,
        }
    }

    /// Whether the view waits for (or shows) the answer to request `gen`.
    pub fn waits_for(&self, gen: u64) -> bool {
        self.gen == gen
    }

    /// A reply; stale ones (another request's) are ignored. Returns whether it was ours.
    pub(crate) fn set_reply(&mut self, reply: DiffReply) -> bool {
        if reply.gen != self.gen {
            return false;
        }
        self.content = match reply.result {
            Ok(DiffPayload::Full(diff)) => {
                let (rows, files) = index(&diff);
                Content::Loaded { diff, rows, files }
            }
            Ok(DiffPayload::Stat(_)) => return false,
            Err(e) => Content::Failed(e),
        };
        true
    }

    /// The text of a row, as drawn (without the prefix column for lines) and searched.
    pub fn row_text(&self, row: Row) -> Cow<'_, str> {
        let Some(d) = self.diff() else {
            return Cow::Borrowed("");
        };
        let file = |f: u32| d.files.get(f as usize);
        match row {
            Row::Stat(f) | Row::File(f) => {
                file(f).map_or(Cow::Borrowed(""), |f| Cow::Owned(f.display_path()))
            }
            Row::Note(f, n) => file(f)
                .and_then(|f| f.notes().into_iter().nth(n as usize))
                .map_or(Cow::Borrowed(""), Cow::Owned),
            Row::Hunk(f, h) => file(f)
                .and_then(|f| f.hunks.get(h as usize))
                .map_or(Cow::Borrowed(""), |h| Cow::Borrowed(h.header.as_str())),
            Row::Line(f, h, l) => file(f)
                .and_then(|f| f.hunks.get(h as usize))
                .and_then(|h| h.lines.get(l as usize))
                .map_or(Cow::Borrowed(""), |l| Cow::Borrowed(l.text.as_str())),
            Row::Totals | Row::Blank | Row::Truncated => Cow::Borrowed(""),
        }
    }

    /// An action while the diff is on top (`page` rows a page). Close asks the app to close
    /// the view; keys that work everywhere pass; anything else stops here.
    pub(crate) fn on_action(&mut self, action: Action, page: usize) -> DiffStep {
        match action {
            Action::Close => return DiffStep::Close,
            Action::Quit | Action::ForceQuit | Action::Suspend | Action::Help => {
                return DiffStep::Step(Step::Pass)
            }
            Action::Up if self.cursor > self.scroll => {
                self.cursor -= 1;
                return DiffStep::Step(Step::Done);
            }
            Action::Down if self.scroll >= self.last_top(page) => {
                self.cursor = (self.cursor + 1).min(self.rows().len().saturating_sub(1));
                return DiffStep::Step(Step::Done);
            }
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::Down => self.scroll += 1,
            Action::PageUp => self.scroll = self.scroll.saturating_sub(page),
            Action::PageDown => self.scroll += page,
            Action::Top => self.scroll = 0,
            Action::Bottom => {
                self.scroll = usize::MAX / 2;
                self.clamp(page);
                self.cursor = self.rows().len().saturating_sub(1);
                return DiffStep::Step(Step::Done);
            }
            Action::NextFile | Action::PrevFile => self.jump_file(action == Action::NextFile),
            Action::Filter => {
                self.typing = true;
                self.query.clear();
                self.matches.clear();
            }
            Action::NextMatch | Action::PrevMatch => {
                let step = self.jump_match(action == Action::NextMatch, false);
                self.clamp(page);
                return step;
            }
            _ => {}
        }
        self.clamp(page);
        DiffStep::Step(Step::Done)
    }

    /// The top row when the view shows the end.
    fn last_top(&self, page: usize) -> usize {
        self.rows().len().saturating_sub(page.max(1))
    }

    /// Like `less`, the last row stops at the bottom of the view. Anything but `j`/`k` on the
    /// last page puts the cursor on the top row.
    fn clamp(&mut self, page: usize) {
        self.scroll = self.scroll.min(self.last_top(page));
        self.cursor = self.scroll;
    }

    /// The cursor row as a comment's opening quote, `> path:line `text``, for the comment
    /// editor (None off the files, on the list's totals or a blank row). A removed line is
    /// quoted with its number before the change.
    pub fn quote(&self) -> Option<String> {
        let d = self.diff()?;
        let row = *self.rows().get(self.cursor)?;
        let (fi, place) = match row {
            Row::Stat(f) | Row::File(f) | Row::Note(f, _) => (f, None),
            Row::Hunk(f, h) => (f, Some((h, None))),
            Row::Line(f, h, l) => (f, Some((h, Some(l)))),
            Row::Totals | Row::Blank | Row::Truncated => return None,
        };
        let file = d.files.get(fi as usize)?;
        let Some((hi, line)) = place else {
            return Some(format!("> {}", file.path));
        };
        let hunk = file.hunks.get(hi as usize)?;
        let (mut old, mut new) = hunk_starts(&hunk.header).unwrap_or((1, 1));
        let Some(li) = line else {
            return Some(format!("> {}:{new}", file.path));
        };
        for l in hunk.lines.iter().take(li as usize) {
            match l.kind {
                LineKind::Context => (old, new) = (old + 1, new + 1),
                LineKind::Added => new += 1,
                LineKind::Removed => old += 1,
                LineKind::NoNewline => {}
            }
        }
        let l = hunk.lines.get(li as usize)?;
        let at = match l.kind {
            LineKind::Removed => format!("{old} (removed)"),
            _ => new.to_string(),
        };
        let text = crate::runner::agent::truncate(l.text.trim(), QUOTE_MAX);
        let code = if text.is_empty() {
            String::new()
        } else if text.contains('`') {
            format!(" `` {text} ``")
        } else {
            format!(" `{text}`")
        };
        Some(format!("> {}:{at}{code}", file.path))
    }

    fn jump_file(&mut self, forward: bool) {
        let Content::Loaded { files, .. } = &self.content else {
            return;
        };
        let target = if forward {
            files.iter().find(|r| **r > self.scroll)
        } else {
            files.iter().rev().find(|r| **r < self.scroll)
        };
        // Past the last file (or before the first) the view goes to the end (or the list).
        self.scroll = match (target, forward) {
            (Some(r), _) => *r,
            (None, true) => self.scroll,
            (None, false) => 0,
        };
    }

    /// Moves to the next (or previous) match; `here` counts a match on the top row.
    fn jump_match(&mut self, forward: bool, here: bool) -> DiffStep {
        if self.query.is_empty() {
            return DiffStep::NoSearch;
        }
        if self.matches.is_empty() {
            return DiffStep::NoMatch;
        }
        let s = self.scroll;
        let found = if forward {
            self.matches
                .iter()
                .find(|r| **r > s || (here && **r == s))
                .or(self.matches.first())
        } else {
            self.matches
                .iter()
                .rev()
                .find(|r| **r < s)
                .or(self.matches.last())
        };
        if let Some(r) = found {
            self.scroll = *r;
        }
        DiffStep::Step(Step::Done)
    }

    /// A key while the search is typed: text, backspace, enter (keep), esc (drop). Matches
    /// follow every key, and the view goes to the first one from where it is.
    pub(crate) fn type_key(
        &mut self,
        action: Option<Action>,
        key: KeyEvent,
        page: usize,
    ) -> DiffStep {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match (action, key.code) {
            (Some(Action::Close), _) => {
                self.typing = false;
                self.query.clear();
                self.matches.clear();
                return DiffStep::Step(Step::Done);
            }
            (Some(Action::Done), _) => {
                self.typing = false;
                return if self.query.is_empty() || !self.matches.is_empty() {
                    DiffStep::Step(Step::Done)
                } else {
                    DiffStep::NoMatch
                };
            }
            (Some(_), _) => return DiffStep::Step(Step::Done),
            (None, KeyCode::Backspace) => {
                self.query.pop();
            }
            (None, KeyCode::Char(c)) if !ctrl => self.query.push(c),
            _ => return DiffStep::Step(Step::Done),
        }
        self.find();
        if !self.matches.is_empty() {
            self.jump_match(true, true);
            self.clamp(page);
        }
        DiffStep::Step(Step::Done)
    }

    /// Every row holding the query (any case).
    fn find(&mut self) {
        let needle = self.query.to_lowercase();
        self.matches = if needle.is_empty() {
            Vec::new()
        } else {
            (0..self.rows().len())
                .filter(|i| {
                    self.row_text(self.rows()[*i])
                        .to_lowercase()
                        .contains(&needle)
                })
                .collect()
        };
    }

    /// The hint bar while the diff is on top.
    pub fn hints(keymap: &Keymap) -> Vec<Hint> {
        let c = Context::Diff;
        let mut v: Vec<Hint> = vec![(
            format!(
                "{} {}",
                keymap.pair(c, Action::Down, Action::Up),
                keymap.pair(c, Action::PageUp, Action::PageDown)
            ),
            "scroll".into(),
        )];
        v.push((
            keymap.pair(c, Action::NextFile, Action::PrevFile),
            "file".into(),
        ));
        v.push((keymap.label(c, Action::Filter), "search".into()));
        v.push((
            keymap.pair(c, Action::NextMatch, Action::PrevMatch),
            "match".into(),
        ));
        v.push((keymap.label(c, Action::Comment), "comment".into()));
        v.push((keymap.label(c, Action::Close), "back".into()));
        v
    }
}

/// Most characters of a line quoted into a comment.
const QUOTE_MAX: usize = 160;

/// The first old and new line numbers of a hunk, from its `@@ -a,b +c,d @@` header.
fn hunk_starts(header: &str) -> Option<(u64, u64)> {
    let mut parts = header.strip_prefix("@@ ")?.split(' ');
    let start = |p: Option<&str>, sign: char| -> Option<u64> {
        let n = p?.strip_prefix(sign)?.split(',').next()?.parse().ok()?;
        // An empty side (`-0,0`) starts before line 1.
        Some(u64::max(n, 1))
    };
    let old = start(parts.next(), '-')?;
    let new = start(parts.next(), '+')?;
    Some((old, new))
}

/// What a diff key asks of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffStep {
    /// Handled here, or not the view's (see [`Step`]).
    Step(Step),
    /// Close the view.
    Close,
    /// `n`/`N` without a search.
    NoSearch,
    /// The search matches nothing.
    NoMatch,
}

/// The rows of a diff: the file list, the totals, then each file's header, notes, hunks and
/// lines.
fn index(d: &Diff) -> (Vec<Row>, Vec<usize>) {
    let mut rows = Vec::with_capacity(d.files.len() * 3 + d.line_count() + 4);
    rows.extend((0..d.files.len()).map(|f| Row::Stat(idx(f))));
    rows.push(Row::Totals);
    let mut files = Vec::with_capacity(d.files.len());
    for (fi, f) in d.files.iter().enumerate() {
        rows.push(Row::Blank);
        files.push(rows.len());
        rows.push(Row::File(idx(fi)));
        rows.extend((0..f.notes().len()).map(|n| Row::Note(idx(fi), idx(n))));
        for (hi, h) in f.hunks.iter().enumerate() {
            rows.push(Row::Hunk(idx(fi), idx(hi)));
            rows.extend((0..h.lines.len()).map(|l| Row::Line(idx(fi), idx(hi), idx(l))));
        }
    }
    if d.truncated {
        rows.push(Row::Truncated);
    }
    (rows, files)
}

#[cfg(test)]
mod tests;
