//! The `?` overlay, generated from the keymap.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::centered;
use crate::ui::app::App;

/// Draws the help overlay scrolled by `scroll` lines.
pub fn draw(f: &mut Frame<'_>, app: &App, scroll: u16, area: Rect) {
    let t = &app.theme;
    let r = centered(area, 72, area.height.saturating_sub(2));
    f.render_widget(Clear, r);
    let mut lines: Vec<Line<'static>> = Vec::new();
    for (ctx, rows) in app.keymap.help() {
        lines.push(Line::styled(ctx.title().to_string(), t.accent));
        for (keys, desc) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<16}"), t.hint_key),
                Span::styled(desc.to_string(), t.text),
            ]));
        }
        lines.push(Line::default());
    }
    lines.push(Line::styled(
        "Editors: tab next field · ctrl-s save/send · esc cancel",
        t.muted,
    ));
    lines.push(Line::styled(
        "Keys can be changed in [ui.keys] of the config file.",
        t.muted,
    ));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(" Keys ", t.accent))
        .title_bottom(Line::styled(" j/k scroll · any other key closes ", t.muted).right_aligned());
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), r);
}
