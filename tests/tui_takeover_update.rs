//! Taking over, without a terminal: the keys ask the event loop to prepare and run a program
//! (never the app itself), one at a time; what comes back is said and an edited body saved
//! through the store. And the comments that start from the screen: `c` on a diff line quotes
//! `file:line`, `R` after a conflicting accept fills in the store's draft.

#![allow(clippy::unwrap_used)]

mod tui_support;

use std::path::PathBuf;

use autopilot_tui::runner::review::diff::parse;
use autopilot_tui::runner::takeover::{Outcome, Prepared, Takeover};
use autopilot_tui::ui::app::{update, App, Effect};
use autopilot_tui::ui::keymap::Action;
use autopilot_tui::ui::router::Layer;
use autopilot_tui::ui::state::diff::{DiffPayload, DiffReply};
use autopilot_tui::ui::state::editor::EditorPurpose;
use autopilot_tui::ui::store_thread::{StoreReply, StoreRequest};
use tui_support::*;

const HUNK: &str = "\
diff --git a/src/webhook.rs b/src/webhook.rs
--- a/src/webhook.rs
+++ b/src/webhook.rs
@@ -10,4 +10,5 @@ pub fn deliver(hook: &Hook) -> Result<()> {
     let body = hook.payload();
-    send(body)?;
+    retry(5, || send(body))?;
+    log::info!(\"delivered\");
     Ok(())
 }
";

fn board() -> App {
    let mut a = app(100, 30);
    load_board(&mut a, sample_cards());
    a.take_effects();
    a
}

fn body(a: &App) -> String {
    a.editor().unwrap().body().lines().join("\n")
}

#[test]
fn s_c_and_e_ask_the_event_loop_to_prepare_one_take_over_at_a_time() {
    let mut a = board();
    update(&mut a, Action::Column(4));
    a.take_effects();
    a.on_key(key('s'));
    let effects = a.take_effects();
    assert!(
        matches!(effects[..], [Effect::PrepareTakeover(Takeover::Shell(8))]),
        "{effects:?}"
    );
    assert!(a.taking_over());
    // A second key while the first is starting asks for nothing.
    a.on_key(key('E'));
    assert!(a.take_effects().is_empty());
    // A refusal is said, and nothing runs.
    a.on_takeover_ready(
        Takeover::Shell(8),
        Err("#8 has no worktree: no run has started on it".into()),
    );
    assert!(a.take_effects().is_empty());
    assert!(!a.taking_over());
    assert!(a
        .toasts()
        .list()
        .iter()
        .any(|t| t.text.contains("has no worktree")));
    a.on_key(key('C'));
    assert!(matches!(
        a.take_effects()[..],
        [Effect::PrepareTakeover(Takeover::Continue(8))]
    ));
    let prepared = Prepared::Shell {
        issue_id: 8,
        program: PathBuf::from("/bin/sh"),
        dir: PathBuf::from("/tmp"),
    };
    a.on_takeover_ready(Takeover::Shell(8), Ok(prepared.clone()));
    let effects = a.take_effects();
    assert!(
        matches!(&effects[..], [Effect::RunTakeover(p)] if **p == prepared),
        "{effects:?}"
    );
}

#[test]
fn an_edited_body_is_saved_as_the_editor_saves_it_after_the_terminal_is_back() {
    let mut a = board();
    a.on_key(key('E'));
    assert!(matches!(
        a.take_effects()[..],
        [Effect::PrepareTakeover(Takeover::EditBody(1))]
    ));
    a.on_takeover_done(Outcome {
        issue_id: 1,
        ok: true,
        message: "#1: body edited".into(),
        body: Some("new body".into()),
    });
    let effects = a.take_effects();
    assert!(matches!(effects[0], Effect::Resume), "{effects:?}");
    let saved: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Store(StoreRequest::Update(id, edit)) => Some((*id, edit.body.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(saved, [(1, Some("new body".to_string()))]);
    assert!(!a.taking_over());
    // An editor that failed: said, nothing saved.
    a.on_takeover_done(Outcome {
        issue_id: 1,
        ok: false,
        message: "#1: nothing saved: the editor exited with status 1".into(),
        body: None,
    });
    let effects = a.take_effects();
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::Store(StoreRequest::Update(..)))));
    assert!(a
        .toasts()
        .list()
        .iter()
        .any(|t| t.text.starts_with("#1: nothing saved")));
}

