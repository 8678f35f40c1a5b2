//! The issue editor (title, body, kind, priority, model, effort, budget, dependencies, agent,
//! template, schedule) and the comment/answer editor.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::centered;
use crate::domain::{AgentKind, Effort, Kind};
use crate::ui::app::App;
use crate::ui::state::editor::{Editor, Field};

/// The editor as a centred popup.
pub fn draw_popup(f: &mut Frame<'_>, app: &App, ed: &Editor, area: Rect) {
    let t = app.theme();
    let h = if ed.is_issue() { 21 } else { 12 };
    let r = centered(area, 84.min(area.width.saturating_sub(2)).max(20), h);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(format!(" {} ", ed.heading()), t.accent))
        .title_bottom(
            Line::styled(
                format!(" {} ", Editor::keys_line(app.keymap(), "save")),
                t.muted,
            )
            .right_aligned(),
        );
    let inner = block.inner(r);
    f.render_widget(block, r);
    if !ed.is_issue() {
        draw_body(f, app, ed, inner, false);
        return;
    }
    let [title, body, meta, agent, deps, template, when, err] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    // The text areas are cloned to give them this frame's block and cursor style.
    let field = |f: &mut Frame<'_>,
                 area: &tui_textarea::TextArea<'static>,
                 name: &str,
                 which: Field,
                 r: Rect| {
        let focused = ed.field() == which;
        let mut ta = area.clone();
        ta.set_block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(if focused { t.border_focus } else { t.border })
                .title(Span::styled(
                    format!(" {name} "),
                    if focused { t.accent } else { t.muted },
                )),
        );
        ta.set_cursor_style(if focused { t.selection } else { t.text });
        f.render_widget(&ta, r);
    };
    field(f, ed.title(), "Title", Field::Title, title);
    field(f, ed.body(), "Body", Field::Body, body);
    let mut spans = vec![Span::styled(
        " Kind ",
        if ed.field() == Field::Kind {
            t.accent
        } else {
            t.muted
        },
    )];
    for k in Kind::ALL {
        let style = if *k == ed.kind() {
            if ed.field() == Field::Kind {
                t.selection
            } else {
                t.kind(*k).patch(
                    ratatui::style::Style::default().add_modifier(ratatui::style::Modifier::BOLD),
                )
            }
        } else {
            t.muted
        };
        spans.push(Span::styled(format!(" {} ", k.as_str()), style));
    }
    spans.push(Span::styled(
        "   Priority ",
        if ed.field() == Field::Priority {
            t.accent
        } else {
            t.muted
        },
    ));
    let pstyle = if ed.field() == Field::Priority {
        t.selection
    } else {
        t.text
    };
    spans.push(Span::styled(format!(" {} ", ed.priority()), pstyle));
    spans.push(Span::styled("  (←/→)", t.muted));
    let [meta, cap_label, cap] = Layout::horizontal([
        Constraint::Length(60),
        Constraint::Length(if ed.has_budget() { 10 } else { 0 }),
        Constraint::Min(0),
    ])
    .areas(meta);
    f.render_widget(Paragraph::new(Line::from(spans)), meta);
    if ed.has_budget() {
        let focused = ed.field() == Field::Budget;
        let style = if focused { t.accent } else { t.muted };
        f.render_widget(Span::styled(" Budget $", style), cap_label);
        let mut input = ed.budget().clone();
        input.set_cursor_style(if focused { t.selection } else { t.text });
        f.render_widget(&input, cap);
    }
    draw_agent_row(f, app, ed, agent);
    draw_deps_row(f, app, ed, deps);
    draw_template_row(f, app, ed, template);
    draw_schedule_row(f, app, ed, when);
    if let Some(e) = ed.error() {
        f.render_widget(Paragraph::new(Line::styled(format!(" {e}"), t.error)), err);
    } else {
        let hint = format!(" {}", Editor::fields_line(app.keymap()));
        f.render_widget(Paragraph::new(Line::styled(hint, t.muted)), err);
    }
}

