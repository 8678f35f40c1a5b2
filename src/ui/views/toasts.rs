//! Stacked notifications in the bottom-right corner, above the hint bar, away from the column
//! headers.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use crate::ui::app::{App, Focus, Level};

/// Draws the toasts, newest nearest the hint bar.
pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect) {
    let t = app.theme();
    let w = (area.width / 2).clamp(20, 48).min(area.width);
    let x = area.x + area.width - w;
    let focused = app.focus() == Focus::Toasts;
    for (i, toast) in app.toasts().list().iter().rev().enumerate() {
        let Some(y) = (area.y + area.height)
            .checked_sub(2 + i as u16)
            .filter(|y| *y > area.y)
        else {
            break;
        };
        let (icon, style) = match toast.level {
            Level::Info => ("ℹ", t.info),
            Level::Ok => ("✓", t.ok),
            Level::Warn => ("!", t.warn),
            Level::Error => ("✗", t.error),
        };
        let r = Rect::new(x, y, w, 1);
        f.render_widget(Clear, r);
        let base = if focused && i == app.toasts().cursor() {
            t.toast.patch(t.selection)
        } else {
            t.toast
        };
        let line = Line::from(vec![
            Span::styled(format!(" {icon} "), base.patch(style)),
            Span::styled(format!("{} ", toast.text), base),
        ]);
        f.render_widget(Paragraph::new(line).style(base), r);
    }
}
