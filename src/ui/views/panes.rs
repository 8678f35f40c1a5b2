//! Live agent panes: a header per pane and the visible window of its ring buffer.

use ansi_to_tui::IntoText;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::elapsed;
use crate::domain::sanitize::strip_all;
use crate::domain::RunOutcome;
use crate::runner::PaneLine;
use crate::ui::app::{App, Focus};
use crate::ui::keymap::{Action, Context};
use crate::ui::layout::{fleet_split, is_fleet, pane_rects};
use crate::ui::state::panes::{Pane, PaneState};
use crate::ui::theme::Theme;

/// Characters of the issue title a pane header keeps before it drops its other details.
const MIN_TITLE_CHARS: usize = 16;

/// Draws all panes (or the zoomed one), or, when they would not fit, the fleet list and the
/// selected pane.
pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect) {
    let panes = app.panes();
    let shape = app.shape();
    if is_fleet(&shape) {
        let (list, one) = fleet_split(area, panes.list().len());
        super::fleet::draw(f, app, list);
        if let Some(p) = panes.selected() {
            pane(f, app, p, app.focus() == Focus::Panes, one);
        }
        return;
    }
    for (i, r) in pane_rects(&app.shape(), area) {
        if let Some(p) = panes.list().get(i) {
            let focused = i == panes.cursor() && app.focus() == Focus::Panes;
            pane(f, app, p, focused, r);
        }
    }
}

/// Renders one sanitized line; SGR colours go through ansi-to-tui, the theme gives the base.
pub fn render_line(theme: &Theme, l: &PaneLine) -> Line<'static> {
    let base = theme.line(l.kind);
    if theme.colors {
        if let Ok(text) = l.text.as_bytes().into_text() {
            if let Some(line) = text.lines.into_iter().next() {
                let spans: Vec<Span<'static>> = line
                    .spans
                    .into_iter()
                    .map(|s| Span::styled(s.content, base.patch(s.style)))
                    .collect();
                return Line::from(spans);
            }
            return Line::default();
        }
    }
    Line::styled(strip_all(&l.text), base)
}

/// The words a pane's state shows and their style.
pub(super) fn state_text(t: &Theme, state: PaneState) -> (&'static str, ratatui::style::Style) {
    match state {
        PaneState::Running => ("running", t.col_in_progress),
        PaneState::Finished(
            o @ (RunOutcome::Implemented | RunOutcome::Passed | RunOutcome::Approved),
        ) => (o.as_str(), t.ok),
        PaneState::Finished(o) => (o.as_str(), t.warn),
    }
}

fn pane(f: &mut Frame<'_>, app: &App, p: &Pane, focused: bool, r: Rect) {
    let t = app.theme();
    let (state, state_style) = state_text(t, p.state);
    let took = p.ended.unwrap_or(app.now()) - p.started;
    // What a narrow pane gives up first, so the title stays readable: turns, then the agent,
    // the cost, the time; the issue, its title and its state always show.
    let mut extras: Vec<(u8, Span<'static>)> = vec![
        (1, Span::styled(format!(" · {}", p.agent), t.muted)),
        (3, Span::styled(format!(" · {}", elapsed(took)), t.muted)),
    ];
    // Another process's agent says where it runs; it goes last of all (with the time).
    if let Some(owner) = &p.owner {
        extras.insert(1, (3, Span::styled(format!(" · {owner}"), t.muted)));
    }
    if let Some(turns) = p.turns {
        extras.push((0, Span::styled(format!(" · {turns} turns"), t.muted)));
    }
    if let Some(c) = super::cost_text(p.cost, p.estimate, true) {
        extras.push((2, Span::styled(format!(" · {c}"), t.muted)));
    }
    let fixed = vec![
        Span::styled(format!(" #{} ", p.issue_id), t.accent),
        Span::styled(" · ", t.muted),
        Span::styled(state, state_style),
        Span::raw(" "),
    ];
    let width = |extras: &[(u8, Span<'static>)]| {
        super::spans_width(&fixed) + extras.iter().map(|(_, s)| s.width()).sum::<usize>()
    };
    let want = p.title.chars().count().min(MIN_TITLE_CHARS);
    let avail = usize::from(r.width).saturating_sub(4);
    for drop in 0..4 {
        if avail.saturating_sub(width(&extras)) >= want {
            break;
        }
        extras.retain(|(order, _)| *order != drop);
    }
    let room = avail.saturating_sub(width(&extras));
    let mut head = fixed;
    head.insert(1, Span::styled(super::fit(&p.title, room), t.title));
    // Agent, time, turns and cost follow the state, in the order they were pushed.
    let tail = head.pop();
    head.extend(extras.into_iter().map(|(_, s)| s));
    head.extend(tail);
    let foot = if p.follow {
        " follow ".to_string()
    } else {
        let follow = app.keymap().label(Context::Panes, Action::Follow);
        format!(" ↑{} · {follow} follow ", p.scroll)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focus } else { t.border })
        .title(Line::from(head))
        .title_bottom(Line::styled(foot, t.muted).right_aligned());
    let inner = block.inner(r);
    f.render_widget(block, r);
    let h = usize::from(inner.height);
    let end = p.lines.len().saturating_sub(p.scroll);
    let start = end.saturating_sub(h);
    let lines: Vec<Line<'static>> = p
        .lines
        .range(start..end)
        .map(|l| render_line(t, l))
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
