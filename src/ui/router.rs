//! Which layer a key goes to. The layers are a stack, held here as data: a key goes to the
//! topmost open one, in the keymap context of that layer.

use crossterm::event::KeyEvent;

use super::keymap::{Action, Context, Keymap};

/// Which area receives keys when nothing is open over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The six columns.
    Board,
    /// The agent panes.
    Panes,
    /// The blocked inbox.
    Inbox,
    /// The notifications, to open the issue one is about.
    Toasts,
}

impl Focus {
    /// The keymap context of the area.
    pub fn context(self) -> Context {
        match self {
            Focus::Board => Context::Board,
            Focus::Panes => Context::Panes,
            Focus::Inbox => Context::Inbox,
            Focus::Toasts => Context::Toasts,
        }
    }
}

/// A layer of the screen that can take keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The keys overlay.
    Overlay,
    /// An issue, comment or answer editor.
    Editor,
    /// The quit dialog.
    Confirm,
    /// The search overlay (typing a query).
    Search,
    /// Typing into the board's filter.
    Filter,
    /// The stats overlay.
    Stats,
    /// Typing a search into the diff.
    DiffSearch,
    /// An issue's diff, over the board or the detail.
    Diff,
    /// A run's transcript, over the detail.
    Transcript,
    /// The issue detail.
    Detail,
    /// The focused area (board, panes, inbox, notifications); always open.
    Focus,
}

/// The stack, top first.
pub const STACK: [Layer; 11] = [
    Layer::Overlay,
    Layer::Editor,
    Layer::Confirm,
    Layer::Search,
    Layer::Filter,
    Layer::Stats,
    Layer::DiffSearch,
    Layer::Diff,
    Layer::Transcript,
    Layer::Detail,
    Layer::Focus,
];

impl Layer {
    /// Whether the layer reads keys itself (text, a dialog's answer) instead of going through
    /// `update` as actions; such a layer takes every key while it is open.
    pub fn is_modal(self) -> bool {
        matches!(
            self,
            Layer::Overlay
                | Layer::Editor
                | Layer::Confirm
                | Layer::Search
                | Layer::Filter
                | Layer::DiffSearch
        )
    }
}

/// What is open right now, as far as routing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    /// The keys overlay is open.
    pub overlay: bool,
    /// The overlay's filter is being typed into.
    pub overlay_typing: bool,
    /// An editor is open.
    pub editor: bool,
    /// The quit dialog is open.
    pub confirm: bool,
    /// The open dialog is a yes/no question (not the quit dialog).
    pub ask: bool,
    /// The search overlay is open.
    pub search: bool,
    /// The board's filter is being typed into.
    pub filter: bool,
    /// The stats overlay is open.
    pub stats: bool,
    /// A diff is open.
    pub diff: bool,
    /// The diff's search is being typed into.
    pub diff_typing: bool,
    /// A transcript is open.
    pub transcript: bool,
    /// The detail is open.
    pub detail: bool,
    /// The focused area.
    pub focus: Focus,
}

impl Open {
    /// Whether `layer` is open.
    pub fn has(&self, layer: Layer) -> bool {
        match layer {
            Layer::Overlay => self.overlay,
            Layer::Editor => self.editor,
            Layer::Confirm => self.confirm,
            Layer::Search => self.search,
            Layer::Filter => self.filter,
            Layer::Stats => self.stats,
            Layer::DiffSearch => self.diff_typing,
            Layer::Diff => self.diff,
            Layer::Transcript => self.transcript,
            Layer::Detail => self.detail,
            Layer::Focus => true,
        }
    }

    /// The open layers, top first; the focus layer ends it.
    pub fn stack(self) -> impl Iterator<Item = Layer> {
        STACK.into_iter().filter(move |l| self.has(*l))
    }

    /// The layer a key goes to.
    pub fn top(&self) -> Layer {
        self.stack().next().unwrap_or(Layer::Focus)
    }

