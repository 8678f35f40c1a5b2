//! `diff ID [--stat]`: an issue's change against its merge base with the base branch, as the
//! file list with counts (like `git diff --stat`), then the unified diff. Every text comes
//! printable from `runner::review::diff`; colour only on a terminal without `NO_COLOR`.

use std::io::{IsTerminal, Write};

use unicode_width::UnicodeWidthStr;

use super::Ctx;
use crate::domain::{DiffStat, Printable};
use crate::runner::review::diff::{self, Diff, DiffTarget, FileStat, LineKind};

/// The width `--stat` fits its bars into, as git does without a terminal.
const STAT_WIDTH: usize = 80;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }
}

/// Prints the diff (or with `stat` only the file list) of issue `id`.
pub fn print_diff(ctx: &Ctx, id: i64, stat: bool) -> anyhow::Result<()> {
    let issue = ctx.store()?.issue(id)?.printable();
    let target = DiffTarget {
        issue_id: issue.id,
        branch: issue.branch.clone(),
        base: issue.base.clone(),
    };
    let repo = &ctx.config.paths.repo_root;
    if ctx.config.shared_mode() {
        crate::runner::remote::fetch_for_diff(repo, &target)?;
    }
    let files = diff::issue_stat(repo, &target)?;
    let body = if stat {
        None
    } else {
        Some(diff::issue_diff(repo, &target)?)
    };
    let paint = Paint {
        on: std::io::stdout().is_terminal()
            && std::env::var("NO_COLOR").map_or(true, |v| v.is_empty()),
    };
    let mut out = std::io::stdout().lock();
    write_stat(&mut out, &files, &paint)?;
    if let Some(d) = body {
        writeln!(out)?;
        write_diff(&mut out, &d, &paint)?;
    }
    Ok(())
}

/// `git diff --stat`'s layout: name, count, a bar of `+` and `-`, then the totals.
fn write_stat(out: &mut impl Write, files: &[FileStat], p: &Paint) -> std::io::Result<()> {
    if files.is_empty() {
        return writeln!(out, " no changes");
    }
    let names: Vec<String> = files.iter().map(FileStat::display_path).collect();
    let name_w = names.iter().map(|n| n.width()).max().unwrap_or(0);
    let most = files
        .iter()
        .filter_map(|f| f.lines)
        .map(|(a, r)| a + r)
        .max()
        .unwrap_or(0);
    let binary = files.iter().any(|f| f.lines.is_none());
    let count_w = most.to_string().len().max(if binary { 3 } else { 1 });
    // ` name | count ` and one column for rounding both bars up.
    let bar_w = STAT_WIDTH.saturating_sub(name_w + count_w + 6).max(10) as u64;
    for (f, name) in files.iter().zip(&names) {
        let pad = " ".repeat(name_w - name.width());
        match f.lines {
            None => writeln!(out, " {name}{pad} | {:>count_w$}", "Bin")?,
            Some((a, r)) => {
                let (mut pa, mut pr) = (a, r);
                if most > bar_w {
                    // Scaled like git: every change shows at least one mark.
                    pa = (a * bar_w).div_ceil(most).min(a);
                    pr = (r * bar_w).div_ceil(most).min(r);
                }
                let mut bar = String::new();
                if pa > 0 {
                    bar.push_str(&p.wrap("32", &"+".repeat(pa as usize)));
                }
                if pr > 0 {
                    bar.push_str(&p.wrap("31", &"-".repeat(pr as usize)));
                }
                let line = format!(" {name}{pad} | {:>count_w$} {bar}", a + r);
                writeln!(out, "{}", line.trim_end())?;
            }
        }
    }
    writeln!(out, " {}", totals_line(&diff::totals(files)))
}

/// ` 3 files changed, 10 insertions(+), 2 deletions(-)`, as git words it.
pub fn totals_line(t: &DiffStat) -> String {
    let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut s = plural(t.files, "file changed", "files changed");
    if t.added > 0 || t.removed == 0 {
        s.push_str(&format!(
            ", {}(+)",
            plural(t.added, "insertion", "insertions")
        ));
    }
    if t.removed > 0 || t.added == 0 {
        s.push_str(&format!(
            ", {}(-)",
            plural(t.removed, "deletion", "deletions")
        ));
    }
    s
}

/// The unified diff, from the typed files: headers name renames, modes and binaries.
fn write_diff(out: &mut impl Write, d: &Diff, p: &Paint) -> std::io::Result<()> {
    for f in &d.files {
        let old = f.old_path.as_deref().unwrap_or(&f.path);
        writeln!(
            out,
            "{}",
            p.wrap("1", &format!("diff --git a/{old} b/{}", f.path))
        )?;
        for note in f.notes() {
            writeln!(out, "{}", p.wrap("1", &note))?;
        }
        if f.binary {
            writeln!(out, "Binary file {} differs (not shown)", f.path)?;
            continue;
        }
        if !f.hunks.is_empty() {
            let from = match f.status {
                diff::FileStatus::Added => "/dev/null".to_string(),
                _ => format!("a/{old}"),
            };
            let to = match f.status {
                diff::FileStatus::Deleted => "/dev/null".to_string(),
                _ => format!("b/{}", f.path),
            };
            writeln!(out, "{}", p.wrap("1", &format!("--- {from}")))?;
            writeln!(out, "{}", p.wrap("1", &format!("+++ {to}")))?;
        }
        for h in &f.hunks {
            writeln!(out, "{}", p.wrap("36", &h.header))?;
            for l in &h.lines {
                let text = format!("{}{}", l.kind.prefix(), l.text);
                match l.kind {
                    LineKind::Added => writeln!(out, "{}", p.wrap("32", &text))?,
                    LineKind::Removed => writeln!(out, "{}", p.wrap("31", &text))?,
                    LineKind::Context | LineKind::NoNewline => writeln!(out, "{text}")?,
                }
            }
        }
    }
    if d.truncated {
        writeln!(
            out,
            "… the diff is cut here at {} MiB; run `git diff BASE...BRANCH` for the rest",
            diff::MAX_DIFF_BYTES >> 20
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_read_like_git() {
        let t = |files, added, removed| {
            totals_line(&DiffStat {
                files,
                added,
                removed,
            })
        };
        assert_eq!(t(1, 1, 0), "1 file changed, 1 insertion(+)");
        assert_eq!(
            t(3, 10, 2),
            "3 files changed, 10 insertions(+), 2 deletions(-)"
        );
        assert_eq!(
            t(1, 0, 0),
            "1 file changed, 0 insertions(+), 0 deletions(-)"
        );
    }

    #[test]
    fn bars_scale_and_binaries_say_bin() {
        let files = vec![
            FileStat {
                path: "big.rs".into(),
                old_path: None,
                lines: Some((1000, 10)),
            },
            FileStat {
                path: "img.png".into(),
                old_path: None,
                lines: None,
            },
        ];
        let mut out = Vec::new();
        write_stat(&mut out, &files, &Paint { on: false }).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with(" big.rs  | 1010 +++"), "{text}");
        assert!(lines[0].ends_with("+-"), "{text}");
        assert!(lines[0].len() <= STAT_WIDTH, "{text}");
        assert_eq!(lines[1], " img.png |  Bin");
        assert_eq!(
            lines[2],
            " 2 files changed, 1000 insertions(+), 10 deletions(-)"
        );
    }
}
