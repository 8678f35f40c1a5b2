//! The inbox's answer form drawn into ratatui's TestBackend: the fields of a structured
//! question, a masked secret, the store's refusal inline, and the request it sends.

#![allow(clippy::unwrap_used)]

mod tui_support;

use autopilot_tui::domain::needs::Need;
use autopilot_tui::domain::{Kind, Status};
use autopilot_tui::ui::app::{update, App, Effect};
use autopilot_tui::ui::keymap::Action;
use autopilot_tui::ui::store_thread::{StoreReply, StoreRequest};
use crossterm::event::KeyCode;
use tui_support::*;

const SECRET: &str = "s3cr3t-PASS";

fn needs() -> Vec<Need> {
    vec![
        Need {
            name: "DB_URL".into(),
            secret: false,
            description: "the staging database URL".into(),
        },
        Need {
            name: "DB_PASS".into(),
            secret: true,
            description: "its password \x1b[31mred\x1b]0;title\x07\u{202e}".into(),
        },
    ]
}

/// The inbox open on #7, whose question asks for `needs()`, with the form open.
fn answering() -> App {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    let mut inbox = sample_inbox();
    inbox[0].needs = needs();
    a.on_store(StoreReply::Inbox(inbox));
    update(&mut a, Action::Inbox);
    update(&mut a, Action::Reply);
    a
}

fn screen(a: &App) -> String {
    render(a).backend().to_string()
}

#[test]
fn inbox_answer_form_80x24() {
    let mut a = answering();
    type_text(&mut a, "pg://staging/app");
    a.on_key(code(KeyCode::Tab));
    type_text(&mut a, SECRET);
    let s = screen(&a);
    assert!(!s.contains(SECRET), "the secret is on screen:\n{s}");
    assert!(!s.contains('\x1b'));
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn sending_asks_the_store_once_and_a_refusal_shows_inline_keeping_the_values() {
    let mut a = answering();
    a.take_effects();
    type_text(&mut a, "pg://x");
    // Enter on the first field moves on; on the last it sends, and an empty one is named.
    a.on_key(code(KeyCode::Enter));
    a.on_key(code(KeyCode::Enter));
    assert!(a.take_effects().is_empty());
    assert!(screen(&a).contains("DB_PASS is empty"), "{}", screen(&a));
    type_text(&mut a, SECRET);
    a.on_key(code(KeyCode::Enter));
    let sent: Vec<_> = a
        .take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Store(StoreRequest::Answer(id, answers)) => Some((id, answers.0.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent,
        vec![(
            7,
            vec![
                ("DB_URL".to_string(), "pg://x".to_string()),
                ("DB_PASS".to_string(), SECRET.to_string())
            ]
        )]
    );
    a.on_store(StoreReply::Failed(
        "issue #7 is ready, not blocked: only a blocked issue's question can be answered".into(),
    ));
    let s = screen(&a);
    assert!(s.contains("not blocked"), "inline:\n{s}");
    assert!(s.contains("pg://x"), "kept:\n{s}");
    assert!(!s.contains(SECRET));
    // Esc closes it; opening it again finds what was typed.
    a.on_key(code(KeyCode::Esc));
    assert!(!screen(&a).contains("pg://x"));
    update(&mut a, Action::Reply);
    assert!(screen(&a).contains("pg://x"), "the draft came back");
    // Accepted: the form goes, and the toast names no value.
    a.on_key(ctrl('s'));
    let issue = issue(7, "Migrate sessions table", Status::Ready, Kind::Chore);
    a.on_store(StoreReply::Done {
        message: "#7 answered → ready".into(),
        issue: Some(Box::new(issue)),
    });
    let s = screen(&a);
    assert!(!s.contains("pg://x") && !s.contains("DB_PASS"), "{s}");
    assert!(s.contains("#7 answered"), "{s}");
}

#[test]
fn an_issue_without_fields_keeps_the_free_text_reply() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.on_store(StoreReply::Inbox(sample_inbox()));
    update(&mut a, Action::Inbox);
    update(&mut a, Action::Reply);
    assert!(a.editor().is_some());
    assert!(a.inbox().answering().is_none());
}
