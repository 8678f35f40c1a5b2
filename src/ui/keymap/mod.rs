//! Keys → actions, per context, for every layer of the UI: the focus areas, the detail and its
//! transcript, the editor, the filter, the keys overlay and the quit dialog. The hint bar, the
//! overlay, dialog texts, `autopilot-tui keys` and the README's key table are generated from this
//! table, and `[ui.keys]` in the config file overrides it by action name.

mod defaults;
mod keys;
mod table;

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;

pub use keys::{key_label, normalize, parse_key};
pub use table::print_keys;

/// Where a binding applies. The focus areas and the detail also take `Global` keys; the other
/// layers take only their own.
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
    /// A run's transcript is open over the detail.
    Transcript,
    /// The stats overlay is open.
    Stats,
    /// The search overlay is open (typing a query).
    Search,
    /// An issue's diff is open.
    Diff,
    /// An issue, comment or answer editor is open.
    Editor,
    /// Typing into a filter (the board's or the overlay's).
    Filter,
    /// The keys overlay is open.
    Overlay,
    /// The quit dialog asks what to do with running agents.
    Confirm,
    /// A yes/no question before a destructive action (deleting an issue).
    Ask,
}

impl Context {
    /// Every context, in the order tables list them.
    pub const ALL: [Context; 15] = [
        Context::Global,
        Context::Board,
        Context::Panes,
        Context::Inbox,
        Context::Detail,
        Context::Toasts,
        Context::Transcript,
        Context::Stats,
        Context::Search,
        Context::Diff,
        Context::Editor,
        Context::Filter,
        Context::Overlay,
        Context::Confirm,
        Context::Ask,
    ];

    /// Heading in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Board => "Board",
            Context::Panes => "Agent panes",
            Context::Inbox => "Inbox",
            Context::Detail => "Issue detail",
            Context::Toasts => "Notifications",
            Context::Transcript => "Transcript",
            Context::Stats => "Stats",
            Context::Search => "Search",
            Context::Diff => "Diff",
            Context::Editor => "Editor",
            Context::Filter => "Typing a filter",
            Context::Overlay => "Keys overlay",
            Context::Confirm => "Quit dialog",
            Context::Ask => "Yes/no question",
        }
    }

    /// Whether `Global` keys work here too when this context binds nothing to a key.
    pub fn takes_global(self) -> bool {
        matches!(
            self,
            Context::Board | Context::Panes | Context::Inbox | Context::Detail | Context::Toasts
        )
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
    /// Filter cards (or, in the overlay, keys) by text.
    Filter,
    /// New issue.
    NewIssue,
    /// Edit the selected issue.
    EditIssue,
    /// Open the selected issue (in detail, the selected run's transcript; in the overlay, run
    /// the selected key).
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
    /// The next agent in the panes or the fleet list.
    NextAgent,
    /// The previous agent in the panes or the fleet list.
    PrevAgent,
    /// Reply to the selected blocked question.
    Reply,
    /// Jump to the newest notification's issue.
    OpenToast,
    /// Jump to column N (0-based).
    Column(u8),
    /// Save the editor (send a comment or an answer).
    Save,
    /// The editor's next field.
    NextField,
    /// The editor's previous field.
    PrevField,
    /// Stop typing into a filter and keep it.
    Done,
    /// Open the selected issue's diff.
    OpenDiff,
    /// The diff's next file.
    NextFile,
    /// The diff's previous file.
    PrevFile,
    /// The next match of a search.
    NextMatch,
    /// The previous match of a search.
    PrevMatch,
    /// Open `$SHELL` in the selected issue's worktree.
    Shell,
    /// Continue the agent's session of the selected issue interactively.
    ContinueSession,
    /// Edit the selected issue's body in `$EDITOR`.
    EditBody,
    /// Quit once the running agents finish, claiming nothing more.
    WaitThenQuit,
    /// Stop the running agents and quit.
    StopAndQuit,
    /// Open (or close) the stats overlay.
    Stats,
    /// The detail's next subtask.
    NextChild,
    /// The detail's previous subtask.
    PrevChild,
    /// Open the detail's selected subtask.
    OpenChild,
    /// Split the selected issue into subtasks with a planner run.
    Split,
    /// Archive the selected done issue.
    Archive,
    /// Delete the selected backlog issue (asking first).
    Delete,
    /// Answer yes to a question.
    Yes,
    /// Open the search overlay (titles, bodies, comments, transcripts).
    Search,
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
            Action::NextAgent => "next_agent",
            Action::PrevAgent => "previous_agent",
            Action::Reply => "reply",
            Action::OpenToast => "open_toast",
            Action::Save => "save",
            Action::NextField => "next_field",
            Action::PrevField => "previous_field",
            Action::Done => "done",
            Action::OpenDiff => "diff",
            Action::NextFile => "next_file",
            Action::PrevFile => "previous_file",
            Action::NextMatch => "next_match",
            Action::PrevMatch => "previous_match",
            Action::Shell => "shell",
            Action::ContinueSession => "continue_session",
            Action::EditBody => "edit_body",
            Action::WaitThenQuit => "wait_then_quit",
            Action::StopAndQuit => "stop_and_quit",
            Action::Stats => "stats",
            Action::NextChild => "next_subtask",
            Action::PrevChild => "previous_subtask",
            Action::OpenChild => "open_subtask",
            Action::Split => "split",
            Action::Archive => "archive",
            Action::Delete => "delete",
            Action::Yes => "yes",
            Action::Search => "search",
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

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bindings: defaults::bindings(),
        }
    }
}

