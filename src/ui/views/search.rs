//! The search overlay (`ctrl-f`): the query line, then the hits, each as its issue, where it
//! was found and the snippet with the matches highlighted.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use super::fit;
use crate::ui::app::App;
use crate::ui::state::search::SearchView;
use crate::ui::store_thread::SearchRow;
use crate::ui::theme::Theme;

/// What an empty query shows.
const HINT: &str = "type to search titles, descriptions, comments and transcripts: words, \"a phrase\", prefix*, AND / OR / NOT";

/// Draws the overlay over `area`.
pub fn draw(f: &mut Frame<'_>, app: &App, view: &SearchView, area: Rect) {
    let t = app.theme();
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(" Search ", t.accent));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [input, status, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(query_line(t, view, input.width)), input);
    let hits = match view.result() {
        _ if view.query().trim().is_empty() => {
            f.render_widget(
                Paragraph::new(Line::styled(HINT, t.muted)).wrap(Wrap { trim: true }),
                margin(status.union(body)),
            );
            return;
        }
        None => {
            f.render_widget(Paragraph::new(Line::styled(" searching…", t.muted)), status);
            return;
        }
        Some(Err(e)) => {
            f.render_widget(
                Paragraph::new(Line::styled(e.clone(), t.error)).wrap(Wrap { trim: true }),
                margin(status.union(body)),
            );
            return;
        }
        Some(Ok(hits)) => hits,
    };
    let pending = if view.is_pending() {
        " · searching…"
    } else {
        ""
    };
    let count = match hits.len() {
        0 => "no matches".to_string(),
        1 => "1 hit".to_string(),
        n => format!("{n} hits"),
    };
    f.render_widget(
        Paragraph::new(Line::styled(format!(" {count}{pending}"), t.muted)),
        status,
    );
    // Two cells for the selection marker.
    let room = usize::from(body.width).saturating_sub(2);
    let items: Vec<ListItem<'static>> = hits.iter().map(|h| item(t, h, room)).collect();
    // The marker shows the selection without colours too (NO_COLOR, the mono theme).
    let list = List::new(items)
        .highlight_style(t.selection)
        .highlight_symbol("› ");
    let mut state = ListState::default().with_selected(Some(view.selected()));
    f.render_stateful_widget(list, body, &mut state);
}

/// `r` less one cell on each side.
fn margin(r: Rect) -> Rect {
    Rect {
        x: r.x.saturating_add(1),
        width: r.width.saturating_sub(2),
        ..r
    }
}

/// `› query▏`, its end kept in view.
fn query_line(t: &Theme, view: &SearchView, width: u16) -> Line<'static> {
    let room = usize::from(width).saturating_sub(4);
    let q = view.query();
    let shown = if q.width() <= room {
        q.to_string()
    } else {
        let tail: String = q.chars().rev().take(room.saturating_sub(1)).collect();
        format!("…{}", tail.chars().rev().collect::<String>())
    };
    Line::from(vec![
        Span::styled(" › ", t.accent),
        Span::styled(shown, t.text),
        Span::styled("▏", t.accent),
    ])
}

/// A hit: `#12 transcript of run 3`, then its snippet.
fn item(t: &Theme, h: &SearchRow, room: usize) -> ListItem<'static> {
    let id = format!("#{}", h.issue_id);
    let head = Line::from(vec![
        Span::styled(id.clone(), t.accent),
        Span::styled(
            format!(
                " {}",
                fit(&h.where_text(), room.saturating_sub(id.len() + 1))
            ),
            t.muted,
        ),
    ]);
    ListItem::new(vec![head, snippet(t, &h.parts, room)])
}

/// The snippet on one line of `room` cells, matches highlighted; a long text before the
/// first match is cut from its start so the match stays in view.
fn snippet(t: &Theme, parts: &[(String, bool)], room: usize) -> Line<'static> {
    let mut spans = vec![Span::raw("  ")];
    let mut left = room.saturating_sub(2);
    for (i, (text, matched)) in parts.iter().enumerate() {
        if left == 0 {
            break;
        }
        let text = if i == 0 && !matched && text.width() > left / 3 {
            lead(text, left / 3)
        } else {
            text.clone()
        };
        let style: Style = if *matched { t.search_match } else { t.text };
        let shown = fit(&text, left).into_owned();
        left = left.saturating_sub(shown.width());
        spans.push(Span::styled(shown, style));
    }
    Line::from(spans)
}

/// The last `cells` cells of `text`, after a `…`.
fn lead(text: &str, cells: usize) -> String {
    let mut kept = Vec::new();
    let mut used = 1;
    for ch in text.chars().rev() {
        let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if used + w > cells {
            break;
        }
        used += w;
        kept.push(ch);
    }
    let mut out = String::from("…");
    out.extend(kept.into_iter().rev());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_lead_is_cut_from_its_start() {
        assert_eq!(lead("abcdefghij", 5), "…ghij");
        assert_eq!(lead("ab", 5), "…ab");
    }
}
