use rusqlite::Connection;

use super::super::sql::{vals, Exec};
use super::super::{schema, NewIssue, Store, StoreError, SCHEMA_VERSION};
use crate::domain::{Actor, AuthorKind, EventKind, Status};

fn temp_store() -> (tempfile::TempDir, Store) {
    crate::store::test_db::temp_store()
}

fn add(store: &mut Store, title: &str, depends_on: Vec<i64>) -> i64 {
    let new = NewIssue {
        title: title.into(),
        depends_on,
        ..NewIssue::default()
    };
    store.create_issue(&new, "t").expect("create").id
}

/// An issue taken through a run to done.
fn done(store: &mut Store, title: &str) -> i64 {
    let id = add(store, title, vec![]);
    store
        .move_issue(id, Status::Ready, Actor::Human, "me")
        .expect("ready");
    let claimed = store
        .claim_next("a-1", 60_000)
        .expect("claim")
        .expect("one");
    assert_eq!(claimed.id, id);
    store
        .move_issue(id, Status::InReview, Actor::Agent, "a-1")
        .expect("review");
    store
        .move_issue(id, Status::Done, Actor::Human, "me")
        .expect("done");
    id
}

fn refusal<T: std::fmt::Debug>(r: super::super::Result<T>) -> String {
    match r {
        Err(StoreError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The table's rows, to show a refusal changed nothing.
fn snapshot(store: &Store) -> (i64, i64, i64, i64) {
    store
        .db()
        .query_row(
            "SELECT (SELECT count(*) FROM issues), (SELECT count(*) FROM comments),
                    (SELECT count(*) FROM issue_deps), (SELECT count(*) FROM events)",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("snapshot")
}

#[test]
fn archiving_takes_a_done_issue_off_the_board_and_keeps_it_by_id() {
    let (_d, mut store) = temp_store();
    let kept = done(&mut store, "kept on the board");
    let gone = done(&mut store, "put away");
    store
        .add_comment(gone, "me", AuthorKind::Human, "shipped")
        .expect("comment");
    assert_eq!(store.status_counts("").unwrap().get(Status::Done), 2);

    assert!(store.archive_issue(gone, "me").expect("archive"));
    assert!(
        !store.archive_issue(gone, "me").expect("again"),
        "idempotent"
    );

    let counts = store.status_counts("").unwrap();
    assert_eq!(counts.get(Status::Done), 1, "the trigger-kept count");
    assert_eq!(store.status_counts("put").unwrap().get(Status::Done), 0);
    let ids = |v: Vec<crate::domain::Issue>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_issues(None).unwrap()), [kept]);
    assert_eq!(ids(store.list_issues(Some(Status::Done)).unwrap()), [kept]);
    assert_eq!(
        ids(store.issues_page(Status::Done, "", 0, 10).unwrap()),
        [kept]
    );
    assert_eq!(ids(store.list_archived().unwrap()), [gone]);

    let detail = store.issue_detail(gone).expect("still there by id");
    assert!(detail.issue.archived_at.is_some());
    assert_eq!(detail.comments.len(), 1);
    assert_eq!(detail.runs.len(), 0);
    let json = serde_json::to_value(&detail).unwrap();
    assert_eq!(json["archived"], true);

    // an archived issue does not move (it would reappear in a column it is not counted in)
    let before = snapshot(&store);
    let why = refusal(store.move_issue(gone, Status::Backlog, Actor::Human, "me"));
    assert!(why.contains("unarchive"), "{why}");
    assert_eq!(snapshot(&store), before);

    let events = store.events_since(0, 1000).unwrap();
    assert!(events
        .iter()
        .any(|e| e.issue_id == Some(gone) && e.kind == EventKind::IssueArchived {}));

    assert!(store.unarchive_issue(gone, "me").expect("unarchive"));
    assert!(!store.unarchive_issue(gone, "me").expect("again"));
    assert_eq!(store.status_counts("").unwrap().get(Status::Done), 2);
    assert_eq!(store.list_issues(Some(Status::Done)).unwrap().len(), 2);
    assert!(store.list_archived().unwrap().is_empty());
    // back on the board, it moves again
    store
        .move_issue(gone, Status::Backlog, Actor::Human, "me")
        .expect("reopen");
    assert_eq!(store.status_counts("").unwrap().get(Status::Done), 1);
    assert_eq!(store.status_counts("").unwrap().get(Status::Backlog), 1);
}

#[test]
fn only_done_issues_are_archived() {
    let (_d, mut store) = temp_store();
    let open = add(&mut store, "open", vec![]);
    let before = snapshot(&store);
    let why = refusal(store.archive_issue(open, "me"));
    assert!(why.contains("is backlog, not done"), "{why}");
    assert!(why.contains("nothing was changed"), "{why}");
    assert_eq!(snapshot(&store), before);
    assert!(matches!(
        store.archive_issue(99, "me"),
        Err(StoreError::IssueNotFound(99))
    ));
}

#[test]
fn a_backlog_issue_that_never_ran_is_deleted_with_its_thread_and_the_event_stays() {
    let (_d, mut store) = temp_store();
    let other = add(&mut store, "other", vec![]);
    let id = add(&mut store, "typo", vec![other]);
    store
        .add_comment(id, "me", AuthorKind::Human, "oops")
        .expect("comment");
    assert_eq!(store.status_counts("").unwrap().get(Status::Backlog), 2);

    let gone = store.delete_issue(id, "me").expect("delete");
    assert_eq!(gone.title, "typo");
    assert!(matches!(store.issue(id), Err(StoreError::IssueNotFound(_))));
    let (issues, comments, deps, _) = snapshot(&store);
    assert_eq!(
        (issues, comments, deps),
        (1, 0, 0),
        "comments and edges cascade"
    );
    assert_eq!(store.status_counts("").unwrap().get(Status::Backlog), 1);
    let events = store.events_since(0, 1000).unwrap();
    let last = events.last().expect("an event");
    assert_eq!(last.issue_id, Some(id));
    assert_eq!(
        last.kind,
        EventKind::IssueDeleted {
            title: "typo".into()
        }
    );
    // the issue's earlier events stay too: the history is the event log
    assert!(events.iter().filter(|e| e.issue_id == Some(id)).count() >= 3);
}

#[test]
fn delete_refuses_what_ran_what_is_not_backlog_and_what_others_wait_on() {
    let (_d, mut store) = temp_store();
    let shipped = done(&mut store, "shipped");
    let why = refusal(store.delete_issue(shipped, "me"));
    assert!(why.contains("archive it instead"), "{why}");

    let ready = add(&mut store, "ready", vec![]);
    store
        .move_issue(ready, Status::Ready, Actor::Human, "me")
        .unwrap();
    let why = refusal(store.delete_issue(ready, "me"));
    assert!(why.contains("it is ready"), "{why}");

    // claimed once, then handed back and sent to backlog: it has history
    let claimed = store.claim_next("a-1", 60_000).unwrap().unwrap().id;
    assert_eq!(claimed, ready);
    store
        .move_issue(ready, Status::Blocked, Actor::Agent, "a-1")
        .unwrap();
    store
        .move_issue(ready, Status::Backlog, Actor::Human, "me")
        .unwrap();
    let why = refusal(store.delete_issue(ready, "me"));
    assert!(why.contains("it has run"), "{why}");

    // a run row alone (the claim's event lost) is enough
    let ran = add(&mut store, "ran", vec![]);
    store
        .db()
        .execute(
            "INSERT INTO runs (issue_id, agent_id, slot, started_at) VALUES (?1, 'a', 0, 1)",
            vals![ran],
        )
        .unwrap();
    let why = refusal(store.delete_issue(ran, "me"));
    assert!(why.contains("it has run"), "{why}");

    let parent = add(&mut store, "parent", vec![]);
    let child = store
        .create_issue(
            &NewIssue {
                title: "child".into(),
                parent: Some(parent),
                ..NewIssue::default()
            },
            "me",
        )
        .unwrap()
        .id;
    let why = refusal(store.delete_issue(parent, "me"));
    assert!(why.contains(&format!("its subtasks #{child}")), "{why}");
    assert!(
        why.contains(&format!("edit {child} --parent none")),
        "{why}"
    );

    let base = add(&mut store, "base", vec![]);
    let w1 = add(&mut store, "w1", vec![base]);
    let w2 = add(&mut store, "w2", vec![base]);
    let before = snapshot(&store);
    let why = refusal(store.delete_issue(base, "me"));
    assert!(why.contains(&format!("#{w1}, #{w2} wait on it")), "{why}");
    assert!(why.contains(&format!("undepend {w1} --on {base}")), "{why}");
    assert!(why.contains("nothing was deleted"), "{why}");
    assert_eq!(snapshot(&store), before, "every refusal changes nothing");
    assert!(matches!(
        store.delete_issue(999, "me"),
        Err(StoreError::IssueNotFound(999))
    ));
}

#[test]
fn the_archive_migration_keeps_the_counts_of_an_older_database() {
    let added = schema::MIGRATIONS
        .iter()
        .position(|m| m.contains("archived_at"))
        .expect("the archive migration");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &schema::MIGRATIONS[..added] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", added as i64)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO issues (id, title, kind, status, created_at, updated_at) VALUES
                 (1, 'a', 'bug', 'done', 1, 1), (2, 'b', 'bug', 'done', 1, 1),
                 (3, 'c', 'bug', 'backlog', 1, 1);",
        )
        .unwrap();
    }
    // An SQLite file from before the migration: this test is about SQLite's upgrade path.
    let mut store = Store::open(&path).expect("upgrade");
    let version: i64 = store
        .db()
        .query_row("PRAGMA user_version", &[], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let counts = store.status_counts("").unwrap();
    assert_eq!(
        (counts.get(Status::Done), counts.get(Status::Backlog)),
        (2, 1)
    );
    assert!(store.archive_issue(1, "me").unwrap());
    assert_eq!(store.status_counts("").unwrap().get(Status::Done), 1);
    store.delete_issue(3, "me").unwrap();
    assert_eq!(store.status_counts("").unwrap().get(Status::Backlog), 0);
}

#[test]
fn the_archive_and_delete_events_are_stored_as_pinned() {
    let (_d, mut store) = temp_store();
    let shipped = done(&mut store, "shipped");
    store.archive_issue(shipped, "ana").unwrap();
    store.unarchive_issue(shipped, "ana").unwrap();
    let typo = add(&mut store, "typo", vec![]);
    store.delete_issue(typo, "ana").unwrap();
    let rows: Vec<String> = store
        .db()
        .query_map(
            "SELECT kind || '|' || issue_id || '|' || actor || '|' || data FROM events
             WHERE kind IN ('issue.archived', 'issue.unarchived', 'issue.deleted') ORDER BY id",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        rows,
        [
            format!("issue.archived|{shipped}|human:ana|{{}}"),
            format!("issue.unarchived|{shipped}|human:ana|{{}}"),
            format!(r#"issue.deleted|{typo}|human:ana|{{"title":"typo"}}"#),
        ]
    );
    let events = store.events_since(0, 1000).unwrap();
    assert!(events
        .iter()
        .all(|e| !matches!(e.kind, EventKind::Other { .. })));
}
