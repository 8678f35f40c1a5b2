//! `search`: full-text search over titles, bodies, comments and transcripts.

use std::io::{IsTerminal, Write};

use super::{output, Ctx};
use crate::store::{SearchHit, SearchSource};

/// Bold on, bold off: how a match stands out on a terminal.
const BOLD: (&str, &str) = ("\u{1b}[1m", "\u{1b}[22m");

/// Prints the best `limit` hits of `query`, as JSON or one line per hit.
pub fn print_search(
    ctx: &Ctx,
    out: &mut impl Write,
    query: &str,
    limit: i64,
    json: bool,
) -> anyhow::Result<()> {
    let hits = ctx.store()?.search(query, limit)?;
    if json {
        writeln!(out, "{}", output::json_text(&hits)?)?;
        return Ok(());
    }
    if hits.is_empty() {
        writeln!(out, "no matches")?;
        return Ok(());
    }
    let bold = std::io::stdout().is_terminal();
    for hit in &hits {
        writeln!(out, "{}", hit_line(hit, bold))?;
    }
    Ok(())
}

/// `#3 comment: … [match] …`, the match in bold instead of brackets on a terminal. The
/// snippet's pieces are printable already (the store strips every control character).
fn hit_line(hit: &SearchHit, bold: bool) -> String {
    let place = match (hit.source, hit.run_id) {
        (SearchSource::Transcript, Some(run)) => format!("transcript of run {run}"),
        (SearchSource::Title, _) => "title".into(),
        (SearchSource::Body, _) => "body".into(),
        (SearchSource::Comment, _) => "comment".into(),
        (SearchSource::Transcript, None) => "transcript".into(),
    };
    let snippet: String = if bold {
        hit.parts
            .iter()
            .map(|(t, m)| {
                if *m {
                    format!("{}{t}{}", BOLD.0, BOLD.1)
                } else {
                    t.clone()
                }
            })
            .collect()
    } else {
        hit.snippet.clone()
    };
    format!("#{} {place}: {snippet}", hit.issue_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit() -> SearchHit {
        SearchHit {
            issue_id: 3,
            source: SearchSource::Transcript,
            run_id: Some(9),
            snippet: "a [b] c".into(),
            parts: vec![
                ("a ".into(), false),
                ("b".into(), true),
                (" c".into(), false),
            ],
        }
    }

    #[test]
    fn matches_are_bracketed_off_a_terminal_and_bold_on_one() {
        assert_eq!(hit_line(&hit(), false), "#3 transcript of run 9: a [b] c");
        assert_eq!(
            hit_line(&hit(), true),
            "#3 transcript of run 9: a \u{1b}[1mb\u{1b}[22m c"
        );
    }
}
