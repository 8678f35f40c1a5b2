//! The assignee: set on creation and by edits, one printable line, cleared by a blank, in the
//! `issue.updated` event.

use crate::domain::{EventKind, Kind};
use crate::store::{IssueEdit, NewIssue, Store, StoreError};

#[test]
fn an_assignee_is_one_clean_line_set_changed_and_cleared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("a.db")).expect("open");
    let new = NewIssue {
        title: "t".into(),
        kind: Kind::Bug,
        assignee: Some("  ana\n\x1b[31mred ".into()),
        ..NewIssue::default()
    };
    let issue = store.create_issue(&new, "tester").expect("add");
    assert_eq!(issue.assignee.as_deref(), Some("ana red"));

    let to = |a: &str| IssueEdit {
        assignee: Some(Some(a.into())),
        ..IssueEdit::default()
    };
    let after = store
        .update_issue(issue.id, &to("bo"), "tester")
        .expect("edit");
    assert_eq!(after.assignee.as_deref(), Some("bo"));
    let events = store.events_since(0, 100).expect("events");
    let last = &events.last().expect("an event").kind;
    assert!(
        matches!(last, EventKind::IssueUpdated(c) if c.assignee.as_deref() == Some("bo")),
        "{last:?}"
    );
    let cleared = store
        .update_issue(issue.id, &to("  "), "tester")
        .expect("clear");
    assert_eq!(cleared.assignee, None);
    let untouched = IssueEdit {
        title: Some("t2".into()),
        ..IssueEdit::default()
    };
    store
        .update_issue(issue.id, &to("cy"), "tester")
        .expect("edit");
    let kept = store
        .update_issue(issue.id, &untouched, "tester")
        .expect("edit");
    assert_eq!(
        kept.assignee.as_deref(),
        Some("cy"),
        "an edit without it keeps it"
    );

    let long = store.update_issue(issue.id, &to(&"x".repeat(201)), "tester");
    assert!(matches!(long, Err(StoreError::Invalid(_))), "{long:?}");
}
