//! The six columns; only the visible cards of each are built.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::elapsed;
use crate::domain::Status;
use crate::ui::app::{App, Focus};
use crate::ui::layout::{board_columns, cards_in, CARD_HEIGHT};
use crate::ui::state::board::Column;
use crate::ui::store_thread::Card;

/// Column label for headers.
pub fn label(s: Status) -> &'static str {
    match s {
        Status::Backlog => "backlog",
        Status::Ready => "ready",
        Status::InProgress => "in progress",
        Status::Blocked => "blocked",
        Status::InReview => "in review",
        Status::Done => "done",
    }
}

/// Draws the board.
pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect) {
    let (strip, cols) = board_columns(&app.shape(), area);
    if let Some(s) = strip {
        switcher(f, app, s);
    }
    for (i, r) in cols {
        if let Some(c) = app.board().columns().get(i) {
            column(f, app, c, i == app.board().col(), r);
        }
    }
}

fn switcher(f: &mut Frame<'_>, app: &App, r: Rect) {
    let t = app.theme();
    let mut spans = vec![Span::raw(" ")];
    for (i, c) in app.board().columns().iter().enumerate() {
        let text = format!("{} {} {}", i + 1, label(c.status), c.count);
        let style = if i == app.board().col() {
            t.selection
        } else {
            t.status(c.status)
        };
        spans.push(Span::styled(text, style));
        spans.push(Span::styled("  ", t.muted));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), r);
}

fn column(f: &mut Frame<'_>, app: &App, c: &Column, focused: bool, r: Rect) {
    let t = app.theme();
    let board_focus = focused && app.focus() == Focus::Board;
    let border = if board_focus {
        t.border_focus
    } else {
        t.border
    };
    let title = Line::from(vec![
        Span::styled(format!(" {} ", label(c.status)), t.status(c.status)),
        Span::styled(format!("{} ", c.count), t.muted),
    ]);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(title);
    let rows = cards_in(r.height);
    if c.count > rows && rows > 0 {
        let last = (c.offset + rows).min(c.count);
        block = block.title_bottom(
            Line::from(format!(" {}-{}/{} ", c.offset + 1, last, c.count)).right_aligned(),
        );
    }
    let inner = block.inner(r);
    f.render_widget(block, r);
    if c.count == 0 {
        f.render_widget(Paragraph::new(Line::styled(" —", t.muted)), inner);
        return;
    }
    let mut y = inner.y;
    let mut index = c.offset;
    while y + CARD_HEIGHT <= inner.y + inner.height && index < c.count {
        let area = Rect::new(inner.x, y, inner.width, CARD_HEIGHT);
        let selected = index == c.cursor && focused;
        match c.card(index) {
            Some(card) => draw_card(f, app, card, selected, board_focus, area),
            None => f.render_widget(Paragraph::new(Line::styled(" …", t.muted)), area),
        }
        y += CARD_HEIGHT;
        index += 1;
    }
}

fn draw_card(f: &mut Frame<'_>, app: &App, card: &Card, selected: bool, focused: bool, r: Rect) {
    let t = app.theme();
    let i = &card.issue;
    let mut head = vec![
        Span::styled(format!(" #{}", i.id), t.accent),
        Span::raw(" "),
        Span::styled(i.kind.as_str(), t.kind(i.kind)),
    ];
    if i.priority != 0 {
        head.push(Span::styled(format!(" p{}", i.priority), t.muted));
    }
    if let Some((done, total)) = card.progress {
        head.push(Span::styled(format!(" {done}/{total} done"), t.muted));
    }
    if let Some(a) = &i.assignee {
        // Small: a long name must not push the spend off the head line.
        head.push(Span::styled(format!(" @{}", super::fit(a, 12)), t.muted));
    }
    if let Some(when) = scheduled(app, i) {
        head.push(Span::styled(format!(" {when}"), t.accent));
    }
    if let Some(mark) = i.pr_url.as_deref().and_then(pr_mark) {
        head.push(Span::styled(mark, t.accent));
    }
    if let (Status::InReview, Some(d)) = (i.status, i.diff) {
        head.push(Span::raw(" "));
        head.extend(super::diff::counts(t, d.added, d.removed));
    }
    spend(app, card, &mut head, usize::from(r.width));
    let room = usize::from(r.width).saturating_sub(2);
    // A ready card held by a dependency is dimmed: it is not waiting for a free slot.
    let held = i.status == Status::Ready && !card.waits_on.is_empty();
    let title_style = if held {
        t.title.patch(t.waiting)
    } else {
        t.title
    };
    let title = Line::from(vec![
        Span::raw(" "),
        Span::styled(super::fit(&i.title, room), title_style),
    ]);
    let detail = match i.status {
        Status::Backlog | Status::Ready if !card.waits_on.is_empty() => {
            Some(Line::from(Span::styled(
                format!(" {}", waits_text(&card.waits_on, room.saturating_sub(1))),
                t.waiting,
            )))
        }
        Status::InProgress => live_line(app, card),
        Status::Blocked => card.question.as_deref().map(|q| {
            Line::from(Span::styled(
                format!(" ? {}", super::fit(q, room.saturating_sub(2))),
                t.col_blocked,
            ))
        }),
        Status::InReview => review_line(app, card, room),
        _ => i.body.lines().find(|l| !l.trim().is_empty()).map(|l| {
            Line::from(vec![
                Span::raw(" "),
                Span::styled(super::fit(l.trim(), room), t.muted),
            ])
        }),
    };
    let mut lines = vec![Line::from(head), title, detail.unwrap_or_default()];
    let mut style = Style::default();
    if selected {
        style = if focused {
            t.selection
        } else {
            t.selection_unfocused
        };
        for l in &mut lines {
            // The selection colours win over the spans' own so the card reads as one block.
            for s in &mut l.spans {
                s.style = s.style.patch(style);
            }
        }
    }
    // Cards are written straight into the buffer: a Paragraph per card (with its wrapping
    // machinery) was most of a full board's frame time.
    let buf = f.buffer_mut();
    if selected {
        buf.set_style(r, style);
    }
    for (row, line) in lines.iter().enumerate().take(usize::from(r.height)) {
        let y = r.y + row as u16;
        super::put_line(buf, r.x, y, line, r.width);
    }
}

