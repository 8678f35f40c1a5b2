//! The answer form: the fields a blocked question asks for, each with its description, secret
//! ones masked. Inline under the inbox, or a popup over anything else.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::centered;
use crate::ui::app::App;
use crate::ui::keymap::{Action, Context};
use crate::ui::state::answer::AnswerForm;
use crate::ui::state::editor::Editor;

/// Rows the form needs: two per field, the error line and the borders.
pub fn height(form: &AnswerForm) -> u16 {
    u16::try_from(form.fields().len() * 2 + 3).unwrap_or(u16::MAX)
}

/// The form as a centred popup (when the inbox is not on screen).
pub fn draw_popup(f: &mut Frame<'_>, app: &App, form: &AnswerForm, area: Rect) {
    let r = centered(
        area,
        84.min(area.width.saturating_sub(2)).max(20),
        height(form),
    );
    f.render_widget(Clear, r);
    draw(f, app, form, r);
}

/// The form in `r`.
pub fn draw(f: &mut Frame<'_>, app: &App, form: &AnswerForm, r: Rect) {
    let t = app.theme();
    let next = app.keymap().label(Context::Editor, Action::NextField);
    let keys = format!(
        "{next} next field · enter on the last sends · {}",
        Editor::keys_line(app.keymap(), "send")
    );
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(
            format!(" Answer #{}: the agent's fields ", form.issue_id()),
            t.accent,
        ))
        .title_bottom(Line::styled(format!(" {keys} "), t.muted).right_aligned());
    if form.is_pending() {
        block = block.title_bottom(Line::styled(" sending… ", t.muted));
    }
    let inner = block.inner(r);
    f.render_widget(block, r);
    let width = usize::from(inner.width);
    let mut lines: Vec<Line<'static>> = Vec::new();
    for (i, field) in form.fields().iter().enumerate() {
        let focused = i == form.focus();
        let mut head = vec![
            Span::styled(if focused { "▌" } else { " " }, t.accent),
            Span::styled(field.name().to_string(), t.title),
        ];
        if field.secret() {
            head.push(Span::styled(" (secret)", t.warn));
        }
        if !field.description().is_empty() {
            head.push(Span::styled(format!(" — {}", field.description()), t.muted));
        }
        lines.push(Line::from(head));
        let (shown, cursor) = field.shown();
        let mut input = vec![Span::styled(
            if focused { "▌ > " } else { "  > " },
            t.accent,
        )];
        if focused {
            // The end of a long value, so the cursor stays on screen.
            let chars: Vec<char> = shown.chars().collect();
            let room = width.saturating_sub(6).max(1);
            let start = cursor.saturating_sub(room);
            let before: String = chars[start..cursor.min(chars.len())].iter().collect();
            let at: String = chars.get(cursor).map_or(" ".into(), char::to_string);
            let after: String = chars.iter().skip(cursor + 1).collect();
            input.push(Span::styled(before, t.text));
            input.push(Span::styled(at, t.selection));
            input.push(Span::styled(after, t.text));
        } else {
            input.push(Span::styled(shown, t.text));
        }
        lines.push(Line::from(input));
    }
    if let Some(e) = form.error() {
        lines.push(Line::styled(format!(" {e}"), t.error));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