/// The board with the review column focused and the diff of #8 open and loaded.
fn diff_open() -> App {
    let mut a = board();
    update(&mut a, Action::Column(4));
    a.take_effects();
    a.on_key(key('D'));
    let gen = a
        .take_effects()
        .into_iter()
        .find_map(|e| match e {
            Effect::Diff(r) => Some(r.gen),
            _ => None,
        })
        .unwrap();
    a.on_diff(DiffReply {
        gen,
        issue_id: 8,
        result: Ok(DiffPayload::Full(Box::new(parse(HUNK.as_bytes())))),
    });
    a
}

#[test]
fn c_on_a_diff_line_quotes_file_and_line_into_a_change_request_for_an_issue_in_review() {
    let mut a = diff_open();
    assert_eq!(a.top_layer(), Layer::Diff);
    let want = "> src/webhook.rs:11 `retry(5, || send(body))?;`";
    for _ in 0..20 {
        if a.diff().unwrap().quote().as_deref() == Some(want) {
            break;
        }
        a.on_key(key('j'));
    }
    assert_eq!(a.diff().unwrap().quote().as_deref(), Some(want));
    a.on_key(key('c'));
    assert_eq!(a.top_layer(), Layer::Editor);
    let ed = a.editor().unwrap();
    // #8 is in review: the comment sends it back to the agent with the quote.
    assert_eq!(ed.purpose(), EditorPurpose::RequestChanges(8));
    assert_eq!(body(&a), format!("{want}\n\n"));
    type_text(&mut a, "retry 3 times, not 5");
    a.on_key(ctrl('s'));
    let sent: Vec<_> = a
        .take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Store(StoreRequest::RequestChanges(id, text)) => Some((id, text)),
            _ => None,
        })
        .collect();
    assert_eq!(sent, [(8, format!("{want}\n\nretry 3 times, not 5"))]);
}

#[test]
fn c_on_a_removed_line_quotes_its_old_number_and_elsewhere_is_a_plain_comment() {
    let mut a = diff_open();
    let want = "> src/webhook.rs:11 (removed) `send(body)?;`";
    for _ in 0..20 {
        if a.diff().unwrap().quote().as_deref() == Some(want) {
            break;
        }
        a.on_key(key('j'));
    }
    assert_eq!(a.diff().unwrap().quote().as_deref(), Some(want));
    // The same diff on an issue that is not in review: a plain comment.
    let mut cards = sample_cards();
    for c in &mut cards {
        if c.issue.id == 8 {
            c.issue.status = autopilot_tui::domain::Status::Blocked;
        }
    }
    load_board(&mut a, cards);
    a.on_key(key('c'));
    assert_eq!(a.editor().unwrap().purpose(), EditorPurpose::Comment(8));
    assert_eq!(body(&a), format!("{want}\n\n"));
}

#[test]
fn r_after_a_conflicting_accept_fills_the_request_with_the_stores_draft() {
    let mut a = board();
    update(&mut a, Action::Column(4));
    a.take_effects();
    a.on_key(key('R'));
    assert_eq!(
        a.editor().unwrap().purpose(),
        EditorPurpose::RequestChanges(8)
    );
    assert!(a
        .take_effects()
        .iter()
        .any(|e| matches!(e, Effect::Store(StoreRequest::ChangesDraft(8)))));
    let draft = "Accepting this branch conflicted with main. Merge main into the branch and resolve the conflicts in these files:\n- hello.txt";
    a.on_store(StoreReply::ChangesDraft {
        issue_id: 8,
        text: Some(draft.into()),
    });
    assert_eq!(body(&a), draft);
    // A draft that arrives after the user started typing replaces nothing.
    a.on_key(code(crossterm::event::KeyCode::Esc));
    a.on_key(key('R'));
    type_text(&mut a, "mine");
    a.on_store(StoreReply::ChangesDraft {
        issue_id: 8,
        text: Some(draft.into()),
    });
    assert_eq!(body(&a), "mine");
}
