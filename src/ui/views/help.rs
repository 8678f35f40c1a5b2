//! The `?` overlay, generated from the keymap: filterable, and it runs the selected binding.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::centered;
use crate::ui::app::App;
use crate::ui::keymap::Context;
use crate::ui::state::help::HelpState;

/// Draws the keys overlay; the selected row is kept in view.
pub fn draw(f: &mut Frame<'_>, app: &App, state: &HelpState, area: Rect) {
    let t = app.theme();
    let r = centered(area, 72, area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let here = app.context();
    let rows = app.help_rows();
    let mut lines: Vec<Line<'static>> = Vec::new();
    if state.is_typing() || !state.filter().is_empty() {
        let cursor = if state.is_typing() { "▏" } else { "" };
        lines.push(Line::from(vec![
            Span::styled("/ ", t.accent),
            Span::styled(format!("{}{cursor}", state.filter()), t.text),
            Span::styled(format!("   {} of the keys", rows.len()), t.muted),
        ]));
        lines.push(Line::default());
    }
    let mut selected_line = 0;
    let mut group = None;
    for (i, row) in rows.iter().enumerate() {
        if group != Some(row.context) {
            if group.is_some() {
                lines.push(Line::default());
            }
            group = Some(row.context);
            lines.push(Line::styled(row.context.title().to_string(), t.accent));
        }
        let usable = row.context == Context::Global || row.context == here;
        let (key_style, desc_style) = if i == state.selected() {
            selected_line = lines.len();
            (t.selection, t.selection)
        } else if usable {
            (t.hint_key, t.text)
        } else {
            (t.muted, t.muted)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<16}", row.keys), key_style),
            Span::styled(row.desc.to_string(), desc_style),
        ]));
    }
    if rows.is_empty() {
        lines.push(Line::styled("  no key matches", t.muted));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        "Keys can be changed in [ui.keys] of the config file.",
        t.muted,
    ));
    let inner = usize::from(r.height.saturating_sub(2)).max(1);
    // Keep the selected row on screen, with a line of context below it when there is one.
    let scroll = (selected_line + 2).saturating_sub(inner);
    let hint = state.title_hint(app.keymap());
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(" Keys ", t.accent))
        .title_bottom(Line::styled(hint, t.muted).right_aligned());
    let scroll = u16::try_from(scroll).unwrap_or(u16::MAX);
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), r);
}