/// The model input and the effort picker, on one row.
fn draw_agent_row(f: &mut Frame<'_>, app: &App, ed: &Editor, r: Rect) {
    let t = app.theme();
    let label = |which: Field| {
        if ed.field() == which {
            t.accent
        } else {
            t.muted
        }
    };
    let [name, input, effort] = Layout::horizontal([
        Constraint::Length(7),
        Constraint::Length(20),
        Constraint::Min(0),
    ])
    .areas(r);
    f.render_widget(Span::styled(" Model ", label(Field::Model)), name);
    let mut model = ed.model().clone();
    let focused = ed.field() == Field::Model;
    model.set_cursor_style(if focused { t.selection } else { t.text });
    f.render_widget(&model, input);
    let mut spans = vec![Span::styled("  Effort ", label(Field::Effort))];
    let choices = std::iter::once(None).chain(Effort::ALL.iter().copied().map(Some));
    for e in choices {
        let style = match (e == ed.effort(), ed.field() == Field::Effort) {
            (true, true) => t.selection,
            (true, false) => t.text.add_modifier(ratatui::style::Modifier::BOLD),
            _ => t.muted,
        };
        let text = e.map_or("default", Effort::as_str);
        spans.push(Span::styled(format!(" {text} "), style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), effort);
}

/// The ids of the issues it waits for.
fn draw_deps_row(f: &mut Frame<'_>, app: &App, ed: &Editor, r: Rect) {
    let t = app.theme();
    let focused = ed.field() == Field::Depends;
    let [name, input, agent] = Layout::horizontal([
        Constraint::Length(12),
        Constraint::Min(0),
        Constraint::Length(41),
    ])
    .areas(r);
    let label = if focused { t.accent } else { t.muted };
    f.render_widget(Span::styled(" Depends on ", label), name);
    let mut deps = ed.deps().clone();
    deps.set_cursor_style(if focused { t.selection } else { t.text });
    f.render_widget(&deps, input);
    let on = ed.field() == Field::Agent;
    let mut spans = vec![Span::styled(
        "  Agent ",
        if on { t.accent } else { t.muted },
    )];
    let choices = std::iter::once(None).chain(AgentKind::ALL.iter().copied().map(Some));
    for a in choices {
        let style = match (a == ed.agent(), on) {
            (true, true) => t.selection,
            (true, false) => t.text.add_modifier(ratatui::style::Modifier::BOLD),
            _ => t.muted,
        };
        let text = a.map_or("default", AgentKind::as_str);
        spans.push(Span::styled(format!(" {text} "), style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), agent);
}

/// The prompt template picker: none, then the known templates.
fn draw_template_row(f: &mut Frame<'_>, app: &App, ed: &Editor, r: Rect) {
    let t = app.theme();
    let on = ed.field() == Field::Template;
    let mut spans = vec![Span::styled(
        " Template ",
        if on { t.accent } else { t.muted },
    )];
    for c in ed.template_choices() {
        let style = match (c == ed.template(), on) {
            (true, true) => t.selection,
            (true, false) => t.text.add_modifier(ratatui::style::Modifier::BOLD),
            _ => t.muted,
        };
        let text = crate::domain::sanitize::one_line(c.unwrap_or("default"));
        spans.push(Span::styled(format!(" {text} "), style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), r);
}

/// When it may start and how often it repeats, each a one-line input.
fn draw_schedule_row(f: &mut Frame<'_>, app: &App, ed: &Editor, r: Rect) {
    let t = app.theme();
    let [at_name, at, every_name, every] = Layout::horizontal([
        Constraint::Length(10),
        Constraint::Length(40),
        Constraint::Length(10),
        Constraint::Min(0),
    ])
    .areas(r);
    for (name, input, which, label_area, input_area) in [
        (" Start at ", ed.at(), Field::At, at_name, at),
        ("  Repeat ", ed.every(), Field::Every, every_name, every),
    ] {
        let focused = ed.field() == which;
        f.render_widget(
            Span::styled(name, if focused { t.accent } else { t.muted }),
            label_area,
        );
        let mut input = input.clone();
        input.set_cursor_style(if focused { t.selection } else { t.text });
        f.render_widget(&input, input_area);
    }
}

/// Just the body input (comments, answers; also used inline by the inbox).
pub fn draw_body(f: &mut Frame<'_>, app: &App, ed: &Editor, r: Rect, with_title: bool) {
    let t = app.theme();
    let mut tb = ed.body().clone();
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus);
    if with_title {
        block = block
            .title(Span::styled(format!(" {} ", ed.heading()), t.accent))
            .title_bottom(
                Line::styled(
                    format!(" {} ", Editor::keys_line(app.keymap(), "send")),
                    t.muted,
                )
                .right_aligned(),
            );
    }
    if let Some(e) = ed.error() {
        block = block.title_bottom(Line::styled(format!(" {e} "), t.error));
    }
    tb.set_block(block);
    tb.set_cursor_style(t.selection);
    f.render_widget(&tb, r);
}