impl Keymap {
    /// The default table with `[ui.keys]` overrides applied; problems (keys that do not parse,
    /// unknown actions, a key meaning two actions in one context) come back as warnings.
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
        warnings.extend(map.collisions());
        (map, warnings)
    }

    /// Keys bound to two actions in one context. The first binding in table order wins, so
    /// the warning says which.
    fn collisions(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, a) in self.bindings.iter().enumerate() {
            for b in &self.bindings[i + 1..] {
                if a.context != b.context || a.action == b.action {
                    continue;
                }
                for k in a.keys.iter().filter(|k| b.keys.contains(k)) {
                    out.push(format!(
                        "keys: '{}' is bound to both {} and {} in {}; {} wins",
                        key_label(k),
                        a.action.name(),
                        b.action.name(),
                        a.context.title(),
                        a.action.name()
                    ));
                }
            }
        }
        out
    }

    /// The action for a key in `context` (falling back to global bindings where they apply).
    pub fn lookup(&self, context: Context, key: KeyEvent) -> Option<Action> {
        let key = normalize(key);
        let hit = |ctx: Context| {
            self.bindings
                .iter()
                .find(|b| b.context == ctx && b.keys.contains(&key))
                .map(|b| b.action)
        };
        hit(context).or_else(|| {
            if context.takes_global() {
                hit(Context::Global)
            } else {
                None
            }
        })
    }

    /// The first key bound to `action` in `context` (or globally, where global keys apply),
    /// as shown; None when nothing is bound to it.
    pub fn key(&self, context: Context, action: Action) -> Option<String> {
        let first = |ctx: Context| {
            self.bindings
                .iter()
                .filter(|b| b.context == ctx && b.action == action)
                .find_map(|b| b.keys.first())
                .map(key_label)
        };
        first(context).or_else(|| {
            if context.takes_global() {
                first(Context::Global)
            } else {
                None
            }
        })
    }

    /// Like [`Keymap::key`], for text: an unbound action shows as `none`.
    pub fn label(&self, context: Context, action: Action) -> String {
        self.key(context, action)
            .unwrap_or_else(|| "none".to_string())
    }

    /// Two actions' keys as one hint, `j/k`.
    pub fn pair(&self, context: Context, a: Action, b: Action) -> String {
        format!("{}/{}", self.label(context, a), self.label(context, b))
    }

    /// One hint-bar pair for `action` in `context`: its first key and its hint label (None
    /// when nothing is bound or the binding has no label).
    pub fn hint(&self, context: Context, action: Action) -> Option<(String, &'static str)> {
        self.bindings
            .iter()
            .filter(|b| b.context == context && b.action == action)
            .find_map(|b| Some((key_label(b.keys.first()?), b.hint?)))
    }

    /// `(key, description)` pairs for the hint bar: the context's hints, then the global ones
    /// where they apply.
    pub fn hints(&self, context: Context) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = Vec::new();
        for ctx in [context, Context::Global] {
            for b in self.bindings.iter().filter(|b| b.context == ctx) {
                // A global key the context binds to something else does not do it here.
                let here = |k: &&KeyEvent| self.lookup(context, **k) == Some(b.action);
                if let (Some(k), Some(label)) = (b.keys.first().filter(here), b.hint) {
                    out.push((key_label(k), label));
                }
            }
            if context == Context::Global || !context.takes_global() {
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
    use crossterm::event::{KeyCode, KeyModifiers};

    fn overrides(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
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
    fn modal_layers_take_only_their_own_keys() {
        let map = Keymap::default();
        let n = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE);
        assert_eq!(map.lookup(Context::Board, n), Some(Action::NewIssue));
        assert_eq!(map.lookup(Context::Editor, n), None);
        assert_eq!(map.lookup(Context::Filter, n), None);
        assert_eq!(map.lookup(Context::Transcript, n), None);
        assert_eq!(map.lookup(Context::Confirm, n), Some(Action::Close));
    }

    #[test]
    fn overrides_replace_keys_and_report_unknown_actions() {
        let o = overrides(&[("hand_off", &["ctrl-h"]), ("fly", &["f"])]);
        let (map, warnings) = Keymap::with_overrides(Some(&o));
        let ctrl_h = KeyEvent::new(KeyCode::Char('h'), KeyModifiers::CONTROL);
        assert_eq!(map.lookup(Context::Board, ctrl_h), Some(Action::HandOff));
        assert_eq!(warnings, vec!["keys: unknown action 'fly'".to_string()]);
    }

    #[test]
    fn overrides_that_collide_in_one_context_are_reported() {
        // `n` is already "new issue" everywhere; `done` on esc takes the filter's clear key.
        let o = overrides(&[("inbox", &["n"]), ("done", &["esc"])]);
        let (_, warnings) = Keymap::with_overrides(Some(&o));
        assert_eq!(
            warnings,
            [
                "keys: 'n' is bound to both inbox and new_issue in Everywhere; inbox wins",
                "keys: 'esc' is bound to both done and close in Typing a filter; done wins",
            ]
        );
        // the same key in two contexts is not a collision: one shadows the other
        let o = overrides(&[("zoom", &["n"])]);
        assert!(Keymap::with_overrides(Some(&o)).1.is_empty());
    }

    #[test]
    fn a_remapped_key_shows_in_every_layer_that_binds_the_action() {
        let o = overrides(&[("close", &["ctrl-g"]), ("save", &["ctrl-w"])]);
        let (map, warnings) = Keymap::with_overrides(Some(&o));
        assert!(warnings.is_empty(), "{warnings:?}");
        for ctx in [
            Context::Global,
            Context::Editor,
            Context::Filter,
            Context::Overlay,
            Context::Transcript,
            Context::Confirm,
        ] {
            assert_eq!(map.label(ctx, Action::Close), "ctrl-g", "{ctx:?}");
        }
        assert_eq!(map.label(Context::Board, Action::Close), "ctrl-g");
        assert_eq!(
            map.hints(Context::Editor)[0],
            ("ctrl-w".to_string(), "save")
        );
        let (map, _) = Keymap::with_overrides(Some(&overrides(&[("save", &[])])));
        assert_eq!(map.label(Context::Editor, Action::Save), "none");
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
        assert!(map.collisions().is_empty());
    }

    #[test]
    fn every_context_has_bindings() {
        let map = Keymap::default();
        for ctx in Context::ALL {
            assert!(map.bindings.iter().any(|b| b.context == ctx), "{ctx:?}");
        }
    }
}
