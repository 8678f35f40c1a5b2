//! The blocked inbox: every question, newest first, with an inline reply editor.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use crate::ui::app::App;
use crate::ui::keymap::{Action, Context};
use crate::ui::state::editor::EditorPurpose;

/// Question lines shown per item before `…`.
const QUESTION_LINES: usize = 4;

/// Draws the inbox (and the reply editor under the selected question).
pub fn draw(f: &mut Frame<'_>, app: &App, area: Rect) {
    let t = app.theme();
    let inbox = app.inbox();
    let unread = inbox.unread();
    let title = Line::from(vec![
        Span::styled(" Inbox ", t.col_blocked),
        Span::styled(
            format!("· {} blocked · {unread} unread ", inbox.items().len()),
            t.muted,
        ),
    ]);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let replying = app
        .editor()
        .filter(|e| matches!(e.purpose(), EditorPurpose::Reply(_)));
    let form = inbox.answering();
    let (list_area, editor_area) = match (replying, form) {
        (_, Some(form)) => {
            let h = super::answer::height(form).min(inner.height);
            let [l, e] = Layout::vertical([Constraint::Min(0), Constraint::Length(h)]).areas(inner);
            (l, Some(e))
        }
        (Some(_), None) => {
            let h = (inner.height / 2).clamp(5, 12).min(inner.height);
            let [l, e] = Layout::vertical([Constraint::Min(0), Constraint::Length(h)]).areas(inner);
            (l, Some(e))
        }
        (None, None) => (inner, None),
    };
    if inbox.items().is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled(
                " Nothing is blocked. Agents have what they need.",
                t.muted,
            )),
            list_area,
        );
    } else {
        // Windowed: start from the selected item so it is always visible.
        let per_item = QUESTION_LINES + 2;
        let fit = (usize::from(list_area.height) / per_item).max(1);
        let first = inbox.cursor().saturating_sub(fit - 1);
        let detail = app.keymap().label(Context::Inbox, Action::Open);
        let mut lines: Vec<Line<'static>> = Vec::new();
        for (i, item) in inbox.items().iter().enumerate().skip(first).take(fit + 1) {
            let selected = i == inbox.cursor();
            let marker = if selected { "▌" } else { " " };
            let new = inbox.is_new(item);
            let mut head = vec![
                Span::styled(marker, t.accent),
                Span::styled(format!("#{} ", item.issue_id), t.accent),
                Span::styled(
                    item.title.clone(),
                    if selected { t.selection } else { t.title },
                ),
            ];
            if !item.asked_by.is_empty() {
                head.push(Span::styled(
                    format!("  asked by {}", item.asked_by),
                    t.muted,
                ));
            }
            if new {
                head.push(Span::styled("  new", t.warn));
            }
            lines.push(Line::from(head));
            let q: Vec<&str> = item.question.lines().collect();
            for l in q.iter().take(QUESTION_LINES) {
                lines.push(Line::from(vec![
                    Span::styled(marker, t.accent),
                    Span::styled(format!("  {l}"), t.text),
                ]));
            }
            if q.len() > QUESTION_LINES {
                lines.push(Line::styled(
                    format!(
                        "   … {} more lines ({detail} for detail)",
                        q.len() - QUESTION_LINES
                    ),
                    t.muted,
                ));
            }
            lines.push(Line::default());
        }
        f.render_widget(super::wrapped(lines), list_area);
    }
    if let (Some(form), Some(r)) = (form, editor_area) {
        super::answer::draw(f, app, form, r);
    } else if let (Some(ed), Some(r)) = (replying, editor_area) {
        super::editor::draw_body(f, app, ed, r, true);
    }
}
