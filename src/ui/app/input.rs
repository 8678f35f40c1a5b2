//! Keys and the mouse: the router picks the layer, and the layers that read keys themselves
//! (overlay, editor, quit dialog, filter) are handled here; the others get actions through
//! `update`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use super::{update, App, Effect, Focus, Level};
use crate::runner::RunnerCommand;
use crate::ui::keymap::{normalize, Action, Context};
use crate::ui::router::{self, Layer};
use crate::ui::state::answer::FormStep;
use crate::ui::state::confirm::{Answer, Confirm};
use crate::ui::state::editor::EditorStep;
use crate::ui::state::help::HelpStep;
use crate::ui::store_thread::StoreRequest;

impl App {
    /// Routes a key to the top layer: overlay, editor, quit dialog, filter, transcript,
    /// detail, then the focused area.
    pub fn on_key(&mut self, key: KeyEvent) {
        let key = normalize(key);
        let open = self.open_layers();
        let (layer, action) = router::route(&self.keymap, &open, key);
        let typing = self.help.as_ref().is_some_and(|h| h.is_typing());
        if let Some(plain) = split_escape(layer, action, key, typing) {
            self.on_key(KeyEvent::from(KeyCode::Esc));
            self.on_key(plain);
            return;
        }
        match layer {
            Layer::Overlay => self.overlay_key(action, key),
            Layer::Editor => self.editor_key(action, key),
            Layer::Confirm => self.confirm_key(action),
            Layer::Search => self.search_key(action, key),
            Layer::Filter => self.filter_key(action, key),
            Layer::DiffSearch => self.diff_search_key(action, key),
            Layer::Stats | Layer::Diff | Layer::Transcript | Layer::Detail | Layer::Focus => {
                if let Some(action) = action {
                    update(self, action);
                }
            }
        }
    }

    fn overlay_key(&mut self, action: Option<Action>, key: KeyEvent) {
        let rows = self.help_rows().len();
        let Some(h) = self.help.as_mut() else {
            return;
        };
        match h.on_key(action, key, rows) {
            HelpStep::Stay => {}
            HelpStep::Close => self.help = None,
            HelpStep::Run(selected) => self.run_help_row(selected),
            HelpStep::Quit => self.quit = true,
        }
        self.dirty = true;
    }

    /// Runs an overlay row when it applies where the user is (or everywhere).
    fn run_help_row(&mut self, selected: usize) {
        let Some(row) = self.help_rows().into_iter().nth(selected) else {
            return;
        };
        let here = self.context();
        if row.context == Context::Global || row.context == here {
            self.help = None;
            update(self, row.action);
        } else {
            self.toast(
                Level::Info,
                format!(
                    "“{}” works in {}, not in {}",
                    row.desc,
                    row.context.title(),
                    here.title()
                ),
                None,
            );
        }
    }

    fn editor_key(&mut self, action: Option<Action>, key: KeyEvent) {
        let Some(ed) = self.editor.as_mut() else {
            return self.form_key(action, key);
        };
        self.dirty = true;
        match ed.on_key(action, key) {
            EditorStep::Typed => {}
            EditorStep::Cancel => self.editor = None,
            EditorStep::Save => {
                if let Some(req) = ed.submit(&self.keymap) {
                    self.outbox.push(Effect::Store(req));
                    // A save the store may refuse (dependencies) keeps the editor until it answers.
                    if !ed.is_pending() {
                        self.editor = None;
                    }
                }
            }
        }
    }

    /// A key for the inbox's answer form: esc keeps the draft, a send waits for the store.
    fn form_key(&mut self, action: Option<Action>, key: KeyEvent) {
        let Some(form) = self.inbox.answering_mut() else {
            return;
        };
        self.dirty = true;
        match form.on_key(action, key) {
            FormStep::Typed => {}
            FormStep::Cancel => self.inbox.close_form(),
            FormStep::Send => {
                let id = form.issue_id();
                if let Some(answers) = form.submit() {
                    self.outbox
                        .push(Effect::Store(StoreRequest::Answer(id, answers)));
                }
            }
        }
    }

