//! Subtasks: parents that exist, are not done and never go in a circle; parents not claimed
//! while children are open; the parent's move and comment when its last child is done.

use super::*;
use crate::domain::{AuthorKind, Status};

fn store() -> (tempfile::TempDir, Store) {
    crate::store::test_db::temp_store()
}

fn add(store: &mut Store, title: &str, parent: Option<i64>) -> Result<i64> {
    let new = NewIssue {
        title: title.into(),
        parent,
        ..NewIssue::default()
    };
    store.create_issue(&new, "me").map(|i| i.id)
}

fn count(store: &Store) -> usize {
    store.list_issues(None).unwrap().len()
}

/// Takes a backlog issue through a claim and review to done, the agent leaving `summary`.
fn finish(store: &mut Store, id: i64, summary: &str) {
    store
        .move_issue(id, Status::Ready, Actor::Human, "me")
        .unwrap();
    let claimed = store.claim_next("a-1", 60_000).unwrap().unwrap();
    assert_eq!(claimed.id, id);
    store
        .add_comment(id, "a-1", AuthorKind::Agent, summary)
        .unwrap();
    store
        .move_issue(id, Status::InReview, Actor::Agent, "a-1")
        .unwrap();
    store
        .move_issue(id, Status::Done, Actor::Human, "me")
        .unwrap();
}

fn parent_edit(parent: Option<i64>) -> IssueEdit {
    IssueEdit {
        parent: Some(parent),
        ..IssueEdit::default()
    }
}

