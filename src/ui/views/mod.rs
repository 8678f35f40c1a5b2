//! Drawing: pure functions from `&App` to a frame. Nothing here changes state or does I/O.

mod answer;
mod board;
mod detail;
pub mod diff;
mod editor;
mod fleet;
mod help;
mod inbox;
mod panes;
pub mod search;
pub mod stats;
mod toasts;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, Focus};
use super::layout::areas;
use super::state::board::Board;
use super::state::confirm::Confirm;
use super::state::editor::EditorPurpose;
use crate::domain::Millis;

/// A paragraph whose long lines wrap. ratatui 0.29 wraps a line holding only spaces into two
/// rows, so such lines (an indented blank line between paragraphs) are drawn empty.
pub fn wrapped(lines: Vec<Line<'static>>) -> Paragraph<'static> {
    let lines: Vec<Line<'static>> = lines
        .into_iter()
        .map(|l| {
            let blank =
                !l.spans.is_empty() && l.spans.iter().all(|s| s.content.bytes().all(|b| b == b' '));
            if blank {
                Line::default()
            } else {
                l
            }
        })
        .collect();
    Paragraph::new(lines).wrap(Wrap { trim: false })
}

/// `42s`, `3m12s`, `1h04m`.
pub fn elapsed(ms: Millis) -> String {
    let s = (ms / 1000).max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// A run's cost for a title or a card: the reported figure (`$0.42`), else the live estimate
/// marked as one (`~$0.42`, with `est.` in front when `long`), else, long only, that the
/// price of its model is unknown.
pub fn cost_text(
    reported: Option<f64>,
    estimate: Option<crate::runner::Estimate>,
    long: bool,
) -> Option<String> {
    use crate::runner::Estimate;
    match (reported, estimate) {
        (Some(c), _) => Some(format!("${c:.2}")),
        (None, Some(Estimate::Usd(e))) if long => Some(format!("est. ~${e:.2}")),
        (None, Some(Estimate::Usd(e))) => Some(format!("~${e:.2}")),
        (None, Some(Estimate::Unknown)) if long => Some("cost unknown until the result".into()),
        _ => None,
    }
}

/// Cuts `text` to `width` terminal cells, ending with `…` when something was cut.
pub fn fit(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    use unicode_width::UnicodeWidthStr;
    // A text that fits is borrowed: a full board fits dozens of titles per frame.
    if text.len() <= width || text.width() <= width {
        return text.into();
    }
    if width == 0 {
        return "".into();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        used += w;
        out.push(ch);
    }
    out.push('…');
    out.into()
}

/// Writes one line of spans at `(x, y)`, at most `width` cells, like `Buffer::set_line`, but
/// ASCII spans skip grapheme segmentation: one char is one cell. Cards are mostly ASCII and a
/// full board draws about fifty of them per frame.
pub fn put_line(buf: &mut ratatui::buffer::Buffer, x: u16, y: u16, line: &Line<'_>, width: u16) {
    let area = buf.area;
    if y < area.top() || y >= area.bottom() || x < area.left() {
        return;
    }
    let end = x.saturating_add(width).min(area.right());
    let mut at = x;
    for span in line.iter() {
        if at >= end {
            return;
        }
        let style = line.style.patch(span.style);
        let text = span.content.as_ref();
        if text.is_ascii() {
            for c in text.chars().filter(|c| !c.is_ascii_control()) {
                if at >= end {
                    return;
                }
                buf[(at, y)].set_char(c).set_style(style);
                at += 1;
            }
        } else {
            at = buf.set_stringn(at, y, text, usize::from(end - at), style).0;
        }
    }
}

/// Cells a line of spans takes.
pub fn spans_width(spans: &[Span<'_>]) -> usize {
    spans.iter().map(Span::width).sum()
}

/// A centred rectangle of at most `w`×`h`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Draws the whole UI.
pub fn draw(f: &mut Frame<'_>, app: &App) {
    let a = areas(&app.shape(), f.area());
    header(f, app, a.header);
    if let (Some(r), Some(text)) = (a.banner, app.banner()) {
        let line = Line::from(format!(" ⚠ {text}")).style(app.theme().banner);
        f.render_widget(Paragraph::new(line).style(app.theme().banner), r);
    }
    if let Some(v) = app.diff() {
        diff::draw(f, app, v, a.main);
    } else if let Some(d) = app.detail() {
        detail::draw(f, app, d, a.main);
    } else if app.focus() == Focus::Inbox {
        inbox::draw(f, app, a.main);
    } else if a.main.height > 0 {
        board::draw(f, app, a.main);
    }
    if let Some(r) = a.panes {
        panes::draw(f, app, r);
    }
    hint_bar(f, app, a.hint);
    if let Some(v) = app.stats() {
        stats::draw(f, app, v, a.main.union(a.panes.unwrap_or(a.main)));
    }
    if let Some(v) = app.search() {
        search::draw(f, app, v, a.main.union(a.panes.unwrap_or(a.main)));
    }
    if let Some(ed) = app.editor() {
        let inline = matches!(ed.purpose(), EditorPurpose::Reply(_))
            && app.focus() == Focus::Inbox
            && app.detail().is_none();
        if !inline {
            editor::draw_popup(f, app, ed, a.main.union(a.panes.unwrap_or(a.main)));
        }
    }
    if let Some(form) = app.inbox().answering() {
        if app.focus() != Focus::Inbox || app.detail().is_some() {
            answer::draw_popup(f, app, form, a.main.union(a.panes.unwrap_or(a.main)));
        }
    }
    if let Some(state) = app.help() {
        help::draw(f, app, state, f.area());
    }
    if let Some(dialog) = app.confirm() {
        confirm(f, app, dialog);
    }
    toasts::draw(f, app, f.area());
}

fn header(f: &mut Frame<'_>, app: &App, r: Rect) {
    let t = app.theme();
    let mut spans = vec![
        Span::styled(" autopilot ", t.accent),
        Span::styled(app.repo().to_string(), t.header),
    ];
    let sep = || Span::styled(" │ ", t.muted);
    let running = app.running();
    spans.push(sep());
    if app.has_runner() {
        let style = if running > 0 {
            t.col_in_progress
        } else {
            t.muted
        };
        spans.push(Span::styled(format!("● {running} running"), style));
        if app.quit_when_idle() {
            spans.push(sep());
            spans.push(Span::styled("quitting when they finish", t.warn));
        }
    } else {
        spans.push(Span::styled("attached (no runner)", t.muted));
    }
    let elsewhere = app.running_elsewhere();
    if elsewhere > 0 {
        spans.push(sep());
        let text = format!("● {elsewhere} running elsewhere");
        spans.push(Span::styled(text, t.col_in_progress));
    }
    if app.pause().paused {
        spans.push(sep());
        spans.push(Span::styled("⏸ paused", t.warn));
    }
    if let Some(until) = app.held_until() {
        // The hold lasts at most a day: the time of day says when it ends.
        let at = crate::domain::format_millis(until);
        let reason = app.pause().reason.as_deref().unwrap_or("rate limited");
        spans.push(sep());
        spans.push(Span::styled(
            format!(
                "⏸ held until {} UTC — {reason}",
                at.get(11..16).unwrap_or(&at)
            ),
            t.warn,
        ));
    }
    if let Some((waiting, limit)) = app.review_full() {
        spans.push(sep());
        spans.push(Span::styled(
            format!("review full: {waiting}/{limit} waiting for you"),
            t.warn,
        ));
    }
    let unread = app.inbox().unread();
    let blocked = app.inbox().items().len();
    spans.push(sep());
    if unread > 0 {
        spans.push(Span::styled(
            format!("inbox {blocked} · {unread} new"),
            t.warn,
        ));
    } else {
        spans.push(Span::styled(format!("inbox {blocked}"), t.muted));
    }
    if let Some(spend) = today_spend(app) {
        spans.push(sep());
        spans.push(spend);
    }
    let filter = app.board().filter();
    if !filter.is_empty() {
        spans.push(sep());
        spans.push(Span::styled(format!("filter: {filter}"), t.accent));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), r);
}

/// `today $3.42`, and `/ $20` under a daily budget (in the warning style once reached);
/// nothing before the first spend of a day without a budget.
fn today_spend(app: &App) -> Option<Span<'static>> {
    let t = app.theme();
    let today = app.today_usd();
    match app.daily_budget() {
        Some(cap) => {
            let style = if today >= cap { t.warn } else { t.muted };
            let text = format!("today {} / {}", stats::usd(today), stats::usd(cap));
            Some(Span::styled(text, style))
        }
        None if today > 0.0 => Some(Span::styled(
            format!("today {}", stats::usd(today)),
            t.muted,
        )),
        None => None,
    }
}

/// The bottom line: the top layer's keys, from the bindings (the filter shows itself while
/// it is typed into).
fn hint_bar(f: &mut Frame<'_>, app: &App, r: Rect) {
    let t = app.theme();
    if app.board().is_typing() {
        let (prompt, keys) = Board::typing_hints(app.keymap());
        let line = Line::from(vec![
            Span::styled(format!(" {prompt} "), t.hint_key),
            Span::styled(format!("{}▏", app.board().filter()), t.text),
            Span::styled(format!("   {keys}"), t.hint_text),
        ]);
        f.render_widget(Paragraph::new(line), r);
        return;
    }
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1usize;
    for (k, d) in app.hints() {
        // Whole hints only: a cut-off key would be worse than none (help lists them all).
        let w = k.chars().count() + d.chars().count() + 3;
        if used + w > usize::from(r.width) + 2 {
            break;
        }
        used += w;
        spans.push(Span::styled(k, t.hint_key));
        spans.push(Span::styled(format!(" {d}  "), t.hint_text));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), r);
}