/// The issue's total spend at the end of the head line, when it has one and it fits whole.
fn spend(app: &App, card: &Card, head: &mut Vec<Span<'static>>, width: usize) {
    if card.spend_usd <= 0.0 {
        return;
    }
    let text = format!(" ${:.2}", card.spend_usd);
    if super::spans_width(head) + text.len() <= width {
        head.push(Span::styled(text, app.theme().muted));
    }
}

/// ` PR 42` for a pull request's address (its last path segment, when that is a number).
pub fn pr_mark(url: &str) -> Option<String> {
    let n: u64 = url.trim_end_matches('/').rsplit('/').next()?.parse().ok()?;
    Some(format!(" PR {n}"))
}

/// `⧗ waits on #3, #7`, cut to `width` at a whole id with the number left out (`+2`).
pub fn waits_text(ids: &[i64], width: usize) -> String {
    let full = format!(
        "⧗ waits on {}",
        ids.iter()
            .map(|id| format!("#{id}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if full.chars().count() <= width {
        return full;
    }
    let mut text = String::from("⧗ waits on");
    for (n, id) in ids.iter().enumerate() {
        let more = ids.len() - n - 1;
        let sep = if n == 0 { " " } else { ", " };
        let next = format!("{text}{sep}#{id}");
        let tail = if more > 0 {
            format!(" +{more}")
        } else {
            String::new()
        };
        if (next.chars().count() + tail.chars().count()) > width {
            let rest = ids.len() - n;
            let cut = format!("{text} +{rest}");
            return super::fit(&cut, width).into_owned();
        }
        text = next;
    }
    text
}

/// A review card's checks and reviewer verdict (`✓ checks ✓ approved`), then its branch in the
/// room left.
fn review_line(app: &App, card: &Card, room: usize) -> Option<Line<'static>> {
    use crate::domain::RunOutcome as O;
    let t = app.theme();
    let m = card.review;
    let checks = match m.checks {
        Some(O::Passed) => Some(("✓ checks", t.ok)),
        Some(O::Failed) => Some(("✗ checks", t.warn)),
        _ => None,
    };
    let review = match m.review {
        Some(O::Approved) => Some(("✓ approved", t.ok)),
        Some(O::ChangesRequested) => Some(("✗ changes", t.warn)),
        Some(_) => Some(("– no verdict", t.muted)),
        None => None,
    };
    let mut spans = Vec::new();
    let mut used = 0;
    for (text, style) in checks.into_iter().chain(review) {
        spans.push(Span::styled(format!(" {text}"), style));
        used += text.chars().count() + 1;
    }
    if let Some(b) = card.issue.branch.as_deref() {
        // A branch cut to a character or two says nothing: then the marks have the line.
        let left = room.saturating_sub(used + 2);
        if left >= 8 {
            spans.push(Span::styled(
                format!(" ⎇ {}", super::fit(b, left)),
                t.col_in_review,
            ));
        }
    }
    (!spans.is_empty()).then(|| Line::from(spans))
}

fn live_line(app: &App, card: &Card) -> Option<Line<'static>> {
    let t = app.theme();
    let pane = app.panes().running_for(card.issue.id);
    let (agent, started, cost) = match (pane, &card.live) {
        (Some(p), _) => (p.agent.clone(), p.started, (p.cost, p.estimate)),
        (None, Some(l)) => {
            let estimate = l.estimate_usd.map(crate::runner::Estimate::Usd);
            (l.agent.clone(), l.started_at, (l.cost_usd, estimate))
        }
        (None, None) => (card.issue.claimed_by.clone()?, app.now(), (None, None)),
    };
    let mut text = format!(" ▶ {agent} · {}", elapsed(app.now() - started));
    if let Some(c) = super::cost_text(cost.0, cost.1, false) {
        text.push_str(&format!(" · {c}"));
    }
    Some(Line::from(Span::styled(text, t.col_in_progress)))
}

/// When a waiting card's issue may be claimed (`at 09:00`), while that is still ahead.
fn scheduled(app: &App, i: &crate::domain::Issue) -> Option<String> {
    if !matches!(i.status, Status::Backlog | Status::Ready) {
        return None;
    }
    let zone = crate::domain::clock::local_zone();
    crate::domain::schedule::when_label(i.not_before?, app.now(), &zone)
}

#[cfg(test)]
mod tests {
    use super::{pr_mark, waits_text};

    #[test]
    fn a_pull_request_is_marked_by_its_number() {
        assert_eq!(
            pr_mark("https://github.com/o/r/pull/42").as_deref(),
            Some(" PR 42")
        );
        assert_eq!(pr_mark("https://github.com/o/r/pull/x\u{1b}[2J"), None);
    }

    #[test]
    fn waits_on_is_cut_at_a_whole_id_and_counts_the_rest() {
        assert_eq!(waits_text(&[3, 7], 40), "⧗ waits on #3, #7");
        assert_eq!(waits_text(&[3, 7, 12, 140], 22), "⧗ waits on #3, #7 +2");
        assert_eq!(waits_text(&[3, 7, 12, 140], 15), "⧗ waits on +4");
        assert!(waits_text(&[3, 7], 5).chars().count() <= 5);
    }
}
