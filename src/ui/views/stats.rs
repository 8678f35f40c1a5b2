//! The stats overlay (`S`): spend per local day as a bar chart, runs by outcome, success rate,
//! flow times, and the most expensive issues as a list to open.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Clear, List, ListItem, ListState};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{elapsed, fit};
use crate::domain::stats::{DaySpend, Durations, Stats};
use crate::ui::app::App;
use crate::ui::state::stats::StatsView;
use crate::ui::store_thread::CHART_DAYS;
use crate::ui::theme::Theme;

/// `$3.42`; a whole amount without cents (`$20`).
pub fn usd(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e12 {
        format!("${v:.0}")
    } else {
        format!("${v:.2}")
    }
}

/// Draws the overlay over `area`.
pub fn draw(f: &mut Frame<'_>, app: &App, view: &StatsView, area: Rect) {
    let t = app.theme();
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(
            format!(" Stats · last {CHART_DAYS} days "),
            t.accent,
        ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(report) = view.report() else {
        f.render_widget(Paragraph::new(Line::styled(" loading…", t.muted)), inner);
        return;
    };
    let s = &report.stats;
    // The chart grows with the screen; the lists keep room for the ten issues.
    let chart_rows = inner.height.saturating_sub(13).clamp(5, 14);
    let [totals, chart, lists] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(chart_rows),
        Constraint::Min(0),
    ])
    .areas(inner);
    f.render_widget(
        Paragraph::new(summary(t, s)).wrap(Wrap { trim: true }),
        totals,
    );
    bars(f, t, &report.days, chart);
    let [left, right] =
        Layout::horizontal([Constraint::Length(30), Constraint::Min(20)]).areas(lists);
    f.render_widget(Paragraph::new(outcomes(t, s, left.height)), left);
    costliest(f, t, view, right);
}

/// Totals, success rate and flow times: two lines.
fn summary(t: &Theme, s: &Stats) -> Vec<Line<'static>> {
    let rate = match s.flow.success_rate {
        Some(r) => format!(
            "{:.0}% first try ({}/{})",
            r * 100.0,
            s.flow.first_try_reviews,
            s.flow.first_runs
        ),
        None => "no first tries yet".to_string(),
    };
    let time = |d: &Durations| {
        d.median_secs
            .map_or("—".to_string(), |secs| elapsed((secs * 1000.0) as i64))
    };
    vec![
        Line::from(vec![
            Span::styled(format!(" spent {}", usd(s.total_cost_usd)), t.title),
            Span::styled(format!(" · today {}", usd(s.today_cost_usd)), t.text),
            Span::styled(format!(" · {} runs · {rate}", s.runs), t.muted),
        ]),
        Line::styled(
            format!(
                " median lead {} · cycle {} · blocked {}",
                time(&s.flow.lead_time),
                time(&s.flow.cycle_time),
                time(&s.flow.blocked_time),
            ),
            t.muted,
        ),
    ]
}

/// Spend per day, in cents so the bars keep their proportions; each labelled with its day of
/// the month and its amount.
fn bars(f: &mut Frame<'_>, t: &Theme, days: &[DaySpend], r: Rect) {
    let n = u16::try_from(days.len().max(1)).unwrap_or(u16::MAX);
    // Bars as wide as fit, 1 to 8 cells, one cell apart.
    let width = (r.width.saturating_sub(1) / n)
        .saturating_sub(1)
        .clamp(1, 8);
    let bars: Vec<Bar<'static>> = days
        .iter()
        .map(|d| {
            let cents = (d.cost_usd.max(0.0) * 100.0).round() as u64;
            let label = d.day.get(8..10).unwrap_or("").to_string();
            let amount = if cents == 0 {
                String::new()
            } else {
                fit(&short_usd(d.cost_usd), usize::from(width)).into_owned()
            };
            Bar::default()
                .value(cents)
                .label(Line::from(label))
                .text_value(amount)
                .style(t.col_in_progress)
                .value_style(t.selection)
        })
        .collect();
    let chart = BarChart::default()
        .data(BarGroup::default().bars(&bars))
        .bar_width(width)
        .bar_gap(1)
        .label_style(t.muted);
    f.render_widget(chart, r);
}

/// An amount in as few cells as it can: `1.20`, `12.3`, `123`.
fn short_usd(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// Runs per outcome, most first.
fn outcomes(t: &Theme, s: &Stats, rows: u16) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(" runs by outcome", t.accent)];
    let mut by: Vec<(&String, &i64)> = s.by_outcome.iter().collect();
    by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    if by.is_empty() {
        lines.push(Line::styled("  no runs", t.muted));
    }
    for (outcome, n) in by.into_iter().take(usize::from(rows.saturating_sub(1))) {
        lines.push(Line::from(vec![
            Span::styled(format!("  {n:>4} "), t.text),
            Span::styled(fit(outcome, 22).into_owned(), t.muted),
        ]));
    }
    lines
}

/// The most expensive issues, the selected one highlighted and kept in view.
fn costliest(f: &mut Frame<'_>, t: &Theme, view: &StatsView, r: Rect) {
    let Some(report) = view.report() else {
        return;
    };
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(r);
    f.render_widget(
        Paragraph::new(Line::styled("most expensive issues", t.accent)),
        head,
    );
    let issues = &report.stats.top_issues;
    if issues.is_empty() {
        f.render_widget(Paragraph::new(Line::styled(" none", t.muted)), body);
        return;
    }
    let items: Vec<ListItem<'static>> = issues
        .iter()
        .map(|i| {
            let cost = format!("{:>8} ", usd(i.cost_usd));
            let id = format!("#{:<4} ", i.id);
            let room =
                usize::from(r.width).saturating_sub(cost.chars().count() + id.chars().count() + 3);
            ListItem::new(Line::from(vec![
                Span::styled(cost, t.text),
                Span::styled(id, t.accent),
                Span::styled(fit(&i.title, room).into_owned(), t.title),
            ]))
        })
        .collect();
    // The marker shows the selection without colours too (NO_COLOR, the mono theme).
    let list = List::new(items)
        .highlight_style(t.selection)
        .highlight_symbol("› ");
    let mut state = ListState::default().with_selected(Some(view.selected()));
    f.render_stateful_widget(list, body, &mut state);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_short() {
        assert_eq!(usd(20.0), "$20");
        assert_eq!(usd(3.419), "$3.42");
        assert_eq!(short_usd(1.2), "1.20");
        assert_eq!(short_usd(12.34), "12.3");
        assert_eq!(short_usd(123.4), "123");
    }
}
