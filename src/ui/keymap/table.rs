//! The keymap as a table: `autopilot-tui keys` prints it, and the README carries its Markdown
//! form (a test keeps the two equal).

use std::collections::BTreeMap;
use std::io::Write;

use super::{key_label, Binding, Context, Keymap};

impl Keymap {
    /// Bindings grouped by context, in table order; contexts without bindings are left out.
    fn groups(&self) -> Vec<(Context, Vec<&Binding>)> {
        Context::ALL
            .iter()
            .map(|c| {
                (
                    *c,
                    self.bindings.iter().filter(|b| b.context == *c).collect(),
                )
            })
            .filter(|(_, rows): &(Context, Vec<&Binding>)| !rows.is_empty())
            .collect()
    }

    /// The layers where global keys also work, as a sentence.
    fn global_note(&self) -> String {
        let with: Vec<&str> = Context::ALL
            .iter()
            .filter(|c| c.takes_global())
            .map(|c| c.title())
            .collect();
        format!(
            "Keys of Everywhere also work in: {}. The other layers take only their own keys.",
            with.join(", ")
        )
    }

    /// One section per context: keys, action name (for `[ui.keys]`), what it does.
    pub fn plain_table(&self) -> String {
        let mut out = String::new();
        for (ctx, rows) in self.groups() {
            out.push_str(ctx.title());
            out.push('\n');
            for b in rows {
                let keys: Vec<String> = b.keys.iter().map(key_label).collect();
                let line = format!(
                    "  {:<16} {:<18} {}",
                    keys.join(" "),
                    b.action.name(),
                    b.desc
                );
                out.push_str(line.trim_end());
                out.push('\n');
            }
            out.push('\n');
        }
        out.push_str(&self.global_note());
        out.push('\n');
        out
    }

    /// The same as a Markdown table, for the README.
    pub fn markdown_table(&self) -> String {
        let mut out = String::from("| where | keys | action | what it does |\n|---|---|---|---|\n");
        for (ctx, rows) in self.groups() {
            for (i, b) in rows.iter().enumerate() {
                let where_ = if i == 0 { ctx.title() } else { "" };
                let keys: Vec<String> = b.keys.iter().map(|k| code(&key_label(k))).collect();
                out.push_str(&format!(
                    "| {where_} | {} | {} | {} |\n",
                    keys.join(" "),
                    code(&b.action.name()),
                    cell(b.desc)
                ));
            }
        }
        out.push('\n');
        out.push_str(&self.global_note());
        out.push('\n');
        out
    }
}

/// Text as inline code in a table cell, whatever backticks or bars it holds.
fn code(text: &str) -> String {
    let text = cell(text);
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// Text safe inside a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// `autopilot-tui keys`: the table with the configured overrides applied, plain or Markdown;
/// problems with the overrides go to stderr, as the TUI shows them as warnings.
pub fn print_keys(
    out: &mut impl Write,
    overrides: Option<&BTreeMap<String, Vec<String>>>,
    markdown: bool,
) -> std::io::Result<()> {
    let (map, warnings) = Keymap::with_overrides(overrides);
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let text = if markdown {
        map.markdown_table()
    } else {
        map.plain_table()
    };
    out.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_list_every_binding_once() {
        let map = Keymap::default();
        let md = map.markdown_table();
        let rows = md.lines().filter(|l| l.starts_with("| ")).count();
        assert_eq!(
            rows,
            map.bindings.len() + 1,
            "one row per binding plus the header"
        );
        assert!(md.contains(
            "| Quit dialog | `w` | `wait_then_quit` | wait for them to finish, then quit |"
        ));
        let plain = map.plain_table();
        assert!(plain.contains("  s y enter        stop_and_quit      stop them now and quit\n"));
        assert!(plain.ends_with("The other layers take only their own keys.\n"));
    }

    #[test]
    fn markdown_cells_survive_bars_and_backticks() {
        assert_eq!(code("|"), "`\\|`");
        assert_eq!(code("`"), "`` ` ``");
    }
}
