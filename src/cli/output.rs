//! What commands print: the issue table, the detail view, and the stable JSON, which is the
//! domain types' own `Serialize` form.

use std::io::Write;

use crate::domain::{format_millis, Issue, IssueDetail, Printable};

/// Pretty JSON of a domain value, keys in alphabetical order (the documented, pinned form).
pub fn json_text<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    // A `Value` keeps its keys sorted, whatever order the type declares its fields in.
    Ok(serde_json::to_string_pretty(&serde_json::to_value(value)?)?)
}

/// The `list` table: one row per issue.
pub fn print_table(out: &mut impl Write, issues: Vec<Issue>) -> anyhow::Result<()> {
    if issues.is_empty() {
        writeln!(out, "no issues")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>5}  {:<11}  {:<8}  {:>3}  TITLE",
        "ID", "STATUS", "KIND", "PRI"
    )?;
    // Titles come from people and agents: one printable line each, so a row stays a row.
    for i in issues.printable() {
        let branch = i.branch.map(|b| format!("  [{b}]")).unwrap_or_default();
        writeln!(
            out,
            "{:>5}  {:<11}  {:<8}  {:>3}  {}{branch}",
            i.id,
            i.status.as_str(),
            i.kind.as_str(),
            i.priority,
            i.title
        )?;
    }
    Ok(())
}

/// `show`: the issue, its thread and its runs. Titles and bodies come from people and agents,
/// authors and agent ids from `--author`, `AUTOPILOT_USER`, `AUTOPILOT_AGENT_ID` (and older
/// databases hold them as they were given): all of it is printed as [`Printable`] makes it.
pub fn print_detail(out: &mut impl Write, d: IssueDetail) -> anyhow::Result<()> {
    let d = d.printable();
    let i = &d.issue;
    writeln!(out, "#{} {}", i.id, i.title)?;
    writeln!(
        out,
        "status: {}  kind: {}  priority: {}",
        i.status, i.kind, i.priority
    )?;
    if let Some(at) = i.archived_at {
        writeln!(
            out,
            "archived: {} (off the board; `autopilot-tui unarchive {}` puts it back)",
            format_millis(at),
            i.id
        )?;
    }
    if let Some(b) = &i.branch {
        writeln!(
            out,
            "branch: {b}  (base {})",
            i.base.as_deref().unwrap_or("?")
        )?;
    }
    if let Some(w) = &i.worktree {
        writeln!(out, "worktree: {w}")?;
    }
    if let Some(c) = &i.claimed_by {
        writeln!(out, "claimed by: {c}")?;
    }
    if let Some(a) = &i.assignee {
        writeln!(out, "assignee: {a}")?;
    }
    if i.model.is_some() || i.effort.is_some() {
        let model = i.model.as_deref().unwrap_or("default");
        let effort = i.effort.map_or("default", |e| e.as_str());
        writeln!(out, "model: {model}  effort: {effort}")?;
    }
    if let Some(cap) = i.budget_usd {
        writeln!(out, "budget: ${cap:.2}")?;
    }
    if let Some(a) = i.agent {
        writeln!(out, "agent: {a}")?;
    }
    if let Some(u) = &i.source_url {
        writeln!(out, "source: {u}")?;
    }
    if let Some(u) = &i.pr_url {
        writeln!(out, "pull request: {u}")?;
    }
    if let Some(at) = i.not_before {
        writeln!(out, "not before: {}", format_millis(at))?;
    }
    if let Some(every) = i.every_ms {
        let every = crate::domain::schedule::format_every(every);
        writeln!(
            out,
            "repeats every: {every} (a fresh copy is queued when it is done)"
        )?;
    }
    if let Some(p) = i.previous {
        writeln!(out, "previous: #{p}")?;
    }
    let links = |v: &[crate::domain::DepLink]| {
        v.iter()
            .map(|l| format!("#{} ({})", l.id, l.status))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !d.depends_on.is_empty() {
        writeln!(out, "waits on: {}", links(&d.depends_on))?;
    }
    if !d.blocks.is_empty() {
        writeln!(out, "blocks: {}", links(&d.blocks))?;
    }
    if !i.body.trim().is_empty() {
        writeln!(out, "\n{}", i.body.trim_end())?;
    }
    if !d.comments.is_empty() {
        writeln!(out, "\n── thread ──")?;
        for c in &d.comments {
            writeln!(
                out,
                "{} ({}) · {}",
                c.author,
                c.author_kind,
                format_millis(c.created_at)
            )?;
            for line in c.body.lines() {
                writeln!(out, "  {line}")?;
            }
        }
    }
    if !d.runs.is_empty() {
        writeln!(out, "\n── runs ──")?;
        for r in &d.runs {
            let mut outcome = r.outcome.map_or("running", |o| o.as_str()).to_string();
            if let Some(class) = r.failure {
                outcome.push_str(&format!(" ({class})"));
            }
            let cost = (r.cost_usd.map(|c| format!(" ${c:.4}")))
                .or_else(|| r.estimate_usd.map(|e| format!(" ~${e:.4} (estimate)")))
                .unwrap_or_default();
            let turns = r.turns.map(|t| format!(" {t} turns")).unwrap_or_default();
            writeln!(
                out,
                "run {} · {} · {outcome}{cost}{turns} · {} lines · {}",
                r.id,
                r.agent_id,
                r.transcript_lines,
                format_millis(r.started_at)
            )?;
            if let Some(e) = &r.error {
                writeln!(out, "  error: {e}")?;
            }
        }
    }
    Ok(())
}
