//! Issue detail: body, full thread, runs with outcome and cost, branch; and a run's transcript.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::{elapsed, panes::render_line};
use crate::domain::{format_millis, AuthorKind, DepLink, IssueDetail, RunRole, Status};
use crate::ui::app::App;
use crate::ui::state::detail::{DetailView, TranscriptView};

/// Draws the detail (or its open transcript) over `area`.
pub fn draw(f: &mut Frame<'_>, app: &App, d: &DetailView, area: Rect) {
    f.render_widget(Clear, area);
    if let Some(tv) = d.transcript() {
        transcript(f, app, d.id(), tv, area);
        return;
    }
    let t = app.theme();
    let Some(x) = d.detail() else {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border_focus)
            .title(format!(" #{} ", d.id()));
        f.render_widget(
            Paragraph::new(Line::styled(" loading…", t.muted)).block(block),
            area,
        );
        return;
    };
    let i = &x.issue;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut meta = vec![
        Span::styled(i.status.as_str().to_string(), t.status(i.status)),
        Span::styled(" · ", t.muted),
        Span::styled(i.kind.as_str().to_string(), t.kind(i.kind)),
        Span::styled(format!(" · priority {}", i.priority), t.muted),
    ];
    if i.archived_at.is_some() {
        meta.push(Span::styled(" · archived (off the board)", t.warn));
    }
    if let Some(b) = &i.branch {
        meta.push(Span::styled(format!(" · ⎇ {b}"), t.col_in_review));
    }
    if let Some(a) = &i.claimed_by {
        meta.push(Span::styled(
            format!(" · claimed by {a}"),
            t.col_in_progress,
        ));
    }
    lines.push(Line::from(meta));
    if let Some(w) = &i.worktree {
        lines.push(Line::styled(format!("worktree {w}"), t.muted));
    }
    chain(&mut lines, app, "waits on", &x.depends_on);
    chain(&mut lines, app, "blocks", &x.blocks);
    if i.status == crate::domain::Status::InReview {
        files(&mut lines, app, d);
    }
    lines.push(Line::default());
    if i.body.trim().is_empty() {
        lines.push(Line::styled("(no description)", t.muted));
    } else {
        lines.extend(i.body.lines().map(|l| Line::styled(l.to_string(), t.text)));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        format!("── Thread ({}) ──", x.comments.len()),
        t.accent,
    ));
    for c in &x.comments {
        let who = match c.author_kind {
            AuthorKind::Human => t.human,
            AuthorKind::Agent => t.agent,
            AuthorKind::System => t.system,
        };
        lines.push(Line::from(vec![
            Span::styled(c.author.clone(), who),
            Span::styled(
                format!(
                    " ({}) · {} ago · {}",
                    c.author_kind,
                    super::elapsed((app.now() - c.created_at).max(0)),
                    when(c.created_at, app.now())
                ),
                t.muted,
            ),
        ]));
        lines.extend(
            c.body
                .lines()
                .map(|l| Line::styled(format!("  {l}"), t.text)),
        );
        lines.push(Line::default());
    }
    subtasks(app, d, x, &mut lines);
    lines.push(Line::styled(
        format!("── Runs ({}) ──", x.runs.len()),
        t.accent,
    ));
    for (n, r) in x.runs.iter().enumerate() {
        let selected = n == d.run_cursor();
        let mut outcome = r.outcome.map_or("running", |o| o.as_str()).to_string();
        if let Some(class) = r.failure {
            outcome.push_str(&format!(" ({class})"));
        }
        // The agent's own runs are most runs; checks and reviews say what they are (an
        // 80-column row has no room to spare on the word `implement`).
        let role = match (r.role, &r.persona) {
            (RunRole::Implement, _) => String::new(),
            (RunRole::Persona, Some(name)) => format!(" · {name}"),
            (other, _) => format!(" · {other}"),
        };
        let mut text = format!(
            "{} run {}{role} · {} · {outcome}",
            if selected { "▸" } else { " " },
            r.id,
            r.agent_id
        );
        if let Some(ms) = r.duration_ms.or(r.ended_at.map(|e| e - r.started_at)) {
            text.push_str(&format!(" · {}", elapsed(ms)));
        }
        if let Some(turns) = r.turns {
            text.push_str(&format!(" · {turns} turns"));
        }
        let estimate = r.estimate_usd.map(crate::runner::Estimate::Usd);
        if let Some(c) = super::cost_text(r.cost_usd, estimate, r.ended_at.is_none()) {
            text.push_str(&format!(" · {c}"));
        }
        text.push_str(&format!(" · {} lines", r.transcript_lines));
        lines.push(Line::styled(
            text,
            if selected { t.selection } else { t.text },
        ));
        if let Some(usage) = run_usage(r) {
            lines.push(Line::styled(usage, t.muted));
        }
        if let Some(e) = &r.error {
            lines.push(Line::styled(format!("    {e}"), t.error));
        }
    }
    if x.runs.is_empty() {
        lines.push(Line::styled("no runs yet", t.muted));
    } else {
        lines.push(Line::styled(DetailView::runs_hint(app.keymap()), t.muted));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Line::from(vec![
            Span::styled(format!(" #{} ", i.id), t.accent),
            Span::styled(format!("{} ", i.title), t.title),
        ]));
    f.render_widget(
        super::wrapped(lines).block(block).scroll((d.scroll(), 0)),
        area,
    );
}

