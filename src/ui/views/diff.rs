//! The diff view: the file list with counts, then the unified diff. Only the rows on screen
//! are turned into lines, so a 50,000-line diff draws as fast as a short one.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::runner::review::diff::{Diff, LineKind, MAX_DIFF_BYTES};
use crate::ui::app::App;
use crate::ui::state::diff::{DiffView, Row};
use crate::ui::theme::Theme;

/// Draws the open diff over `area`.
pub fn draw(f: &mut Frame<'_>, app: &App, v: &DiffView, area: Rect) {
    f.render_widget(Clear, area);
    let t = app.theme();
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Line::from(vec![
            Span::styled(format!(" #{} ", v.issue_id()), t.accent),
            Span::styled(format!("{} ", v.title()), t.title),
            Span::styled("· diff ", t.muted),
        ]));
    if let (Some(d), Some(i)) = (v.diff(), v.current_file()) {
        block = block.title(
            Line::styled(format!(" file {}/{} ", i + 1, d.files.len()), t.muted).right_aligned(),
        );
    }
    if v.is_typing() || !v.query().is_empty() {
        let n = v.matches().len();
        let cursor = if v.is_typing() { "▏" } else { "" };
        block = block.title_bottom(Line::from(vec![
            Span::styled(" /", t.accent),
            Span::styled(format!("{}{cursor} ", v.query()), t.text),
            Span::styled(
                format!("({n} match{}) ", if n == 1 { "" } else { "es" }),
                t.muted,
            ),
        ]));
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(d) = v.diff() else {
        let line = match v.error() {
            Some(e) => Line::styled(format!(" {e}"), t.error),
            None => Line::styled(" reading the diff…", t.muted),
        };
        f.render_widget(super::wrapped(vec![line]), inner);
        return;
    };
    if d.files.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled(
                " no changes: the branch holds nothing its base does not",
                t.muted,
            )),
            inner,
        );
        return;
    }
    let rows = v.rows();
    let h = usize::from(inner.height);
    // Never past the end, even when the terminal grew since the last key.
    let start = v.scroll().min(rows.len().saturating_sub(h));
    let buf = f.buffer_mut();
    for (n, row) in rows.iter().enumerate().skip(start).take(h) {
        let mut line = row_line(t, v, d, *row);
        if v.matches().binary_search(&n).is_ok() {
            // The match colours win over the row's own, as a selected card's do.
            for s in &mut line.spans {
                s.style = s.style.patch(t.selection);
            }
            line = line.style(t.selection);
        } else if n == v.cursor() {
            // The row `c` quotes.
            line = line.patch_style(t.selection_unfocused);
        }
        let y = inner.y + (n - start) as u16;
        super::put_line(buf, inner.x, y, &line, inner.width);
    }
}

/// One row as a line. Long lines are cut at the edge by the caller; tabs were made spaces
/// and every text was made printable when the diff was parsed.
fn row_line(t: &Theme, v: &DiffView, d: &Diff, row: Row) -> Line<'static> {
    let text = || v.row_text(row).into_owned();
    match row {
        Row::Stat(fi) => {
            let Some(file) = d.files.get(fi as usize) else {
                return Line::default();
            };
            let mut spans = vec![Span::styled(format!(" {} ", text()), t.text)];
            if file.binary {
                spans.push(Span::styled("bin", t.diff_meta));
            } else {
                spans.push(Span::styled(format!("+{}", file.added), t.diff_added));
                spans.push(Span::raw(" "));
                spans.push(Span::styled(format!("−{}", file.removed), t.diff_removed));
            }
            Line::from(spans)
        }
        Row::Totals => {
            let s = d.stat();
            Line::from(vec![
                Span::styled(
                    format!(
                        " {} file{} changed, ",
                        s.files,
                        if s.files == 1 { "" } else { "s" }
                    ),
                    t.muted,
                ),
                Span::styled(format!("+{}", s.added), t.diff_added),
                Span::raw(" "),
                Span::styled(format!("−{}", s.removed), t.diff_removed),
            ])
        }
        Row::Blank => Line::default(),
        Row::File(_) => Line::styled(
            format!("━━ {} ", text()),
            t.diff_file.add_modifier(Modifier::BOLD),
        ),
        Row::Note(..) => Line::styled(format!("   {}", text()), t.diff_meta),
        Row::Hunk(..) => Line::styled(text(), t.diff_hunk),
        Row::Line(fi, hi, li) => {
            let kind = d
                .files
                .get(fi as usize)
                .and_then(|f| f.hunks.get(hi as usize))
                .and_then(|h| h.lines.get(li as usize))
                .map_or(LineKind::Context, |l| l.kind);
            let style = match kind {
                LineKind::Added => t.diff_added,
                LineKind::Removed => t.diff_removed,
                LineKind::Context => t.text,
                LineKind::NoNewline => t.diff_meta,
            };
            Line::styled(format!("{}{}", kind.prefix(), text()), style)
        }
        Row::Truncated => Line::styled(
            format!(
                "… cut here at {} MiB: `autopilot-tui diff {}` or git shows the rest",
                MAX_DIFF_BYTES >> 20,
                v.issue_id()
            ),
            t.warn,
        ),
    }
}

/// `+A −R` for a card or a title, in the theme's diff colours.
pub fn counts(t: &Theme, added: i64, removed: i64) -> Vec<Span<'static>> {
    vec![
        Span::styled(format!("+{added}"), t.diff_added),
        Span::styled(" ", Style::default()),
        Span::styled(format!("−{removed}"), t.diff_removed),
    ]
}
