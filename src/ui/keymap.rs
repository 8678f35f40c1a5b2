//! Keys → actions, per context. The help overlay and the hint bar are generated from this table,
//! and `[ui.keys]` in the config file overrides it by action name.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies; the focused area's context is tried before `Global`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// Everywhere without a text input open.
    Global,
    /// The board has focus.
    Board,
    /// The agent panes have focus.
    Panes,
    /// The blocked inbox has focus.
    Inbox,
    /// The issue detail overlay is open.
    Detail,
    /// The notifications (toasts) have focus.
    Toasts,
}

impl Context {
    /// Heading in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Board => "Board",
            Context::Panes => "Agent panes",
            Context::Inbox => "Inbox",
            Context::Detail => "Issue detail",
            Context::Toasts => "Notifications",
        }
    }
}

/// Everything a key can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Quit (confirming when agents run).
    Quit,
    /// Quit at once.
    ForceQuit,
    /// Suspend to the shell (ctrl-z).
    Suspend,
    /// Toggle the help overlay.
    Help,
    /// Close the top layer.
    Close,
    /// Move up.
    Up,
    /// Move down.
    Down,
    /// Move left.
    Left,
    /// Move right.
    Right,
    /// First item.
    Top,
    /// Last item.
    Bottom,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Cycle focus board → panes → inbox.
    CycleFocus,
    /// Cycle focus backwards.
    CycleFocusBack,
    /// Open the inbox.
    Inbox,
    /// Filter cards by text.
    Filter,
    /// New issue.
    NewIssue,
    /// Edit the selected issue.
    EditIssue,
    /// Open the selected issue (or, in detail, the selected run's transcript).
    Open,
    /// Comment on the selected issue.
    Comment,
    /// Backlog → ready.
    HandOff,
    /// In review → done.
    Accept,
    /// In review → ready with a comment.
    RequestChanges,
    /// Back to backlog.
    ToBacklog,
    /// Stop the agent working on the selected issue.
    StopAgent,
    /// Pause or resume claiming.
    TogglePause,
    /// Zoom the selected pane.
    Zoom,
    /// Toggle follow mode in the selected pane.
    Follow,
    /// Reply to the selected blocked question.
    Reply,
    /// Jump to the newest notification's issue.
    OpenToast,
    /// Jump to column N (0-based).
    Column(u8),
}

impl Action {
    /// The config-file name of an action.
    pub fn name(self) -> String {
        let s = match self {
            Action::Quit => "quit",
            Action::ForceQuit => "force_quit",
            Action::Suspend => "suspend",
            Action::Help => "help",
            Action::Close => "close",
            Action::Up => "up",
            Action::Down => "down",
            Action::Left => "left",
            Action::Right => "right",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::CycleFocus => "cycle_focus",
            Action::CycleFocusBack => "cycle_focus_back",
            Action::Inbox => "inbox",
            Action::Filter => "filter",
            Action::NewIssue => "new_issue",
            Action::EditIssue => "edit_issue",
            Action::Open => "open",
            Action::Comment => "comment",
            Action::HandOff => "hand_off",
            Action::Accept => "accept",
            Action::RequestChanges => "request_changes",
            Action::ToBacklog => "to_backlog",
            Action::StopAgent => "stop_agent",
            Action::TogglePause => "toggle_pause",
            Action::Zoom => "zoom",
            Action::Follow => "follow",
            Action::Reply => "reply",
            Action::OpenToast => "open_toast",
            Action::Column(n) => return format!("column_{}", n + 1),
        };
        s.to_string()
    }
}

/// One row of the keymap.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Where it applies.
    pub context: Context,
    /// What it does.
    pub action: Action,
    /// The keys (the first is shown in the hint bar).
    pub keys: Vec<KeyEvent>,
    /// Help text.
    pub desc: &'static str,
    /// Short label in the one-line hint bar of its context (None: only in help).
    pub hint: Option<&'static str>,
}

/// One line of the keys overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRow {
    /// Where the binding applies.
    pub context: Context,
    /// Its keys, as shown (`j down`).
    pub keys: String,
    /// What it does.
    pub desc: &'static str,
    /// The action, so the overlay can run it.
    pub action: Action,
}

/// The whole table.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// Rows in help order.
    pub bindings: Vec<Binding>,
}