/// Most files the detail lists; the diff view has them all.
const FILES_SHOWN: usize = 30;

/// The most issues one side of the dependency chain lists before `… and N more`.
const CHAIN_ROWS: usize = 5;

/// One side of the dependency chain (`waits on` / `blocks`), an issue a line with its status;
/// a dependency not done yet is marked, it is what holds the claim.
fn chain(lines: &mut Vec<Line<'static>>, app: &App, label: &str, links: &[DepLink]) {
    let t = app.theme();
    for l in links.iter().take(CHAIN_ROWS) {
        let open = label == "waits on" && l.status != Status::Done;
        let mark = if open { "⧗" } else { " " };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{mark} {label} "),
                if open { t.waiting } else { t.muted },
            ),
            Span::styled(format!("#{} ", l.id), t.accent),
            Span::styled(l.title.clone(), t.text),
            Span::styled(" · ", t.muted),
            Span::styled(l.status.as_str().to_string(), t.status(l.status)),
        ]));
    }
    if links.len() > CHAIN_ROWS {
        lines.push(Line::styled(
            format!("  {label} … and {} more", links.len() - CHAIN_ROWS),
            t.muted,
        ));
    }
}

/// The files an in_review issue's branch changed, with the totals.
fn files(lines: &mut Vec<Line<'static>>, app: &App, d: &DetailView) {
    let t = app.theme();
    lines.push(Line::default());
    let files = match d.files() {
        None => {
            lines.push(Line::styled("── Files changed ── reading…", t.accent));
            return;
        }
        Some(Err(e)) => {
            lines.push(Line::styled("── Files changed ──", t.accent));
            lines.push(Line::styled(e.clone(), t.error));
            return;
        }
        Some(Ok(files)) => files,
    };
    let total = crate::runner::review::diff::totals(files);
    let mut head = vec![Span::styled(
        format!("── Files changed ({}) ", total.files),
        t.accent,
    )];
    head.extend(super::diff::counts(t, total.added, total.removed));
    head.push(Span::styled(
        format!(
            " ── {} shows the diff",
            app.keymap().label(
                crate::ui::keymap::Context::Detail,
                crate::ui::keymap::Action::OpenDiff
            )
        ),
        t.muted,
    ));
    lines.push(Line::from(head));
    for f in files.iter().take(FILES_SHOWN) {
        let mut row = vec![Span::styled(format!("  {} ", f.display_path()), t.text)];
        match f.lines {
            Some((a, r)) => row.extend(super::diff::counts(t, a as i64, r as i64)),
            None => row.push(Span::styled("bin", t.diff_meta)),
        }
        lines.push(Line::from(row));
    }
    if files.len() > FILES_SHOWN {
        lines.push(Line::styled(
            format!("  … and {} more", files.len() - FILES_SHOWN),
            t.muted,
        ));
    }
}

