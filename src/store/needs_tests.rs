use super::*;
use crate::domain::{Kind, RunOutcome};
use crate::store::sql::{vals, Exec};
use crate::store::{Caps, NewIssue, RunEnd};

fn temp_store() -> (tempfile::TempDir, Store) {
    crate::store::test_db::temp_store()
}

fn need(name: &str, secret: bool) -> Need {
    Need {
        name: name.into(),
        secret,
        description: format!("the {name}"),
    }
}

/// A ready issue, claimed and run, that blocks asking for `fields`.
fn blocked(store: &mut Store, fields: Vec<Need>) -> i64 {
    let id = store
        .create_issue(
            &NewIssue {
                title: "connect".into(),
                kind: Kind::Chore,
                ready: true,
                ..NewIssue::default()
            },
            "me",
        )
        .expect("create")
        .id;
    let claim = store
        .claim_within("a-1", 60_000, &Caps::default())
        .expect("claim");
    assert_eq!(claim.issue.map(|i| i.id), Some(id));
    let run = store.start_run(id, "a-1", 0, "host").expect("run");
    let end = RunEnd {
        outcome: Some(RunOutcome::Blocked),
        move_to: Some((Status::Blocked, Actor::Agent)),
        comments: vec![("a-1".into(), AuthorKind::Agent, "BLOCKED: which?".into())],
        needs: fields,
        ..RunEnd::default()
    };
    store.finish_run(run, "a-1", &end).expect("finish");
    id
}

fn pair(n: &str, v: &str) -> (String, String) {
    (n.into(), v.into())
}

#[test]
fn a_blocked_runs_fields_are_stored_with_its_move() {
    let (_d, mut store) = temp_store();
    let id = blocked(
        &mut store,
        vec![need("DB_URL", false), need("DB_PASS", true)],
    );
    assert_eq!(store.issue(id).unwrap().status, Status::Blocked);
    assert_eq!(
        store.needs(id).unwrap(),
        vec![need("DB_URL", false), need("DB_PASS", true)]
    );
}

#[test]
fn an_answer_comments_the_ordinary_values_keeps_the_secret_aside_and_unblocks() {
    let (_d, mut store) = temp_store();
    let id = blocked(
        &mut store,
        vec![need("DB_URL", false), need("DB_PASS", true)],
    );
    let (comment, issue) = store
        .answer(
            id,
            "alice",
            &[pair("DB_PASS", "pw-zebra-42"), pair("DB_URL", "pg://x\ny")],
        )
        .expect("answer");
    assert_eq!(issue.status, Status::Ready);
    assert_eq!(
        comment.body,
        "Answers to the agent's fields:\n- DB_URL: pg://x\n  y\n- DB_PASS: provided (secret: set in the \
         next run's environment as $DB_PASS, stored nowhere else)"
    );
    assert!(
        store.needs(id).unwrap().is_empty(),
        "answered fields are gone"
    );
    assert_eq!(store.pending_secret_names(id).unwrap(), ["DB_PASS"]);
    let claim = store
        .claim_within("a-2", 60_000, &Caps::default())
        .expect("claim");
    assert_eq!(claim.issue.map(|i| i.id), Some(id));
    assert_eq!(claim.secrets.0, vec![pair("DB_PASS", "pw-zebra-42")]);
    assert!(
        store.pending_secret_names(id).unwrap().is_empty(),
        "the claim took them"
    );
}

#[test]
fn bad_answers_change_nothing_and_say_why() {
    let (_d, mut store) = temp_store();
    let id = blocked(
        &mut store,
        vec![need("DB_URL", false), need("DB_PASS", true)],
    );
    let before = store.comments(id).unwrap().len();
    for (answers, says) in [
        (vec![pair("DB_URL", "x")], "also needs DB_PASS"),
        (
            vec![
                pair("DB_URL", "x"),
                pair("DB_PASS", "y"),
                pair("OTHER", "z"),
            ],
            "no field \"OTHER\"",
        ),
        (
            vec![
                pair("DB_URL", "x"),
                pair("DB_URL", "x"),
                pair("DB_PASS", "y"),
            ],
            "given twice",
        ),
        (
            vec![pair("DB_URL", ""), pair("DB_PASS", "y")],
            "empty value",
        ),
    ] {
        let err = store.answer(id, "alice", &answers).unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
    }
    assert_eq!(store.comments(id).unwrap().len(), before);
    assert_eq!(store.issue(id).unwrap().status, Status::Blocked);
    assert!(store.pending_secret_names(id).unwrap().is_empty());
    assert_eq!(store.needs(id).unwrap().len(), 2);
    let (_, _) = store
        .answer(id, "alice", &[pair("DB_URL", "x"), pair("DB_PASS", "y")])
        .unwrap();
    let err = store
        .answer(id, "alice", &[pair("DB_URL", "x"), pair("DB_PASS", "y")])
        .unwrap_err();
    assert!(err.to_string().contains("not blocked"), "{err}");
}

#[test]
fn secrets_waiting_go_with_an_archived_or_deleted_issue() {
    let (_d, mut store) = temp_store();
    let count = |store: &Store| -> i64 {
        store
            .db()
            .query_row("SELECT count(*) FROM pending_secrets", &[], |r| r.get(0))
            .unwrap()
    };
    let id = blocked(&mut store, vec![need("TOKEN_A", true)]);
    store.answer(id, "alice", &[pair("TOKEN_A", "v")]).unwrap();
    assert_eq!(count(&store), 1);
    store
        .db()
        .execute("DELETE FROM issues WHERE id = ?1", vals![id])
        .unwrap();
    assert_eq!(count(&store), 0);
    let other = blocked(&mut store, vec![need("TOKEN_B", true)]);
    store
        .answer(other, "alice", &[pair("TOKEN_B", "w")])
        .unwrap();
    assert_eq!(count(&store), 1);
    // Archiving needs a done issue; the trigger is what is under test.
    store
        .db()
        .execute(
            "UPDATE issues SET archived_at = 1 WHERE id = ?1",
            vals![other],
        )
        .unwrap();
    assert_eq!(count(&store), 0);
}

#[test]
fn a_later_block_without_fields_clears_the_old_ones() {
    let (_d, mut store) = temp_store();
    let id = blocked(&mut store, vec![need("A", false)]);
    store
        .add_comment(id, "alice", AuthorKind::Human, "try again")
        .unwrap();
    let claim = store.claim_within("a-1", 60_000, &Caps::default()).unwrap();
    assert_eq!(claim.issue.map(|i| i.id), Some(id));
    let run = store.start_run(id, "a-1", 0, "host").unwrap();
    let end = RunEnd {
        outcome: Some(RunOutcome::Blocked),
        move_to: Some((Status::Blocked, Actor::Agent)),
        comments: vec![("a-1".into(), AuthorKind::Agent, "BLOCKED: again".into())],
        ..RunEnd::default()
    };
    store.finish_run(run, "a-1", &end).unwrap();
    assert!(store.needs(id).unwrap().is_empty());
    let err = store.answer(id, "alice", &[pair("A", "x")]).unwrap_err();
    assert!(err.to_string().contains("asks for no fields"), "{err}");
}