    fn confirm_key(&mut self, action: Option<Action>) {
        let running = match self.confirm {
            Some(Confirm::Quit { running }) => running,
            Some(Confirm::Delete { id }) => {
                self.confirm = None;
                self.dirty = true;
                if action == Some(Action::Yes) {
                    self.outbox.push(Effect::Store(StoreRequest::Delete(id)));
                } else {
                    self.toast(Level::Info, format!("#{id} kept"), Some(id));
                }
                return;
            }
            None => return,
        };
        match Confirm::answer(action) {
            Answer::Stop => self.quit = true,
            Answer::Wait => {
                // Drain: claim nothing more here, quit once the running agents finish.
                self.outbox.push(Effect::Runner(RunnerCommand::Drain));
                self.quit_when_idle = true;
                self.confirm = None;
                let quit = self.keymap.label(Context::Global, Action::Quit);
                self.toast(
                    Level::Info,
                    format!(
                        "waiting for {running} agent(s) to finish, then quitting ({quit} again to stop them)"
                    ),
                    None,
                );
            }
            Answer::Stay => self.confirm = None,
        }
        self.dirty = true;
    }

    fn filter_key(&mut self, action: Option<Action>, key: KeyEvent) {
        if self.board.type_key(action, key) {
            self.request_board();
        }
        self.dirty = true;
    }

    /// Mouse: click selects, wheel scrolls (only when enabled in the config).
    pub fn on_mouse(&mut self, m: MouseEvent) {
        if !self.mouse || self.editor.is_some() || self.help.is_some() || self.search.is_some() {
            return;
        }
        let wheel = match m.kind {
            MouseEventKind::ScrollDown => Some(Action::Down),
            MouseEventKind::ScrollUp => Some(Action::Up),
            _ => None,
        };
        // Mouse capture reports every movement, drag and release: none of them changes
        // anything, so they cost neither a hit-test nor a frame.
        if wheel.is_none() && !matches!(m.kind, MouseEventKind::Down(_)) {
            return;
        }
        if self.detail.is_some() || self.diff.is_some() {
            // The detail (its transcript, a diff) fills the screen: the wheel scrolls it.
            if let Some(action) = wheel {
                update(self, action);
            }
            return;
        }
        let pane = self.pane_hit(m.column, m.row);
        let card = match pane {
            Some(_) => None,
            None => self.board_hit(m.column, m.row),
        };
        match (m.kind, wheel) {
            // The wheel scrolls what is under the pointer, focusing it.
            (_, Some(action)) => {
                if let Some(i) = pane {
                    self.focus = Focus::Panes;
                    self.panes.select(i);
                } else if card.is_some() && self.focus == Focus::Panes {
                    self.focus = Focus::Board;
                }
                update(self, action);
            }
            (MouseEventKind::Down(_), None) => {
                if let Some(i) = pane {
                    self.focus = Focus::Panes;
                    self.panes.select(i);
                } else if let Some((col, index)) = card {
                    self.focus_column(col);
                    let cursor = self.board.columns().get(col).map_or(0, |c| c.cursor);
                    self.move_cursor(index - cursor);
                }
            }
            _ => {}
        }
        self.dirty = true;
    }

    /// Terminal resized.
    pub fn resize(&mut self, w: u16, h: u16) {
        if self.size != (w, h) {
            self.size = (w, h);
            self.request_board();
        }
        self.dirty = true;
    }
}

/// Esc and the next key arrive as one read when they are typed fast or travel together (over
/// SSH, from tmux), and the terminal's parser then reports Alt+key. Outside text fields, where
/// alt-keys move by words, an alt-key that means nothing is taken for what was typed: Esc,
/// then the key. Returns that key.
fn split_escape(
    layer: Layer,
    action: Option<Action>,
    key: KeyEvent,
    help_typing: bool,
) -> Option<KeyEvent> {
    let text_field = matches!(
        layer,
        Layer::Editor | Layer::Filter | Layer::DiffSearch | Layer::Search
    ) || (layer == Layer::Overlay && help_typing);
    let KeyCode::Char(c) = key.code else {
        return None;
    };
    (key.modifiers == KeyModifiers::ALT && action.is_none() && !text_field)
        .then(|| KeyEvent::from(KeyCode::Char(c)))
}