fn transcript(f: &mut Frame<'_>, app: &App, id: i64, tv: &TranscriptView, area: Rect) {
    let t = app.theme();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(
            format!(" #{id} · transcript of run {} ", tv.run_id()),
            t.accent,
        ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(lines) = tv.lines() else {
        f.render_widget(Paragraph::new(Line::styled("loading…", t.muted)), inner);
        return;
    };
    if lines.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled("(empty transcript)", t.muted)),
            inner,
        );
        return;
    }
    let h = usize::from(inner.height);
    // Never past the end, even when the terminal grew since the last key.
    let start = tv.scroll().min(lines.len().saturating_sub(h));
    let view: Vec<Line<'static>> = lines
        .iter()
        .enumerate()
        .skip(start)
        .take(h)
        .map(|(i, l)| {
            let line = render_line(t, l);
            // The line a search hit opened the transcript at.
            if tv.mark() == Some(i) {
                line.patch_style(t.search_match)
            } else {
                line
            }
        })
        .collect();
    f.render_widget(Paragraph::new(view), inner);
}

/// A comment's time: the clock time for today, else the date and time (UTC, like the CLI).
fn when(at: crate::domain::Millis, now: crate::domain::Millis) -> String {
    let (full, today) = (format_millis(at), format_millis(now));
    match (
        full.get(..10),
        today.get(..10),
        full.get(11..16),
        full.get(..16),
    ) {
        (Some(day), Some(this_day), Some(clock), _) if day == this_day => format!("{clock} UTC"),
        (_, _, _, Some(stamp)) => format!("{} UTC", stamp.replace('T', " ")),
        _ => full,
    }
}

/// A run's tokens and model on one line under it (`None` when the agent reported no usage).
fn run_usage(r: &crate::domain::Run) -> Option<String> {
    let count = |n: Option<i64>, what: &str| n.map(|n| format!("{} {what}", tokens(n)));
    let cache = [
        count(r.cache_read_tokens, "read"),
        count(r.cache_write_tokens, "written"),
    ];
    let cache = Vec::from_iter(cache.into_iter().flatten());
    let mut parts = Vec::from_iter(
        [count(r.input_tokens, "in"), count(r.output_tokens, "out")]
            .into_iter()
            .flatten(),
    );
    if !cache.is_empty() {
        parts.push(format!("cache {}", cache.join(" / ")));
    }
    if parts.is_empty() {
        return None;
    }
    parts.extend(r.model.clone());
    Some(format!("    {}", parts.join(" · ")))
}

/// A token count in at most four characters and a unit (`950`, `12.4k`, `250k`, `1.2M`).
fn tokens(n: i64) -> String {
    let n = n.max(0) as f64;
    match n {
        n if n < 1e3 => format!("{n}"),
        n if n < 1e4 => format!("{:.1}k", n / 1e3),
        n if n < 1e6 => format!("{:.0}k", n / 1e3),
        n => format!("{:.1}M", n / 1e6),
    }
}

/// The parent, and the subtasks with their columns, the selected one marked.
fn subtasks(app: &App, d: &DetailView, x: &IssueDetail, lines: &mut Vec<Line<'static>>) {
    let t = app.theme();
    if let Some(p) = x.issue.parent {
        lines.push(Line::styled(format!("subtask of #{p}"), t.muted));
        lines.push(Line::default());
    }
    if x.children.is_empty() {
        return;
    }
    let done = x
        .children
        .iter()
        .filter(|c| c.status == Status::Done)
        .count();
    lines.push(Line::styled(
        format!("── Subtasks ({done}/{} done) ──", x.children.len()),
        t.accent,
    ));
    for (n, c) in x.children.iter().enumerate() {
        let selected = n == d.child_cursor();
        let text = format!(
            "{} #{} {} · {}",
            if selected { "▸" } else { " " },
            c.id,
            c.status,
            c.title
        );
        lines.push(Line::styled(
            text,
            if selected { t.selection } else { t.text },
        ));
    }
    lines.push(Line::styled(
        DetailView::children_hint(app.keymap()),
        t.muted,
    ));
    lines.push(Line::default());
}

#[cfg(test)]
mod tests {
    use super::when;

    #[test]
    fn times_are_short_today_and_dated_otherwise() {
        let now = 1_800_000_000_000; // 2027-01-15T08:00:00Z
        assert_eq!(when(now - 60_000, now), "07:59 UTC");
        assert_eq!(when(now - 9 * 3_600_000, now), "2027-01-14 23:00 UTC");
    }
}
