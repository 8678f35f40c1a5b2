//! Semantic style tokens loaded from TOML themes; the built-in ones are embedded in the binary.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::domain::{Kind, Status};
use crate::runner::LineKind;

/// The built-in themes by name, embedded so the binary works from any directory.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Debug, Deserialize)]
struct ThemeFile {
    name: Option<String>,
    colors: Option<bool>,
    #[serde(default)]
    styles: BTreeMap<String, String>,
}

macro_rules! tokens {
    ($($(#[$m:meta])* $field:ident),+ $(,)?) => {
        /// Every style the views use, by meaning rather than by colour.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            /// Theme name.
            pub name: String,
            /// Whether agent output keeps its own SGR colours.
            pub colors: bool,
            $($(#[$m])* pub $field: Style,)+
        }

        impl Theme {
            fn set(&mut self, key: &str, style: Style) -> bool {
                match key {
                    $(stringify!($field) => { self.$field = style; true })+
                    _ => false,
                }
            }

            fn blank(name: String) -> Theme {
                Theme { name, colors: true, $($field: Style::default(),)+ }
            }
        }
    };
}

tokens!(
    /// Ordinary text.
    text,
    /// Secondary information.
    muted,
    /// Emphasis: focused titles, keys.
    accent,
    /// Titles of views and cards.
    title,
    /// Unfocused borders.
    border,
    /// The focused area's border.
    border_focus,
    /// The selected card or row in the focused area.
    selection,
    /// The selected card in an unfocused area.
    selection_unfocused,
    /// The top header line.
    header,
    /// Keys in the hint bar.
    hint_key,
    /// Descriptions in the hint bar.
    hint_text,
    /// The problem banner.
    banner,
    /// Success.
    ok,
    /// Needs attention.
    warn,
    /// Failure.
    error,
    /// Neutral notice.
    info,
    /// Toast body.
    toast,
    /// Backlog column.
    col_backlog,
    /// Ready column.
    col_ready,
    /// In-progress column.
    col_in_progress,
    /// Blocked column.
    col_blocked,
    /// In-review column.
    col_in_review,
    /// Done column.
    col_done,
    /// Feature cards.
    kind_feature,
    /// Bug cards.
    kind_bug,
    /// Chore cards.
    kind_chore,
    /// Feedback cards.
    kind_feedback,
    /// Agent prose.
    line_text,
    /// Tool calls.
    line_tool,
    /// Tool output.
    line_tool_output,
    /// Errors in agent output.
    line_error,
    /// Session and summary lines.
    line_meta,
    /// Unparsed output.
    line_raw,
    /// Human authors.
    human,
    /// Agent authors.
    agent,
    /// System authors.
    system,
    /// Added lines of a diff (and `+` counts).
    diff_added,
    /// Removed lines of a diff (and `−` counts).
    diff_removed,
    /// A diff's `@@` hunk headers.
    diff_hunk,
    /// A diff's file headers.
    diff_file,
    /// What a diff names instead of dumping: renames, modes, binary files.
    diff_meta,
    /// A ready card held back by a dependency not done yet (`⧗ waits on #3`).
    waiting,
    /// A search match: in a hit's snippet, and the transcript line a hit opened.
    search_match,
);

/// Where a token a theme leaves out takes its style from.
type Fallback = fn(&Theme) -> Style;

/// Diff tokens a theme may leave out, and the token each falls back to (themes written before
/// the diff view existed keep working, in their own colours).
const DIFF_DEFAULTS: &[(&str, Fallback)] = &[
    ("diff_added", |t| t.ok),
    ("diff_removed", |t| t.line_error),
    ("diff_hunk", |t| t.info),
    ("diff_file", |t| t.title),
    ("diff_meta", |t| t.muted),
    // Not a diff token, but added later the same way: older themes keep working.
    ("waiting", |t| t.muted),
    ("search_match", |t| {
        t.accent.add_modifier(Modifier::UNDERLINED)
    }),
];

/// Parses `"bold red on black"`-style strings; unknown words are errors so typos surface.
pub fn parse_style(spec: &str) -> Result<Style, String> {
    let mut style = Style::default();
    let mut on = false;
    for word in spec.split_whitespace() {
        let modifier = match word.to_ascii_lowercase().as_str() {
            "bold" => Some(Modifier::BOLD),
            "dim" => Some(Modifier::DIM),
            "italic" => Some(Modifier::ITALIC),
            "underline" | "underlined" => Some(Modifier::UNDERLINED),
            "reversed" | "reverse" => Some(Modifier::REVERSED),
            _ => None,
        };
        if let Some(m) = modifier {
            style = style.add_modifier(m);
            continue;
        }
        if word.eq_ignore_ascii_case("on") {
            on = true;
            continue;
        }
        let color =
            Color::from_str(word).map_err(|_| format!("unknown colour or modifier '{word}'"))?;
        if on {
            style = style.bg(color);
        } else {
            style = style.fg(color);
        }
    }
    Ok(style)
}

impl Theme {
    /// Parses a theme file; unknown tokens and bad styles are reported, not fatal.
    pub fn from_toml(text: &str) -> Result<(Theme, Vec<String>), String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| format!("theme: {e}"))?;
        let mut theme = Theme::blank(file.name.unwrap_or_else(|| "custom".into()));
        theme.colors = file.colors.unwrap_or(true);
        let mut warnings = Vec::new();
        for (key, spec) in &file.styles {
            match parse_style(spec) {
                Ok(style) => {
                    if !theme.set(key, style) {
                        warnings.push(format!("theme: unknown token '{key}'"));
                    }
                }
                Err(e) => warnings.push(format!("theme: {key}: {e}")),
            }
        }
        for (key, fallback) in DIFF_DEFAULTS {
            if !file.styles.contains_key(*key) {
                let style = fallback(&theme);
                theme.set(key, style);
            }
        }
        Ok((theme, warnings))
    }

    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Option<Theme> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, text)| Theme::from_toml(text).ok())
            .map(|(t, _)| t)
    }

    /// The dark default (always available).
    pub fn default_dark() -> Theme {
        Theme::builtin("default").unwrap_or_else(|| Theme::blank("default".into()))
    }

    /// The colourless theme used under `NO_COLOR`.
    pub fn mono() -> Theme {
        Theme::builtin("mono").unwrap_or_else(|| Theme::blank("mono".into()))
    }

    /// Resolves the theme to use: `NO_COLOR` wins, then the flag/config name (a built-in name or
    /// a path to a TOML file). A theme that cannot be found, read or parsed is an error (the
    /// user asked for it, and silently getting another is a puzzle); a file that parses but
    /// has unknown tokens or bad styles gives warnings to show.
    pub fn resolve(
        requested: Option<&str>,
        no_color: bool,
    ) -> Result<(Theme, Vec<String>), String> {
        if no_color {
            return Ok((Theme::mono(), Vec::new()));
        }
        let Some(name) = requested.filter(|n| !n.is_empty()) else {
            return Ok((Theme::default_dark(), Vec::new()));
        };
        if let Some(t) = Theme::builtin(name) {
            return Ok((t, Vec::new()));
        }
        let path = Path::new(name);
        match std::fs::read_to_string(path) {
            Ok(text) => Theme::from_toml(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
                Err(format!(
                    "unknown theme '{name}': not a built-in theme ({}) and no such file",
                    names.join(", ")
                ))
            }
            Err(e) => Err(format!(
                "cannot read the theme file {}: {e}",
                path.display()
            )),
        }
    }

    /// The header style of a column.
    pub fn status(&self, s: Status) -> Style {
        match s {
            Status::Backlog => self.col_backlog,
            Status::Ready => self.col_ready,
            Status::InProgress => self.col_in_progress,
            Status::Blocked => self.col_blocked,
            Status::InReview => self.col_in_review,
            Status::Done => self.col_done,
        }
    }

    /// The style of a card's kind label.
    pub fn kind(&self, k: Kind) -> Style {
        match k {
            Kind::Feature => self.kind_feature,
            Kind::Bug => self.kind_bug,
            Kind::Chore => self.kind_chore,
            Kind::Feedback => self.kind_feedback,
        }
    }

    /// The base style of an agent output line.
    pub fn line(&self, k: LineKind) -> Style {
        match k {
            LineKind::Text => self.line_text,
            LineKind::Tool => self.line_tool,
            LineKind::ToolOutput => self.line_tool_output,
            LineKind::Error => self.line_error,
            LineKind::Meta => self.line_meta,
            LineKind::Raw => self.line_raw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_theme_without_diff_tokens_takes_them_from_its_own_colours() {
        let (t, w) =
            Theme::from_toml("[styles]\nok = \"blue\"\ninfo = \"magenta\"\n").expect("parses");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(t.diff_added.fg, Some(Color::Blue));
        assert_eq!(t.diff_hunk.fg, Some(Color::Magenta));
        let (t, _) = Theme::from_toml("[styles]\ndiff_added = \"yellow\"\n").expect("parses");
        assert_eq!(t.diff_added.fg, Some(Color::Yellow));
    }

    #[test]
    fn every_builtin_theme_parses_without_warnings() {
        for (name, text) in BUILTIN {
            let (theme, warnings) = Theme::from_toml(text).expect(name);
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
            assert_eq!(theme.name, *name);
        }
    }

    #[test]
    fn no_color_picks_mono_without_any_colour() {
        let (t, _) = Theme::resolve(Some("default"), true).expect("mono");
        assert_eq!(t.name, "mono");
        assert!(!t.colors);
        assert_eq!(t.selection.fg, None);
        assert_eq!(t.selection.bg, None);
    }

    #[test]
    fn styles_parse_modifiers_and_background() {
        let s = parse_style("bold black on cyan").expect("valid");
        assert_eq!(s.fg, Some(Color::Black));
        assert_eq!(s.bg, Some(Color::Cyan));
        assert!(parse_style("blurple").is_err());
    }

    #[test]
    fn a_theme_that_cannot_be_found_read_or_parsed_is_an_error() {
        let err = Theme::resolve(Some("nope-not-a-theme"), false).expect_err("unknown");
        assert!(err.contains("unknown theme 'nope-not-a-theme'"), "{err}");
        let dir = tempfile::tempdir().expect("tempdir");
        let broken = dir.path().join("broken.toml");
        std::fs::write(&broken, "[styles\ntext = ").expect("write");
        let err = Theme::resolve(broken.to_str(), false).expect_err("unparsable");
        assert!(
            err.starts_with(&format!("{}: theme:", broken.display())),
            "{err}"
        );
        // a directory exists but cannot be read as a file
        let err = Theme::resolve(dir.path().to_str(), false).expect_err("unreadable");
        assert!(err.contains("cannot read the theme file"), "{err}");
        // a file that parses, with an unknown token, is used with a warning
        let odd = dir.path().join("odd.toml");
        std::fs::write(&odd, "name = \"odd\"\n[styles]\ntxet = \"red\"\n").expect("write");
        let (t, w) = Theme::resolve(odd.to_str(), false).expect("usable");
        assert_eq!((t.name.as_str(), w.len()), ("odd", 1));
    }
}
