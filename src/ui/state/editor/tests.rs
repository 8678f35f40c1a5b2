//! The editor's fields, validation and the requests it saves as.

use super::*;
use crossterm::event::KeyModifiers;

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn a_comment_needs_text_and_says_how_to_cancel() {
    let km = Keymap::default();
    let mut ed = Editor::new(EditorPurpose::Comment(3));
    assert_eq!(ed.field(), Field::Body);
    assert!(ed.submit(&km).is_none());
    assert_eq!(ed.error(), Some("write something first (esc cancels)"));
    ed.on_key(None, key('o'));
    assert_eq!(ed.error(), None);
    assert_eq!(
        ed.on_key(Some(Action::NextField), KeyEvent::from(KeyCode::Tab)),
        EditorStep::Typed
    );
    assert_eq!(ed.field(), Field::Body, "a comment has one field");
    assert!(matches!(ed.submit(&km), Some(StoreRequest::Comment(3, b)) if b == "o"));
    assert_eq!(ed.hints(&km).len(), 2);
}

#[test]
fn a_prefilled_editor_types_after_the_text_and_a_late_draft_never_replaces_typing() {
    let km = Keymap::default();
    let mut ed = Editor::prefilled(EditorPurpose::Comment(2), "> a.rs:3 `x`\n\n");
    ed.on_key(None, key('k'));
    assert!(
        matches!(ed.submit(&km), Some(StoreRequest::Comment(2, b)) if b == "> a.rs:3 `x`\n\nk")
    );
    assert!(!ed.fill_if_empty("draft"));
    let mut ed = Editor::new(EditorPurpose::RequestChanges(2));
    assert!(ed.fill_if_empty("draft"));
    assert!(matches!(ed.submit(&km), Some(StoreRequest::RequestChanges(2, b)) if b == "draft"));
}

#[test]
fn the_kind_and_priority_fields_take_their_own_keys() {
    let mut ed = Editor::new(EditorPurpose::New);
    assert_eq!(ed.hints(&Keymap::default()).len(), 3);
    // back from the title: repeat, start, template, agent, depends on, budget, effort, model,
    // priority
    for _ in 0..9 {
        ed.on_key(Some(Action::PrevField), KeyEvent::from(KeyCode::BackTab));
    }
    assert_eq!(ed.field(), Field::Priority);
    for c in ['4', '2'] {
        ed.on_key(None, key(c));
    }
    ed.on_key(None, KeyEvent::from(KeyCode::Backspace));
    ed.on_key(None, key('+'));
    assert_eq!(ed.priority(), 5);
    ed.on_key(Some(Action::PrevField), KeyEvent::from(KeyCode::BackTab));
    ed.on_key(None, key('b'));
    assert_eq!(ed.kind(), Kind::Bug);
    ed.on_key(None, key('l'));
    assert_ne!(ed.kind(), Kind::Bug);
    assert_eq!(
        ed.on_key(Some(Action::Close), KeyEvent::from(KeyCode::Esc)),
        EditorStep::Cancel
    );
}

#[test]
fn the_model_and_effort_fields_fill_from_the_issue_and_save_or_clear() {
    let km = Keymap::default();
    let mut ed = Editor::new(EditorPurpose::New);
    ed.on_key(None, key('t'));
    for _ in 0..4 {
        ed.on_key(Some(Action::NextField), KeyEvent::from(KeyCode::Tab));
    }
    assert_eq!(ed.field(), Field::Model);
    for c in "haiku".chars() {
        ed.on_key(None, key(c));
    }
    ed.on_key(None, KeyEvent::from(KeyCode::Enter));
    assert_eq!(ed.field(), Field::Effort, "enter leaves the one-line model");
    ed.on_key(None, key('l'));
    ed.on_key(None, key('l'));
    assert_eq!(ed.effort(), Some(Effort::Medium));
    let Some(StoreRequest::Create(new)) = ed.submit(&km) else {
        panic!("a new issue")
    };
    assert_eq!(
        (new.model.as_deref(), new.effort),
        (Some("haiku"), Some(Effort::Medium))
    );

    let issue = Issue {
        model: Some("opus".into()),
        effort: Some(Effort::Low),
        ..Issue::sample(4, "t", Kind::Bug, crate::domain::Status::Ready)
    };
    let mut ed = Editor::editing(&issue);
    assert_eq!(
        (ed.model().lines().join(""), ed.effort()),
        ("opus".into(), Some(Effort::Low))
    );
    ed.field = Field::Model;
    for _ in 0..5 {
        ed.on_key(None, KeyEvent::from(KeyCode::Backspace));
    }
    ed.field = Field::Effort;
    ed.on_key(None, key('h'));
    assert_eq!(ed.effort(), None, "before low is the configured default");
    let Some(StoreRequest::Update(_, edit)) = ed.submit(&km) else {
        panic!("an edit")
    };
    assert_eq!((edit.model, edit.effort), (Some(None), Some(None)));
}