#[test]
fn children_are_listed_and_bad_parents_are_refused_storing_nothing() {
    let (_dir, mut store) = store();
    let p = add(&mut store, "parent", None).unwrap();
    let a = add(&mut store, "a", Some(p)).unwrap();
    let b = add(&mut store, "b", Some(a)).unwrap();
    assert_eq!(store.issue(a).unwrap().parent, Some(p));
    let kids: Vec<i64> = store.children(p).unwrap().iter().map(|c| c.id).collect();
    assert_eq!(kids, vec![a]);
    assert_eq!(store.issue_detail(p).unwrap().children[0].title, "a");

    let err = add(&mut store, "orphan", Some(99)).unwrap_err().to_string();
    assert!(
        err.contains("no issue #99") && err.contains("nothing was added"),
        "{err}"
    );
    let done = add(&mut store, "done", None).unwrap();
    store
        .move_issue(done, Status::Ready, Actor::Human, "me")
        .unwrap();
    store.claim_next("a-1", 60_000).unwrap().unwrap();
    store
        .move_issue(done, Status::InReview, Actor::Agent, "a-1")
        .unwrap();
    store
        .move_issue(done, Status::Done, Actor::Human, "me")
        .unwrap();
    let err = add(&mut store, "late", Some(done)).unwrap_err().to_string();
    assert!(err.contains("is done"), "{err}");
    assert_eq!(count(&store), 4);

    let err = store
        .update_issue(p, &parent_edit(Some(p)), "me")
        .unwrap_err();
    assert!(err.to_string().contains("its own parent"), "{err}");
    // p → a → b: b cannot become p's parent.
    let err = store
        .update_issue(p, &parent_edit(Some(b)), "me")
        .unwrap_err();
    let err = err.to_string();
    assert!(err.contains(&format!("#{p} → #{a} → #{b}")), "{err}");
    assert!(
        err.contains("circle") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(store.issue(p).unwrap().parent, None);

    let moved = store.update_issue(b, &parent_edit(Some(p)), "me").unwrap();
    assert_eq!(moved.parent, Some(p));
    let cleared = store.update_issue(b, &parent_edit(None), "me").unwrap();
    assert_eq!(cleared.parent, None);
}

#[test]
fn a_parent_with_open_children_is_not_claimed() {
    let (_dir, mut store) = store();
    let p = add(&mut store, "parent", None).unwrap();
    let c = add(&mut store, "child", Some(p)).unwrap();
    store
        .move_issue(p, Status::Ready, Actor::Human, "me")
        .unwrap();
    assert!(store.claim_next("a-1", 60_000).unwrap().is_none());
    store
        .move_issue(c, Status::Ready, Actor::Human, "me")
        .unwrap();
    assert_eq!(store.claim_next("a-1", 60_000).unwrap().unwrap().id, c);
    assert!(store.claim_next("a-2", 60_000).unwrap().is_none());
}

#[test]
fn the_last_child_done_moves_a_parent_with_a_branch_to_review_with_a_comment() {
    let (_dir, mut store) = store();
    let p = add(&mut store, "parent", None).unwrap();
    store
        .set_workspace(p, "autopilot/1", "/tmp/wt", "main")
        .unwrap();
    let a = add(&mut store, "first part", Some(p)).unwrap();
    let b = add(&mut store, "second part", Some(p)).unwrap();
    finish(&mut store, a, "Added the parser.\nMore words.");
    assert_eq!(store.issue(p).unwrap().status, Status::Backlog);
    finish(&mut store, b, "Wired it in.");
    assert_eq!(store.issue(p).unwrap().status, Status::InReview);
    let note = store.last_comment(p, AuthorKind::System).unwrap().unwrap();
    assert_eq!(
        note.body,
        format!(
            "All 2 subtasks are done. It moves to in_review: its own branch `autopilot/1` waits for a person.\n\
             - #{a} first part [done]: Added the parser.\n\
             - #{b} second part [done]: Wired it in."
        )
    );
}

#[test]
fn without_a_branch_the_parent_is_done_and_so_may_be_its_own_parent() {
    let (_dir, mut store) = store();
    let top = add(&mut store, "top", None).unwrap();
    let mid = add(&mut store, "mid", Some(top)).unwrap();
    let leaf = add(&mut store, "leaf", Some(mid)).unwrap();
    finish(&mut store, leaf, "Done it.");
    assert_eq!(store.issue(mid).unwrap().status, Status::Done);
    assert_eq!(store.issue(top).unwrap().status, Status::Done);
    let note = store
        .last_comment(top, AuthorKind::System)
        .unwrap()
        .unwrap();
    assert!(
        note.body
            .starts_with("All 1 subtasks are done. It moves to done"),
        "{}",
        note.body
    );
    assert!(
        note.body.contains(&format!("#{mid} mid [done]")),
        "{}",
        note.body
    );
}

#[test]
fn a_parent_at_work_or_in_review_is_left_where_it_is() {
    let (_dir, mut store) = store();
    let p = add(&mut store, "parent", None).unwrap();
    store
        .move_issue(p, Status::Ready, Actor::Human, "me")
        .unwrap();
    store.claim_next("a-1", 60_000).unwrap().unwrap();
    // Split while its agent works on it: the agent's claim stands.
    let c = add(&mut store, "child", Some(p)).unwrap();
    store
        .move_issue(c, Status::Ready, Actor::Human, "me")
        .unwrap();
    assert_eq!(store.claim_next("a-2", 60_000).unwrap().unwrap().id, c);
    store
        .move_issue(c, Status::InReview, Actor::Agent, "a-2")
        .unwrap();
    store
        .move_issue(c, Status::Done, Actor::Human, "me")
        .unwrap();
    let parent = store.issue(p).unwrap();
    assert_eq!(parent.status, Status::InProgress);
    assert!(store.last_comment(p, AuthorKind::System).unwrap().is_none());
}

#[test]
fn progress_counts_done_children_for_many_parents_at_once() {
    let (_dir, mut store) = store();
    let p = add(&mut store, "p", None).unwrap();
    let q = add(&mut store, "q", None).unwrap();
    let lone = add(&mut store, "lone", None).unwrap();
    let a = add(&mut store, "a", Some(p)).unwrap();
    add(&mut store, "b", Some(p)).unwrap();
    add(&mut store, "c", Some(q)).unwrap();
    finish(&mut store, a, "ok");
    let progress = store.subtask_progress(&[p, q, lone]).unwrap();
    assert_eq!(progress.get(&p), Some(&(1, 2)));
    assert_eq!(progress.get(&q), Some(&(0, 1)));
    assert_eq!(progress.get(&lone), None);
}
