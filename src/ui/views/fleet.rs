//! The fleet list: one line per agent when more run than panes fit. Only the page holding the
//! selected agent is drawn, straight into the buffer, so 64 agents cost what the visible rows
//! cost.

use std::fmt::Write as _;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::{cost_text, elapsed, fit, put_line};
use crate::domain::sanitize::one_line;
use crate::ui::app::{App, Focus};
use crate::ui::layout::fleet_first;
use crate::ui::state::panes::{Pane, PaneState};

/// Cells of the state column (longer outcomes are cut).
const STATE_WIDTH: usize = 11;
/// Cells of the elapsed column (`12m03s`).
const ELAPSED_WIDTH: usize = 6;
/// Cells of the cost column (`~$12.34`).
const COST_WIDTH: usize = 7;

/// Draws the list in `area`: a title row, then the page of agents holding the selected one.
pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let t = app.theme();
    let panes = app.panes();
    let list = panes.list();
    let rows = usize::from(area.height - 1);
    let first = fleet_first(panes.cursor(), rows, list.len());
    let shown = list.len().saturating_sub(first).min(rows);
    let running = panes.running();
    let mut title = format!(" agents {} · {running} running", list.len());
    if list.len() - running > 0 {
        let _ = write!(title, " · {} finished", list.len() - running);
    }
    if shown < list.len() {
        let _ = write!(
            title,
            " · {}–{} of {}",
            first + 1,
            first + shown,
            list.len()
        );
    }
    let focused = app.focus() == Focus::Panes;
    let head_style = if focused { t.border_focus } else { t.border };
    let buf = f.buffer_mut();
    for x in area.left()..area.right() {
        buf[(x, area.y)].set_symbol("─").set_style(head_style);
    }
    put_line(
        buf,
        area.x,
        area.y,
        &Line::from(Span::styled(fit(&title, usize::from(area.width)), t.title)),
        area.width,
    );
    // The id column fits the widest id of the page, so the columns line up within it.
    let id_width = list[first..first + shown]
        .iter()
        .map(|p| p.issue_id.unsigned_abs().checked_ilog10().unwrap_or(0) as usize + 2)
        .max()
        .unwrap_or(2);
    let width = usize::from(area.width);
    // Marker, id, state, elapsed, cost and the spaces between them; the title and the last
    // line of output share the rest.
    let fixed = 2 + id_width + 1 + STATE_WIDTH + 1 + ELAPSED_WIDTH + 1 + COST_WIDTH + 1;
    let rest = width.saturating_sub(fixed + 1);
    let title_w = (rest * 2 / 5).clamp(12.min(rest), 40);
    let output_w = rest.saturating_sub(title_w);
    let mut cells = String::new();
    for (row, (i, p)) in list.iter().enumerate().skip(first).take(shown).enumerate() {
        let y = area.y + 1 + row as u16;
        let selected = i == panes.cursor();
        let mut line = agent_line(app, p, selected, id_width, title_w, output_w, &mut cells);
        if selected {
            let style = if focused {
                t.selection
            } else {
                t.selection_unfocused
            };
            // The selection colours win over the spans' own, as on the board's cards.
            for s in &mut line.spans {
                s.style = s.style.patch(style);
            }
            buf.set_style(Rect::new(area.x, y, area.width, 1), style);
        }
        put_line(buf, area.x, y, &line, area.width);
    }
}

/// One agent's line: `▶ #12 title  state  elapsed  cost  last output`.
fn agent_line(
    app: &App,
    p: &Pane,
    selected: bool,
    id_width: usize,
    title_w: usize,
    output_w: usize,
    cells: &mut String,
) -> Line<'static> {
    let t = app.theme();
    let (state, state_style) = super::panes::state_text(t, p.state);
    let took = p.ended.unwrap_or(app.now()) - p.started;
    let cost = cost_text(p.cost, p.estimate, false).unwrap_or_default();
    let last = p
        .lines
        .back()
        .map(|l| one_line(&l.text))
        .unwrap_or_default();
    cells.clear();
    let _ = write!(cells, "#{}", p.issue_id);
    let id = format!("{cells:<id_width$} ");
    // Titles come sanitized from the runner; a newline would still break the row.
    let title = if p.title.contains(char::is_control) {
        format!("{:<title_w$} ", fit(&one_line(&p.title), title_w))
    } else {
        format!("{:<title_w$} ", fit(&p.title, title_w))
    };
    let state = format!("{:<STATE_WIDTH$} ", fit(state, STATE_WIDTH));
    let took = format!("{:>ELAPSED_WIDTH$} ", elapsed(took));
    let cost = format!("{cost:>COST_WIDTH$} ");
    let muted_state = match p.state {
        PaneState::Running => state_style,
        PaneState::Finished(_) => state_style.patch(t.muted),
    };
    Line::from(vec![
        Span::styled(if selected { "▶ " } else { "  " }, t.accent),
        Span::styled(id, t.accent),
        Span::styled(title, t.title),
        Span::styled(state, muted_state),
        Span::styled(took, t.muted),
        Span::styled(cost, t.muted),
        Span::styled(fit(last.trim(), output_w).into_owned(), t.text),
    ])
}