/// Parses `"ctrl-s"`, `"H"`, `"enter"`, `"pgdn"`, `"?"`, `"shift-tab"`.
pub fn parse_key(spec: &str) -> Option<KeyEvent> {
    let mut mods = KeyModifiers::NONE;
    let mut rest = spec.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        if let Some(r) = lower
            .strip_prefix("ctrl-")
            .or_else(|| lower.strip_prefix("c-"))
        {
            mods |= KeyModifiers::CONTROL;
            rest = &rest[rest.len() - r.len()..];
        } else if let Some(r) = lower
            .strip_prefix("alt-")
            .or_else(|| lower.strip_prefix("m-"))
        {
            mods |= KeyModifiers::ALT;
            rest = &rest[rest.len() - r.len()..];
        } else if let Some(r) = lower
            .strip_prefix("shift-")
            .or_else(|| lower.strip_prefix("s-"))
        {
            mods |= KeyModifiers::SHIFT;
            rest = &rest[rest.len() - r.len()..];
        } else {
            break;
        }
    }
    let code = match rest.to_ascii_lowercase().as_str() {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" if mods.contains(KeyModifiers::SHIFT) => {
            mods.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pagedown" => KeyCode::PageDown,
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        _ => {
            let mut chars = rest.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                let lower = rest.to_ascii_lowercase();
                let n: u8 = lower.strip_prefix('f')?.parse().ok()?;
                return Some(KeyEvent::new(KeyCode::F(n), mods));
            }
            KeyCode::Char(c)
        }
    };
    Some(normalize(KeyEvent::new(code, mods)))
}

/// Drops SHIFT from characters (the character already says it) so `H` matches however the
/// terminal reports it.
pub fn normalize(key: KeyEvent) -> KeyEvent {
    let mut mods =
        key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    if let KeyCode::Char(_) = key.code {
        mods.remove(KeyModifiers::SHIFT);
    }
    KeyEvent::new(key.code, mods)
}

/// Short display form of a key for the hint bar and help.
pub fn key_label(key: &KeyEvent) -> String {
    let mut s = String::new();
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        s.push_str("ctrl-");
    }
    if key.modifiers.contains(KeyModifiers::ALT) {
        s.push_str("alt-");
    }
    match key.code {
        KeyCode::Char(' ') => s.push_str("space"),
        KeyCode::Char(c) => s.push(c),
        KeyCode::Enter => s.push_str("enter"),
        KeyCode::Esc => s.push_str("esc"),
        KeyCode::Tab => s.push_str("tab"),
        KeyCode::BackTab => s.push_str("shift-tab"),
        KeyCode::Up => s.push('↑'),
        KeyCode::Down => s.push('↓'),
        KeyCode::Left => s.push('←'),
        KeyCode::Right => s.push('→'),
        KeyCode::Home => s.push_str("home"),
        KeyCode::End => s.push_str("end"),
        KeyCode::PageUp => s.push_str("pgup"),
        KeyCode::PageDown => s.push_str("pgdn"),
        KeyCode::F(n) => s.push_str(&format!("f{n}")),
        _ => s.push('?'),
    }
    s
}

/// A default binding: context, action, keys, help text, hint-bar label.
type Row = (
    Context,
    Action,
    &'static [&'static str],
    &'static str,
    Option<&'static str>,
);

fn keys(specs: &[&str]) -> Vec<KeyEvent> {
    specs.iter().filter_map(|s| parse_key(s)).collect()
}

