use super::*;
use crossterm::event::{KeyEventKind, KeyEventState};

const SECRET: &str = "hunter2-zz";

fn need(name: &str, secret: bool, description: &str) -> Need {
    Need {
        name: name.into(),
        secret,
        description: description.into(),
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent {
        code,
        modifiers: KeyModifiers::NONE,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    }
}

fn typed(form: &mut AnswerForm, text: &str) {
    for c in text.chars() {
        assert_eq!(form.on_key(None, key(KeyCode::Char(c))), FormStep::Typed);
    }
}

fn form() -> AnswerForm {
    AnswerForm::new(
        7,
        100,
        &[
            need("DB_URL", false, "the staging URL"),
            need("DB_PASS", true, "its password"),
            need("REGION", false, ""),
        ],
    )
}

#[test]
fn a_secret_is_masked_and_kept_out_of_debug() {
    let mut f = form();
    f.on_key(Some(Action::NextField), key(KeyCode::Tab));
    typed(&mut f, SECRET);
    let (shown, cursor) = f.fields()[1].shown();
    assert_eq!(shown, "•".repeat(SECRET.len()));
    assert_eq!(cursor, SECRET.len());
    assert!(!format!("{f:?}").contains(SECRET));
    let long = "x".repeat(40);
    typed(&mut f, &long);
    assert_eq!(
        f.fields()[1].shown().0.chars().count(),
        MASK_MAX,
        "a long secret's length is not drawn"
    );
    f.on_key(Some(Action::PrevField), key(KeyCode::BackTab));
    typed(&mut f, "pg://x");
    assert_eq!(f.fields()[0].shown().0, "pg://x", "ordinary values show");
    f.on_key(Some(Action::NextField), key(KeyCode::Tab));
    f.on_key(Some(Action::NextField), key(KeyCode::Tab));
    typed(&mut f, "eu");
    let answers = f.submit().expect("complete");
    assert!(f.is_pending());
    assert_eq!(answers.0[1].1, format!("{SECRET}{long}"));
    let debug = format!("{answers:?}");
    assert_eq!(debug, r#"["DB_URL", "DB_PASS", "REGION"]"#);
}

#[test]
fn tab_and_shift_tab_cycle_and_enter_moves_on_then_sends() {
    let mut f = form();
    assert_eq!(f.focus(), 0);
    f.on_key(Some(Action::PrevField), key(KeyCode::BackTab));
    assert_eq!(f.focus(), 2, "shift-tab from the first wraps to the last");
    f.on_key(Some(Action::NextField), key(KeyCode::Tab));
    assert_eq!(f.focus(), 0, "tab from the last wraps to the first");
    assert_eq!(f.on_key(None, key(KeyCode::Enter)), FormStep::Typed);
    assert_eq!(f.focus(), 1);
    assert_eq!(f.on_key(None, key(KeyCode::Enter)), FormStep::Typed);
    assert_eq!(f.on_key(None, key(KeyCode::Enter)), FormStep::Send);
    assert_eq!(
        f.on_key(Some(Action::Save), key(KeyCode::Char('s'))),
        FormStep::Send
    );
    assert_eq!(
        f.on_key(Some(Action::Close), key(KeyCode::Esc)),
        FormStep::Cancel
    );
}

#[test]
fn an_empty_field_is_named_and_focused_and_a_refusal_keeps_the_values() {
    let mut f = form();
    typed(&mut f, "pg://x");
    assert!(f.submit().is_none());
    assert_eq!(f.focus(), 1);
    assert!(
        f.error().is_some_and(|e| e.contains("DB_PASS")),
        "{:?}",
        f.error()
    );
    typed(&mut f, SECRET);
    assert!(f.error().is_none(), "typing clears the message");
    f.on_key(None, key(KeyCode::Enter));
    typed(&mut f, "eu");
    assert!(f.submit().is_some());
    assert!(f.submit().is_none(), "sent once while pending");
    f.refused("issue #7 is ready, not blocked\x1b[31m".into());
    assert!(!f.is_pending());
    assert!(f
        .error()
        .is_some_and(|e| e.contains("not blocked") && !e.contains('\x1b')));
    assert_eq!(f.fields()[0].shown().0, "pg://x", "what was typed stays");
    assert!(f.submit().is_some(), "and can be sent again");
}

#[test]
fn editing_keys_move_and_delete_by_character() {
    let mut f = AnswerForm::new(1, 1, &[need("A", false, "")]);
    typed(&mut f, "héllo");
    f.on_key(None, key(KeyCode::Home));
    f.on_key(None, key(KeyCode::Delete));
    f.on_key(None, key(KeyCode::End));
    f.on_key(None, key(KeyCode::Left));
    f.on_key(None, key(KeyCode::Backspace));
    assert_eq!(f.fields()[0].shown(), ("élo".to_string(), 2));
    let mut ctrl_u = key(KeyCode::Char('u'));
    ctrl_u.modifiers = KeyModifiers::CONTROL;
    f.on_key(None, ctrl_u);
    assert!(f.fields()[0].is_empty());
    f.on_key(None, key(KeyCode::Char('\x1b')));
    assert!(f.fields()[0].is_empty(), "a control character is not typed");
}

#[test]
fn hostile_names_and_descriptions_become_one_printable_line() {
    let f = AnswerForm::new(
        1,
        1,
        &[need(
            "TOKEN",
            true,
            "evil \x1b]0;owned\x07 \x1b[2J\u{202e}desc\nsecond line",
        )],
    );
    let d = f.fields()[0].description();
    assert!(
        !d.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{d:?}"
    );
    assert!(d.contains("evil") && d.contains("desc") && d.contains("second line"));
}
