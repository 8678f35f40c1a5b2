//! `answer ID NAME=VALUE …`: filling the fields a blocked issue's question asks for.

use std::io::{BufRead, Write};

use anyhow::Context;

use super::Ctx;
use crate::domain::needs;
use crate::domain::sanitize::one_line;

/// Answers issue `id`'s fields, or lists them when `fields` is empty. A value `-` is read
/// from stdin, one line per such field in the order given. Any error changes nothing.
pub(super) fn answer(
    ctx: &Ctx,
    out: &mut impl Write,
    id: i64,
    fields: &[String],
    author: &str,
) -> anyhow::Result<()> {
    let mut store = ctx.store()?;
    if fields.is_empty() {
        let issue = store.issue(id)?;
        let asked = store.needs(id)?;
        if asked.is_empty() {
            writeln!(out, "#{id} ({}) asks for no fields", issue.status)?;
        }
        for need in &asked {
            let secret = if need.secret { " (secret)" } else { "" };
            writeln!(
                out,
                "{}{secret}  {}",
                need.name,
                one_line(&need.description)
            )?;
        }
        return Ok(());
    }
    let mut answers = Vec::with_capacity(fields.len());
    let mut stdin = std::io::stdin().lock();
    for arg in fields {
        let (name, value) = match arg.split_once('=') {
            Some((name, "-")) => {
                if let Some(why) = needs::refused(name) {
                    anyhow::bail!("{why} (nothing was answered)");
                }
                let mut line = String::new();
                stdin
                    .read_line(&mut line)
                    .with_context(|| format!("cannot read {name}'s value from stdin"))?;
                let value = line.strip_suffix('\n').unwrap_or(&line);
                let value = value.strip_suffix('\r').unwrap_or(value);
                (name.to_string(), value.to_string())
            }
            _ => needs::assignment(arg)
                .map_err(|why| anyhow::anyhow!("{why} (nothing was answered)"))?,
        };
        answers.push((name, value));
    }
    let (_, issue) = store
        .answer(id, author, &answers)
        .map_err(|e| anyhow::anyhow!("{} (nothing was answered)", one_line(&e.to_string())))?;
    writeln!(out, "#{} is {}", issue.id, issue.status)?;
    Ok(())
}