    /// The keymap context of `layer`.
    pub fn context(&self, layer: Layer) -> Context {
        match layer {
            Layer::Overlay if self.overlay_typing => Context::Filter,
            Layer::Overlay => Context::Overlay,
            Layer::Editor => Context::Editor,
            Layer::Confirm if self.ask => Context::Ask,
            Layer::Confirm => Context::Confirm,
            Layer::Search => Context::Search,
            Layer::Filter | Layer::DiffSearch => Context::Filter,
            Layer::Stats => Context::Stats,
            Layer::Diff => Context::Diff,
            Layer::Transcript => Context::Transcript,
            Layer::Detail => Context::Detail,
            Layer::Focus => self.focus.context(),
        }
    }

    /// Where the user is under the modal layers: what the overlay's rows are judged against.
    pub fn here(&self) -> Context {
        let layer = self.stack().find(|l| !l.is_modal()).unwrap_or(Layer::Focus);
        self.context(layer)
    }
}

/// The top layer and the action the key means there (None: a key the keymap does not bind
/// in that layer, which text inputs type and dialogs take as "no").
pub fn route(keymap: &Keymap, open: &Open, key: KeyEvent) -> (Layer, Option<Action>) {
    let layer = open.top();
    let action = keymap.lookup(open.context(layer), key).or_else(|| {
        // Typing into the overlay's filter still lets its quit-now key out.
        let quit = layer == Layer::Overlay && open.overlay_typing;
        keymap
            .lookup(Context::Overlay, key)
            .filter(|a| quit && *a == Action::ForceQuit)
    });
    (layer, action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn closed() -> Open {
        Open {
            overlay: false,
            overlay_typing: false,
            editor: false,
            confirm: false,
            ask: false,
            search: false,
            filter: false,
            stats: false,
            diff: false,
            diff_typing: false,
            transcript: false,
            detail: false,
            focus: Focus::Board,
        }
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn a_key_goes_to_the_topmost_open_layer() {
        let map = Keymap::default();
        let mut open = closed();
        assert_eq!(
            route(&map, &open, key('q')),
            (Layer::Focus, Some(Action::Quit))
        );
        open.detail = true;
        open.transcript = true;
        assert_eq!(
            open.stack().collect::<Vec<_>>(),
            [Layer::Transcript, Layer::Detail, Layer::Focus]
        );
        assert_eq!(route(&map, &open, key('c')), (Layer::Transcript, None));
        open.editor = true;
        assert_eq!(route(&map, &open, key('q')), (Layer::Editor, None));
        assert_eq!(open.here(), Context::Transcript);
    }

    #[test]
    fn the_diff_takes_its_keys_and_its_search_types() {
        let map = Keymap::default();
        let mut open = closed();
        open.detail = true;
        open.diff = true;
        assert_eq!(
            route(&map, &open, key(']')),
            (Layer::Diff, Some(Action::NextFile))
        );
        assert_eq!(
            route(&map, &open, key('c')),
            (Layer::Diff, Some(Action::Comment))
        );
        assert_eq!(route(&map, &open, key('x')), (Layer::Diff, None));
        open.diff_typing = true;
        assert_eq!(route(&map, &open, key('q')), (Layer::DiffSearch, None));
        assert_eq!(open.here(), Context::Diff);
    }

    #[test]
    fn the_overlays_filter_types_but_lets_quit_now_out() {
        let map = Keymap::default();
        let mut open = closed();
        open.overlay = true;
        assert_eq!(
            route(&map, &open, key('q')),
            (Layer::Overlay, Some(Action::Quit))
        );
        open.overlay_typing = true;
        assert_eq!(route(&map, &open, key('q')), (Layer::Overlay, None));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            route(&map, &open, ctrl_c),
            (Layer::Overlay, Some(Action::ForceQuit))
        );
        // the search overlay types `q` and binds ctrl-c itself
        let mut open = closed();
        open.search = true;
        assert_eq!(route(&map, &open, key('q')), (Layer::Search, None));
        assert_eq!(
            route(&map, &open, ctrl_c),
            (Layer::Search, Some(Action::ForceQuit))
        );
        // the board's filter does not
        let mut open = closed();
        open.filter = true;
        assert_eq!(route(&map, &open, ctrl_c), (Layer::Filter, None));
    }
}