mod deps_tests {
    use super::super::*;

    #[test]
    fn dependency_ids_are_read_leniently_and_bad_ones_named() {
        let edit = EditorPurpose::Edit(4);
        assert_eq!(dep_ids("3, #7 3", edit), Ok(vec![3, 7]));
        assert_eq!(dep_ids("  ", edit), Ok(vec![]));
        assert!(dep_ids("3, x", edit)
            .unwrap_err()
            .contains("\"x\" is not an issue id"));
        assert!(dep_ids("0", edit).is_err());
        assert!(dep_ids("4", edit)
            .unwrap_err()
            .contains("cannot depend on itself"));
        assert_eq!(dep_ids("4", EditorPurpose::New), Ok(vec![4]));
    }

    #[test]
    fn unchanged_dependencies_save_as_a_plain_update() {
        let issue = crate::domain::Issue::sample(4, "t", Kind::Bug, crate::domain::Status::Ready);
        let mut ed = Editor::editing(&issue).with_dependencies(&[3]);
        assert!(matches!(
            ed.submit(&Keymap::default()),
            Some(StoreRequest::Update(4, _))
        ));
        assert!(!ed.is_pending());
    }
}

#[test]
fn the_agent_field_picks_an_agent_and_default_clears_it() {
    let km = Keymap::default();
    let mut ed = Editor::new(EditorPurpose::New);
    ed.on_key(None, key('t'));
    for _ in 0..4 {
        ed.on_key(Some(Action::PrevField), KeyEvent::from(KeyCode::BackTab));
    }
    assert_eq!(
        ed.field(),
        Field::Agent,
        "before the template and the schedule, the last fields"
    );
    ed.on_key(None, key('l'));
    ed.on_key(None, key('l'));
    assert_eq!(ed.agent(), Some(AgentKind::Codex));
    let Some(StoreRequest::Create(new)) = ed.submit(&km) else {
        panic!("a new issue")
    };
    assert_eq!(new.agent, Some(AgentKind::Codex));

    let issue = Issue {
        agent: Some(AgentKind::Command),
        ..Issue::sample(4, "t", Kind::Bug, crate::domain::Status::Ready)
    };
    let mut ed = Editor::editing(&issue);
    assert_eq!(ed.agent(), Some(AgentKind::Command));
    ed.field = Field::Agent;
    ed.on_key(None, key('l'));
    assert_eq!(
        ed.agent(),
        None,
        "after the last agent comes the configured one"
    );
    let Some(StoreRequest::Update(_, edit)) = ed.submit(&km) else {
        panic!("an edit")
    };
    assert_eq!(edit.agent, Some(None));
}

#[test]
fn the_template_field_cycles_none_and_the_known_templates_and_keeps_a_missing_own_one() {
    let km = Keymap::default();
    let names = vec!["bugfix".to_string(), "docs".to_string()];
    let mut ed = Editor::new(EditorPurpose::New).with_templates(&names);
    ed.on_key(None, key('t'));
    for _ in 0..3 {
        ed.on_key(Some(Action::PrevField), KeyEvent::from(KeyCode::BackTab));
    }
    assert_eq!(
        ed.field(),
        Field::Template,
        "before the schedule, the last fields"
    );
    assert_eq!(ed.template(), None);
    ed.on_key(None, key('l'));
    ed.on_key(None, key('l'));
    assert_eq!(ed.template(), Some("docs"));
    let Some(StoreRequest::Create(new)) = ed.submit(&km) else {
        panic!("a new issue")
    };
    assert_eq!(new.template.as_deref(), Some("docs"));

    // An issue whose template file is gone keeps it as a choice: saving changes nothing.
    let issue = Issue {
        template: Some("gone".into()),
        ..Issue::sample(4, "t", Kind::Bug, crate::domain::Status::Ready)
    };
    let mut ed = Editor::editing(&issue).with_templates(&names);
    let shown: Vec<Option<&str>> = ed.template_choices().collect();
    assert_eq!(shown, [None, Some("bugfix"), Some("docs"), Some("gone")]);
    let Some(StoreRequest::Update(_, edit)) = ed.clone().submit(&km) else {
        panic!("an edit")
    };
    assert_eq!(edit.template, Some(Some("gone".into())));
    ed.field = Field::Template;
    ed.on_key(None, key('l'));
    assert_eq!(ed.template(), None, "after the last template comes none");
    let Some(StoreRequest::Update(_, edit)) = ed.submit(&km) else {
        panic!("an edit")
    };
    assert_eq!(edit.template, Some(None));
}

