//! `learnings`: what earlier runs learned, as a table or JSON.

use std::io::Write;

use super::{output, Ctx};
use crate::domain::format_millis;
use crate::domain::sanitize::one_line;

/// Prints every learning, oldest first: id, source issue and run, day, text; or JSON.
pub(super) fn print_learnings(ctx: &Ctx, out: &mut impl Write, json: bool) -> anyhow::Result<()> {
    let list = ctx.store()?.learnings()?;
    if json {
        writeln!(out, "{}", output::json_text(&list)?)?;
        return Ok(());
    }
    if list.is_empty() {
        writeln!(
            out,
            "no learnings yet: an agent's `LEARNED: …` lines are kept here for later prompts"
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>4}  {:>6}  {:>6}  {:<10}  TEXT",
        "ID", "ISSUE", "RUN", "DATE"
    )?;
    let or_dash = |n: Option<i64>| n.map_or_else(|| "-".to_string(), |n| format!("#{n}"));
    for l in &list {
        let day: String = format_millis(l.created_at).chars().take(10).collect();
        writeln!(
            out,
            "{:>4}  {:>6}  {:>6}  {day:<10}  {}",
            l.id,
            or_dash(l.issue_id),
            or_dash(l.run_id),
            one_line(&l.text)
        )?;
    }
    Ok(())
}
