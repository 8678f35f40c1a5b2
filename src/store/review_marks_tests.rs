//! The marks of review cards: how the latest change's checks and reviewer ended, read for a
//! whole board window in one query.

use super::*;
use crate::domain::{RunOutcome, RunRole};

fn issue(store: &mut Store, title: &str) -> i64 {
    let new = NewIssue {
        title: title.into(),
        ready: true,
        ..NewIssue::default()
    };
    store.create_issue(&new, "me").unwrap().id
}

/// One finished run of `role` on the claimed issue `id`.
fn run(store: &mut Store, id: i64, role: RunRole, outcome: RunOutcome) {
    let run = store.start_run_as(id, "a-1", 0, "host", role).unwrap();
    let end = RunEnd {
        outcome: Some(outcome),
        ..RunEnd::default()
    };
    store.finish_run(run, "a-1", &end).unwrap();
}

#[test]
fn marks_count_only_checks_and_reviews_since_the_last_implementing_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("autopilot.db")).unwrap();
    let (a, b, c) = (
        issue(&mut store, "a"),
        issue(&mut store, "b"),
        issue(&mut store, "c"),
    );
    for _ in 0..3 {
        store.claim_next("a-1", 60_000).unwrap().unwrap();
    }
    run(&mut store, a, RunRole::Implement, RunOutcome::Implemented);
    run(&mut store, a, RunRole::Check, RunOutcome::Passed);
    run(&mut store, a, RunRole::Review, RunOutcome::ChangesRequested);
    run(&mut store, a, RunRole::Implement, RunOutcome::Implemented);
    run(&mut store, a, RunRole::Check, RunOutcome::Failed);
    run(&mut store, a, RunRole::Check, RunOutcome::Passed);
    run(&mut store, a, RunRole::Review, RunOutcome::Approved);
    // b: reviewed once, then implemented again (a person asked for changes): nothing yet
    run(&mut store, b, RunRole::Implement, RunOutcome::Implemented);
    run(&mut store, b, RunRole::Review, RunOutcome::Approved);
    run(&mut store, b, RunRole::Implement, RunOutcome::Implemented);
    let marks = store.review_marks(&[a, b, c, 999]).unwrap();
    assert_eq!(
        marks.get(&a),
        Some(&ReviewMarks {
            checks: Some(RunOutcome::Passed),
            review: Some(RunOutcome::Approved),
        })
    );
    assert_eq!(marks.get(&b), None);
    assert_eq!(marks.len(), 1, "{marks:?}");
    assert!(store.review_marks(&[]).unwrap().is_empty());
}
