//! `templates` and `--template`: the prompt templates there are, and choosing one.

use std::io::Write;

use super::{output, Ctx};
use crate::domain::sanitize::one_line;

/// Reads `--template`: `""` clears it (`Some(None)`); a name must be a known template, or
/// nothing is `what` (the error names the known ones).
pub(super) fn template_arg(
    ctx: &Ctx,
    text: Option<String>,
    what: &str,
) -> anyhow::Result<Option<Option<String>>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let name = text.trim();
    if name.is_empty() {
        return Ok(Some(None));
    }
    ctx.config
        .templates()
        .check_known(name)
        .map_err(|e| anyhow::anyhow!("--template: {e} (nothing was {what})"))?;
    Ok(Some(Some(name.to_string())))
}

/// Prints the known templates: name, where from, size and first line; or JSON.
pub(super) fn print_templates(ctx: &Ctx, out: &mut impl Write, json: bool) -> anyhow::Result<()> {
    let set = ctx.config.templates();
    let list = set.list();
    if json {
        writeln!(out, "{}", output::json_text(&list)?)?;
        return Ok(());
    }
    if list.is_empty() {
        let dirs: Vec<String> = set
            .dirs
            .iter()
            .map(|(_, d)| one_line(&d.display().to_string()))
            .collect();
        writeln!(
            out,
            "no templates: add NAME.md files to {}",
            dirs.join(" or ")
        )?;
        return Ok(());
    }
    for t in &list {
        writeln!(
            out,
            "{:<20} {:<4} {:>7} B  {}",
            one_line(&t.name),
            t.source,
            t.bytes,
            one_line(&t.first_line)
        )?;
    }
    for (key, name) in &set.config {
        writeln!(out, "[templates] {key} = {}", one_line(name))?;
    }
    Ok(())
}
