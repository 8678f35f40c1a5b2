//! The editor's spending cap field.

use super::*;

fn update(ed: &mut Editor) -> Option<IssueEdit> {
    match ed.submit(&Keymap::default()) {
        Some(StoreRequest::Update(_, edit)) => Some(edit),
        _ => None,
    }
}

#[test]
fn the_budget_field_edits_an_issue_cap_and_refuses_what_is_not_one() {
    let tab = || KeyEvent::from(KeyCode::Tab);
    let mut new = Editor::new(EditorPurpose::New);
    let mut visited = Vec::new();
    for _ in 0..12 {
        new.on_key(Some(Action::NextField), tab());
        visited.push(new.field());
    }
    assert!(
        visited.contains(&Field::Budget),
        "a new issue has a cap field"
    );
    assert_eq!(new.field(), Field::Title, "twelve fields, then round again");
    let mut comment = Editor::new(EditorPurpose::Comment(4));
    assert!(!comment.has_budget(), "a comment has no cap");
    comment.on_key(Some(Action::NextField), tab());
    assert_ne!(comment.field(), Field::Budget);

    let issue = Issue {
        budget_usd: Some(2.5),
        ..Issue::sample(4, "t", Kind::Bug, crate::domain::Status::Blocked)
    };
    let mut ed = Editor::editing(&issue);
    assert_eq!(ed.budget().lines().join(""), "2.50");
    for _ in 0..6 {
        ed.on_key(Some(Action::NextField), tab());
    }
    assert_eq!(ed.field(), Field::Budget);
    assert_eq!(update(&mut ed).map(|e| e.budget_usd), Some(Some(Some(2.5))));
    for c in "x".chars() {
        ed.on_key(None, KeyEvent::from(KeyCode::Char(c)));
    }
    ed.field = Field::Title;
    assert!(update(&mut ed).is_none());
    assert_eq!(
        (ed.error(), ed.field()),
        (
            Some("budget: a positive number of US dollars, like 5 or 2.50 (empty: none)"),
            Field::Budget
        )
    );
    for _ in 0..5 {
        ed.on_key(None, KeyEvent::from(KeyCode::Backspace));
    }
    assert_eq!(
        update(&mut ed).map(|e| e.budget_usd),
        Some(Some(None)),
        "empty clears it"
    );
    ed.on_key(None, KeyEvent::from(KeyCode::Char('7')));
    assert_eq!(update(&mut ed).map(|e| e.budget_usd), Some(Some(Some(7.0))));
}
