//! The event log's text: typed events write what earlier versions wrote (no migration), and
//! read back as the variants they were written from.

use super::sql::Exec;
use super::*;
use crate::domain::{AuthorKind, EventKind, Kind, RunOutcome, Status};

fn temp_store() -> (tempfile::TempDir, Store) {
    crate::store::test_db::temp_store()
}

/// The event rows as stored, the runner's pid masked.
fn rows(store: &Store) -> Vec<String> {
    let pid = format!("\"pid\":{}", std::process::id());
    store
        .db()
        .query_map(
            "SELECT kind, coalesce(CAST(issue_id AS TEXT), ''), actor, data FROM events ORDER BY id",
            &[],
            |r| {
                let (kind, issue, actor, data): (String, String, String, String) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                Ok(format!(
                    "{kind}|{issue}|{actor}|{}",
                    data.replace(&pid, "\"pid\":PID")
                ))
            },
        )
        .expect("rows")
}

#[test]
fn every_event_is_stored_as_before() {
    let (_d, mut store) = temp_store();
    let new = NewIssue {
        title: "First".into(),
        ..NewIssue::default()
    };
    let id = store.create_issue(&new, "ana").expect("add").id;
    let edit =
        |title: Option<&str>, body: Option<&str>, kind, priority, base: Option<&str>| IssueEdit {
            title: title.map(Into::into),
            body: body.map(Into::into),
            kind,
            priority,
            base: base.map(Into::into),
            model: None,
            effort: None,
            budget_usd: None,
            parent: None,
            assignee: None,
            agent: None,
            not_before: None,
            every_ms: None,
            template: None,
        };
    store
        .update_issue(id, &edit(Some("First!"), None, None, Some(2), None), "ana")
        .expect("edit");
    let chore = edit(None, Some("b"), Some(Kind::Chore), None, Some("dev"));
    store.update_issue(id, &chore, "ana").expect("edit");
    store
        .move_issue(id, Status::Ready, Actor::Human, "ana")
        .expect("move");
    store.claim_next("box-1", 60_000).expect("claim");
    let run = store.start_run(id, "box-1", 0, "host").expect("run");
    store.set_workspace(id, "b", "/w", "main").expect("ws");
    store
        .stop_issue(id, "ana", "host", &|_| true)
        .expect("stop");
    let end = RunEnd {
        outcome: Some(RunOutcome::Blocked),
        exit_code: Some(0),
        cost_usd: Some(0.5),
        turns: Some(2),
        move_to: Some((Status::Blocked, Actor::Agent)),
        comments: vec![("box-1".into(), AuthorKind::Agent, "Q?".into())],
        ..RunEnd::default()
    };
    store.finish_run(run, "box-1", &end).expect("finish");
    store
        .add_comment(id, "ana", AuthorKind::Human, "A")
        .expect("answer");
    store.claim_next("box-1", -1).expect("claim");
    store.release_expired(3).expect("release");
    let hold = 4_102_444_800_000;
    store
        .pause_until(hold, "rate limited", Actor::Agent, "box-1")
        .expect("hold");
    store.set_paused(true, Actor::Human, "ana").expect("pause");
    store
        .set_paused(false, Actor::Human, "ana")
        .expect("resume");
    store
        .set_setting("theme", "mono", Actor::Human, "ana")
        .expect("set");

    let want = [
        r#"issue.created|1|human:ana|{"kind":"feature","priority":0,"status":"backlog","title":"First"}"#,
        r#"issue.updated|1|human:ana|{"priority":2,"title":"First!"}"#,
        r#"issue.updated|1|human:ana|{"base":"dev","body":true,"kind":"chore"}"#,
        r#"issue.status|1|human:ana|{"actor":"human","from":"backlog","to":"ready"}"#,
        r#"issue.status|1|agent:box-1|{"actor":"agent","claimed_by":"box-1","from":"ready","to":"in_progress"}"#,
        r#"run.started|1|agent:box-1|{"pid":PID,"run_id":1,"slot":0}"#,
        r#"issue.updated|1|system:runner|{"base":"main","branch":"b","worktree":"/w"}"#,
        r#"issue.stop_requested|1|human:ana|{"claimed_by":"box-1"}"#,
        r#"run.finished|1|agent:box-1|{"cost_usd":0.5,"exit_code":0,"outcome":"blocked","run_id":1,"turns":2}"#,
        r#"comment.added|1|agent:box-1|{"author_kind":"agent","comment_id":1}"#,
        r#"issue.status|1|agent:box-1|{"actor":"agent","from":"in_progress","to":"blocked"}"#,
        r#"comment.added|1|human:ana|{"author_kind":"human","comment_id":2}"#,
        r#"issue.status|1|human:ana|{"actor":"human","from":"blocked","to":"ready"}"#,
        r#"issue.status|1|agent:box-1|{"actor":"agent","claimed_by":"box-1","from":"ready","to":"in_progress"}"#,
        r#"comment.added|1|system:autopilot|{"author_kind":"system","comment_id":3}"#,
        r#"issue.status|1|system:recovery|{"actor":"system","from":"in_progress","to":"ready"}"#,
        r#"queue.held||agent:box-1|{"reason":"rate limited","until":4102444800000}"#,
        r#"setting.changed||human:ana|{"key":"paused","lifted_hold_until":null,"value":"1"}"#,
        r#"setting.changed||human:ana|{"key":"paused","lifted_hold_until":4102444800000,"value":"0"}"#,
        r#"setting.changed||human:ana|{"key":"theme","value":"mono"}"#,
    ];
    assert_eq!(rows(&store), want);

    let events = store.events_since(0, 100).expect("events");
    assert_eq!(events.len(), want.len());
    for e in &events {
        assert!(!matches!(e.kind, EventKind::Other { .. }), "{e:?}");
    }
    assert_eq!(events[7].actor, ActorId::human("ana"));
    assert_eq!(
        events[18].kind,
        EventKind::SettingChanged {
            key: "paused".into(),
            value: "0".into(),
            lifted_hold_until: Some(Some(hold)),
        }
    );
}