impl Default for Keymap {
    fn default() -> Self {
        use Action as A;
        use Context as C;
        let rows: Vec<Row> = vec![
            (C::Global, A::Help, &["?", "f1"], "help", Some("help")),
            (C::Global, A::Quit, &["q"], "quit", Some("quit")),
            (
                C::Global,
                A::ForceQuit,
                &["ctrl-c"],
                "quit now (stops agents)",
                None,
            ),
            (
                C::Global,
                A::Suspend,
                &["ctrl-z"],
                "suspend to the shell",
                None,
            ),
            (C::Global, A::Close, &["esc"], "close / back", None),
            (
                C::Global,
                A::CycleFocus,
                &["tab"],
                "focus board → panes → inbox → notifications",
                Some("focus"),
            ),
            (
                C::Global,
                A::CycleFocusBack,
                &["shift-tab"],
                "focus backwards",
                None,
            ),
            (C::Global, A::Inbox, &["i"], "blocked inbox", Some("inbox")),
            (C::Global, A::NewIssue, &["n"], "new issue", Some("new")),
            (
                C::Global,
                A::TogglePause,
                &["p"],
                "pause / resume claiming",
                None,
            ),
            (
                C::Global,
                A::OpenToast,
                &["o"],
                "open the newest notification's issue",
                None,
            ),
            (C::Global, A::Up, &["k", "up"], "up", None),
            (C::Global, A::Down, &["j", "down"], "down", None),
            (C::Global, A::Left, &["h", "left"], "left / previous", None),
            (C::Global, A::Right, &["l", "right"], "right / next", None),
            (C::Global, A::Top, &["g", "home"], "first", None),
            (C::Global, A::Bottom, &["G", "end"], "last", None),
            (C::Global, A::PageUp, &["pgup", "ctrl-u"], "page up", None),
            (
                C::Global,
                A::PageDown,
                &["pgdn", "ctrl-d"],
                "page down",
                None,
            ),
            (
                C::Board,
                A::Open,
                &["enter"],
                "issue detail",
                Some("detail"),
            ),
            (
                C::Board,
                A::HandOff,
                &["H"],
                "hand off: backlog → ready",
                Some("hand off"),
            ),
            (
                C::Board,
                A::Accept,
                &["a"],
                "accept: in review → done",
                Some("accept"),
            ),
            (
                C::Board,
                A::RequestChanges,
                &["R"],
                "request changes (comment → ready)",
                None,
            ),
            (C::Board, A::ToBacklog, &["B"], "back to backlog", None),
            (C::Board, A::Comment, &["c"], "comment", None),
            (C::Board, A::EditIssue, &["e"], "edit issue", None),
            (
                C::Board,
                A::StopAgent,
                &["x"],
                "stop the issue's agent",
                None,
            ),
            (C::Board, A::Filter, &["/"], "filter cards", Some("filter")),
            (C::Board, A::Column(0), &["1"], "column backlog", None),
            (C::Board, A::Column(1), &["2"], "column ready", None),
            (C::Board, A::Column(2), &["3"], "column in progress", None),
            (C::Board, A::Column(3), &["4"], "column blocked", None),
            (C::Board, A::Column(4), &["5"], "column in review", None),
            (C::Board, A::Column(5), &["6"], "column done", None),
            (C::Panes, A::Zoom, &["z"], "zoom pane", Some("zoom")),
            (
                C::Panes,
                A::Follow,
                &["f"],
                "follow output on/off",
                Some("follow"),
            ),
            (
                C::Panes,
                A::StopAgent,
                &["x"],
                "stop this agent",
                Some("stop"),
            ),
            (
                C::Panes,
                A::Open,
                &["enter"],
                "issue detail",
                Some("detail"),
            ),
            (
                C::Inbox,
                A::Reply,
                &["r", "enter"],
                "reply (issue → ready)",
                Some("reply"),
            ),
            (C::Inbox, A::Open, &["d"], "issue detail", Some("detail")),
            (
                C::Toasts,
                A::Open,
                &["enter"],
                "open the notification's issue",
                Some("open"),
            ),
            (
                C::Detail,
                A::Open,
                &["enter", "t"],
                "transcript of the selected run",
                Some("transcript"),
            ),
            (C::Detail, A::Comment, &["c"], "comment", Some("comment")),
            (C::Detail, A::EditIssue, &["e"], "edit issue", None),
            (
                C::Detail,
                A::HandOff,
                &["H"],
                "hand off: backlog → ready",
                None,
            ),
            (
                C::Detail,
                A::Accept,
                &["a"],
                "accept: in review → done",
                None,
            ),
            (
                C::Detail,
                A::RequestChanges,
                &["R"],
                "request changes",
                None,
            ),
        ];
        Keymap {
            bindings: rows
                .into_iter()
                .map(|(context, action, k, desc, hint)| Binding {
                    context,
                    action,
                    keys: keys(k),
                    desc,
                    hint,
                })
                .collect(),
        }
    }
}