fn typed(ed: &mut Editor, text: &str) {
    for c in text.chars() {
        ed.on_key(None, key(c));
    }
}

#[test]
fn the_schedule_fields_read_as_add_at_and_every_and_refuse_bad_input_keeping_it() {
    let km = Keymap::default();
    let mut ed = Editor::new(EditorPurpose::New);
    typed(&mut ed, "Nightly");
    ed.on_key(Some(Action::PrevField), KeyEvent::from(KeyCode::BackTab));
    assert_eq!(ed.field(), Field::Every, "the last field, before the title");
    typed(&mut ed, "daily");
    ed.on_key(Some(Action::PrevField), KeyEvent::from(KeyCode::BackTab));
    assert_eq!(ed.field(), Field::At);
    typed(&mut ed, "tomorrow");
    assert!(ed.submit(&km).is_none());
    assert_eq!(
        (ed.error(), ed.field()),
        (
            Some("start: \"tomorrow\" is not a time (+30m, +2h, +1d, 2026-12-24T09:00:00Z)"),
            Field::At
        )
    );
    assert_eq!(ed.at().lines(), ["tomorrow"], "nothing typed is lost");
    assert_eq!(ed.title().lines(), ["Nightly"]);
    for _ in 0.."tomorrow".len() {
        ed.on_key(None, KeyEvent::from(KeyCode::Backspace));
    }
    typed(&mut ed, "+2h");
    assert!(ed.submit(&km).is_none());
    assert_eq!(
        (ed.error(), ed.field()),
        (
            Some("repeat: \"daily\" is not a duration (30m, 12h, 1d, 1w)"),
            Field::Every
        )
    );
    assert_eq!(ed.every().lines(), ["daily"]);
    for _ in 0.."daily".len() {
        ed.on_key(None, KeyEvent::from(KeyCode::Backspace));
    }
    typed(&mut ed, "0m");
    ed.submit(&km);
    assert_eq!(ed.error(), Some("repeat: \"0m\" is too short: at least 1m"));
    ed.on_key(None, KeyEvent::from(KeyCode::Backspace));
    ed.on_key(None, KeyEvent::from(KeyCode::Backspace));
    typed(&mut ed, "1d");
    let before = crate::domain::now_millis();
    let Some(StoreRequest::Create(new)) = ed.submit(&km) else {
        panic!("a new issue: {:?}", ed.error())
    };
    let at = new.not_before.unwrap_or_default() - before;
    assert!((7_200_000..7_260_000).contains(&at), "{at}");
    assert_eq!(new.every_ms, Some(86_400_000));

    // Editing: the schedule shows as `show --json` prints it; unchanged, saving leaves it.
    let issue = Issue {
        not_before: Some(1_900_000_000_000),
        every_ms: Some(3 * 3_600_000),
        ..Issue::sample(4, "t", Kind::Bug, crate::domain::Status::Ready)
    };
    let mut ed = Editor::editing(&issue);
    assert_eq!(ed.at().lines(), ["2030-03-17T17:46:40.000Z"]);
    assert_eq!(ed.every().lines(), ["3h"]);
    let Some(StoreRequest::Update(_, edit)) = ed.clone().submit(&km) else {
        panic!("an edit")
    };
    assert_eq!((edit.not_before, edit.every_ms), (None, None));
    ed.field = Field::At;
    for _ in 0..30 {
        ed.on_key(None, KeyEvent::from(KeyCode::Backspace));
    }
    ed.field = Field::Every;
    ed.on_key(None, KeyEvent::from(KeyCode::Backspace));
    typed(&mut ed, "0h");
    let Some(StoreRequest::Update(_, edit)) = ed.submit(&km) else {
        panic!("an edit: {:?}", ed.error())
    };
    assert_eq!(edit.not_before, Some(None), "emptied: any time");
    assert_eq!(edit.every_ms, Some(Some(30 * 3_600_000)));
}