#[test]
fn rows_written_by_others_still_read() {
    let (_d, mut store) = temp_store();
    store
        .write(|tx| {
            super::sql::Exec::execute_batch(
                tx,
                "INSERT INTO events (ts, kind, issue_id, actor, data) VALUES
                   (1, 'issue.merged', 7, 'human:ana', '{\"sha\":\"abc\"}'),
                   (2, 'issue.status', 7, 'robot', 'not json')",
            )?;
            Ok(())
        })
        .expect("insert");
    let events = store.events_since(0, 10).expect("events");
    assert_eq!(
        events[0].kind,
        EventKind::Other {
            kind: "issue.merged".into(),
            data: serde_json::json!({"sha": "abc"}),
        }
    );
    assert_eq!(events[0].actor, ActorId::human("ana"));
    assert_eq!(
        events[1].kind,
        EventKind::Other {
            kind: "issue.status".into(),
            data: serde_json::Value::Null,
        }
    );
    assert_eq!(events[1].actor, ActorId::system("robot"));
}

#[test]
fn nul_escapes_become_the_nul_symbol_and_nothing_else_changes() {
    use super::events::without_nul_escapes;
    let json =
        serde_json::json!({"title": "a\0b", "path": "C:\\u0000x", "t": "\u{e9}\t"}).to_string();
    let clean = without_nul_escapes(&json);
    let back: serde_json::Value = serde_json::from_str(&clean).expect("still JSON");
    assert_eq!(back["title"], "a\u{2400}b");
    // A backslash followed by `u0000` is text, not an escape: it is kept.
    assert_eq!(back["path"], "C:\\u0000x");
    assert_eq!(back["t"], "\u{e9}\t");
    assert!(matches!(
        without_nul_escapes("{\"a\":1}"),
        std::borrow::Cow::Borrowed(_)
    ));
}