impl Keymap {
    /// The default table with `[ui.keys]` overrides applied; problems come back as warnings.
    pub fn with_overrides(
        overrides: Option<&BTreeMap<String, Vec<String>>>,
    ) -> (Keymap, Vec<String>) {
        let mut map = Keymap::default();
        let mut warnings = Vec::new();
        for (name, specs) in overrides.into_iter().flatten() {
            let parsed: Vec<KeyEvent> = specs
                .iter()
                .filter_map(|s| {
                    let k = parse_key(s);
                    if k.is_none() {
                        warnings.push(format!("keys.{name}: cannot parse key '{s}'"));
                    }
                    k
                })
                .collect();
            let mut found = false;
            for b in map.bindings.iter_mut().filter(|b| b.action.name() == *name) {
                b.keys = parsed.clone();
                found = true;
            }
            if !found {
                warnings.push(format!("keys: unknown action '{name}'"));
            }
        }
        (map, warnings)
    }

    /// The action for a key in `context` (falling back to global bindings).
    pub fn lookup(&self, context: Context, key: KeyEvent) -> Option<Action> {
        let key = normalize(key);
        let hit = |ctx: Context| {
            self.bindings
                .iter()
                .find(|b| b.context == ctx && b.keys.contains(&key))
                .map(|b| b.action)
        };
        hit(context).or_else(|| hit(Context::Global))
    }

    /// `(key, description)` pairs for the hint bar: the context's hints, then the global ones.
    pub fn hints(&self, context: Context) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = Vec::new();
        for ctx in [context, Context::Global] {
            for b in self.bindings.iter().filter(|b| b.context == ctx) {
                if let (Some(k), Some(label)) = (b.keys.first(), b.hint) {
                    out.push((key_label(k), label));
                }
            }
            if context == Context::Global {
                break;
            }
        }
        // Help first: it is the key that explains all the others.
        if let Some(i) = out.iter().position(|(_, d)| *d == "help") {
            let help = out.remove(i);
            out.insert(0, help);
        }
        out
    }

    /// Every binding as a help row, in table order, keeping those whose keys, description or
    /// context title contain `filter` (any case).
    pub fn help_rows(&self, filter: &str) -> Vec<HelpRow> {
        let needle = filter.to_lowercase();
        self.bindings
            .iter()
            .map(|b| HelpRow {
                context: b.context,
                keys: b.keys.iter().map(key_label).collect::<Vec<_>>().join(" "),
                desc: b.desc,
                action: b.action,
            })
            .filter(|r| {
                needle.is_empty()
                    || [r.keys.as_str(), r.desc, r.context.title()]
                        .iter()
                        .any(|t| t.to_lowercase().contains(&needle))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spellings_users_write() {
        assert_eq!(
            parse_key("ctrl-s"),
            Some(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL))
        );
        assert_eq!(
            parse_key("H"),
            Some(KeyEvent::new(KeyCode::Char('H'), KeyModifiers::NONE))
        );
        assert_eq!(
            parse_key("shift-tab"),
            Some(KeyEvent::new(KeyCode::BackTab, KeyModifiers::NONE))
        );
        assert_eq!(
            parse_key("pgdn"),
            Some(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE))
        );
        assert_eq!(
            parse_key("f1"),
            Some(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE))
        );
        assert_eq!(parse_key("nonsense"), None);
    }

    #[test]
    fn context_bindings_shadow_global_ones() {
        let map = Keymap::default();
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(map.lookup(Context::Inbox, enter), Some(Action::Reply));
        assert_eq!(map.lookup(Context::Board, enter), Some(Action::Open));
        let shifted_h = KeyEvent::new(KeyCode::Char('H'), KeyModifiers::SHIFT);
        assert_eq!(map.lookup(Context::Board, shifted_h), Some(Action::HandOff));
    }

    #[test]
    fn overrides_replace_keys_and_report_unknown_actions() {
        let mut o = BTreeMap::new();
        o.insert("hand_off".to_string(), vec!["ctrl-h".to_string()]);
        o.insert("fly".to_string(), vec!["f".to_string()]);
        let (map, warnings) = Keymap::with_overrides(Some(&o));
        let ctrl_h = KeyEvent::new(KeyCode::Char('h'), KeyModifiers::CONTROL);
        assert_eq!(map.lookup(Context::Board, ctrl_h), Some(Action::HandOff));
        assert_eq!(warnings, vec!["keys: unknown action 'fly'".to_string()]);
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        let map = Keymap::default();
        let mut seen = std::collections::HashSet::new();
        for b in &map.bindings {
            for k in &b.keys {
                assert!(
                    seen.insert((b.context, *k)),
                    "{:?} {:?} bound twice",
                    b.context,
                    k
                );
            }
        }
    }
}