/// A dialog: its question, then one line per choice of its context's bindings.
fn confirm(f: &mut Frame<'_>, app: &App, dialog: &Confirm) {
    let t = app.theme();
    let (title, question) = match dialog {
        Confirm::Quit { running: 1 } => (" Quit? ", "1 agent is running.".to_string()),
        Confirm::Quit { running } => (" Quit? ", format!("{running} agents are running.")),
        Confirm::Delete { id } => (
            " Delete? ",
            format!("Delete #{id} and its comments for good?"),
        ),
    };
    let r = centered(f.area(), 44, 6);
    f.render_widget(Clear, r);
    let mut text = vec![Line::from(question)];
    for (key, what) in dialog.choices(app.keymap()) {
        text.push(Line::from(vec![
            Span::styled(format!("{key:^5}"), t.hint_key),
            Span::raw(what),
        ]));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.warn)
        .title(Span::styled(title, t.warn));
    f.render_widget(Paragraph::new(text).block(block).style(Style::default()), r);
}

#[cfg(test)]
mod tests {
    use super::{fit, put_line};
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Modifier, Style};
    use ratatui::text::{Line, Span};

    #[test]
    fn put_line_draws_exactly_what_set_line_draws() {
        let lines = [
            Line::from(vec![
                Span::styled(" #12", Style::default().fg(Color::Cyan)),
                Span::raw(" "),
                Span::styled("feature", Style::default().add_modifier(Modifier::BOLD)),
            ]),
            Line::from(vec![
                Span::raw(" 日本語 wide ✓ and é"),
                Span::styled(" tail", Style::default().bg(Color::Blue)),
            ])
            .style(Style::default().fg(Color::Red)),
            Line::from(" a line much longer than the width it is given to draw into"),
            Line::from(""),
        ];
        for width in [0u16, 5, 12, 30] {
            let area = Rect::new(0, 0, 32, 4);
            let (mut a, mut b) = (Buffer::empty(area), Buffer::empty(area));
            for (y, line) in lines.iter().enumerate() {
                put_line(&mut a, 1, y as u16, line, width);
                b.set_line(1, y as u16, line, width);
            }
            assert_eq!(a, b, "width {width}");
        }
    }

    #[test]
    fn fit_cuts_with_an_ellipsis_by_display_width() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("exactly10!", 10), "exactly10!");
        assert_eq!(fit("a longer title", 8), "a longe…");
        assert_eq!(fit("日本語のタイトル", 7), "日本語…");
        assert_eq!(fit("x", 0), "");
    }
}
