//! `import github`: open GitHub issues as backlog issues, through `gh`.

use std::io::Write;

use crate::domain::sanitize::one_line;
use crate::runner::github;
use crate::store::ImportOutcome;

use super::{human_name, Ctx};

/// Imports the open issues `gh` lists and prints what happened to them: how many were added,
/// updated, unchanged and skipped, and a line for each skipped one (it has left backlog).
pub(super) fn github(
    ctx: &Ctx,
    out: &mut impl Write,
    label: Option<&str>,
    repo: Option<&str>,
    limit: u32,
) -> anyhow::Result<()> {
    let cwd = std::env::current_dir()?;
    let found = github::open_issues(&cwd, repo, label, limit)?;
    let items: Vec<_> = found.iter().map(github::to_imported).collect();
    let outcomes = ctx.store()?.import_issues(&items, &human_name(None))?;
    let (mut added, mut updated, mut unchanged, mut skipped) = (0, 0, 0, Vec::new());
    for (item, outcome) in items.iter().zip(&outcomes) {
        match outcome {
            ImportOutcome::Added(_) => added += 1,
            ImportOutcome::Updated(_) => updated += 1,
            ImportOutcome::Unchanged(_) => unchanged += 1,
            ImportOutcome::Skipped(id, status) => skipped.push(format!(
                "  #{id} changed on GitHub but is {status} here: left alone ({})",
                one_line(&item.source_url)
            )),
        }
    }
    writeln!(
        out,
        "added {added}, updated {updated}, unchanged {unchanged}, skipped {}",
        skipped.len()
    )?;
    for line in skipped {
        writeln!(out, "{line}")?;
    }
    Ok(())
}
