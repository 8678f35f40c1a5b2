//! Learnings: stored with their source and an event, redacted and capped, listed, edited,
//! deleted, and found by an issue's words.

use super::*;
use crate::domain::learning::MAX_BYTES;
use crate::domain::{EventKind, Kind};
use crate::store::sql::Exec;
use crate::store::NewIssue;

fn temp_store() -> (tempfile::TempDir, Store) {
    crate::store::test_db::temp_store()
}

/// An issue and a run on it.
fn issue_with_run(store: &mut Store, title: &str) -> (i64, i64) {
    let new = NewIssue {
        title: title.into(),
        kind: Kind::Feature,
        ready: true,
        ..NewIssue::default()
    };
    let id = store.create_issue(&new, "ana").expect("add").id;
    let claimed = store
        .claim_next("a-1", 60_000)
        .expect("claim")
        .expect("one");
    assert_eq!(claimed.id, id);
    let run = store.start_run(id, "a-1", 0, "host").expect("run");
    (id, run)
}

fn lessons(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| (*t).to_string()).collect()
}

#[test]
fn lessons_are_stored_with_their_source_and_an_event_each() {
    let (_d, mut store) = temp_store();
    let (issue, run) = issue_with_run(&mut store, "Cache");
    let ids = store
        .add_learnings(
            issue,
            run,
            "a-1",
            &lessons(&["run make gen first", "  ", "tests need TZ=UTC"]),
        )
        .expect("add");
    assert_eq!(ids.len(), 2, "the blank one is skipped");
    let all = store.learnings().expect("list");
    assert_eq!(
        all.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
        ["run make gen first", "tests need TZ=UTC"]
    );
    assert!(all
        .iter()
        .all(|l| l.issue_id == Some(issue) && l.run_id == Some(run) && l.created_at > 0));
    let events = store.events_since(0, 100).expect("events");
    let added: Vec<_> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::LearningAdded {
                learning_id,
                run_id,
            } => Some((learning_id, run_id, e.issue_id, e.actor.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        added,
        ids.iter()
            .map(|&id| (id, Some(run), Some(issue), "agent:a-1".to_string()))
            .collect::<Vec<_>>()
    );
    // a lesson stated again, word for word, is not stored twice
    let again = store
        .add_learnings(issue, run, "a-1", &lessons(&["run make gen first"]))
        .expect("add");
    assert!(again.is_empty());
    assert_eq!(store.learnings().expect("list").len(), 2);
}

#[test]
fn secrets_are_redacted_and_hostile_text_is_made_one_short_line() {
    let (_d, mut store) = temp_store();
    let (issue, run) = issue_with_run(&mut store, "Keys");
    let key = format!("sk-ant-{}", "a".repeat(40));
    let split = "API_\u{1b}[31mKEY=hunter2hunter2";
    let huge = format!("start {} end", "x".repeat(1 << 20));
    store
        .add_learnings(
            issue,
            run,
            "a-1",
            &[
                format!("use {key} for the API"),
                split.to_string(),
                huge,
                "a\u{0}b\nc\u{1b}]0;title\u{7}d".into(),
            ],
        )
        .expect("add");
    let all = store.learnings().expect("list");
    assert_eq!(all[0].text, "use [REDACTED:anthropic-api-key] for the API");
    assert_eq!(all[1].text, "API_KEY=[REDACTED:secret]");
    assert!(all[2].text.len() <= MAX_BYTES && all[2].text.starts_with("start xxx"));
    assert!(all[2].text.ends_with('…'));
    assert!(
        !all[3].text.chars().any(char::is_control),
        "{:?}",
        all[3].text
    );
    // an edit is cleaned the same way
    let edited = store
        .edit_learning(all[0].id, &format!("rotate {key}\nweekly"), "ana")
        .expect("edit");
    assert_eq!(edited.text, "rotate [REDACTED:anthropic-api-key] weekly");
}

#[test]
fn edit_and_rm_change_one_learning_and_refuse_unknown_ids() {
    let (_d, mut store) = temp_store();
    let (issue, run) = issue_with_run(&mut store, "Cache");
    let ids = store
        .add_learnings(issue, run, "a-1", &lessons(&["one", "two"]))
        .expect("add");
    let edited = store.edit_learning(ids[0], "uno", "ana").expect("edit");
    assert_eq!((edited.id, edited.text.as_str()), (ids[0], "uno"));
    store.remove_learning(ids[1], "ana").expect("rm");
    let all = store.learnings().expect("list");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].text, "uno");
    let err = store.remove_learning(ids[1], "ana").expect_err("gone");
    assert!(
        err.to_string()
            .contains(&format!("no learning #{}", ids[1])),
        "{err}"
    );
    let err = store.edit_learning(999, "x", "ana").expect_err("unknown");
    assert!(err.to_string().contains("no learning #999"), "{err}");
    let err = store
        .edit_learning(ids[0], " \u{1b}[0m ", "ana")
        .expect_err("empty");
    assert!(err.to_string().contains("needs some text"), "{err}");
    assert_eq!(store.learning(ids[0]).expect("kept").text, "uno");
    let kinds: Vec<_> = store
        .events_since(0, 100)
        .expect("events")
        .into_iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::LearningEdited { .. } | EventKind::LearningRemoved { .. }
            )
        })
        .map(|e| (e.kind, e.actor.to_string()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                EventKind::LearningEdited {
                    learning_id: ids[0]
                },
                "human:ana".into()
            ),
            (
                EventKind::LearningRemoved {
                    learning_id: ids[1]
                },
                "human:ana".into()
            ),
        ]
    );
    // the search index follows edits and deletions
    assert!(store
        .relevant_learnings("two", "", None, 5)
        .expect("find")
        .is_empty());
    assert!(store
        .relevant_learnings("one", "", None, 5)
        .expect("find")
        .is_empty());
    assert_eq!(
        store
            .relevant_learnings("uno", "", None, 5)
            .expect("find")
            .len(),
        1
    );
}

#[test]
fn the_most_relevant_learnings_come_first_and_the_same_issues_are_left_out() {
    let (_d, mut store) = temp_store();
    let (first, run) = issue_with_run(&mut store, "Parser");
    store
        .add_learnings(
            first,
            run,
            "a-1",
            &lessons(&[
                "the parser tests need the fixtures regenerated: run make fixtures",
                "the cache module keeps its keys in cache/keys.rs",
                "docs live in docs/, built by mdbook",
            ]),
        )
        .expect("add");
    let found = store
        .relevant_learnings(
            "Cache eviction",
            "The cache grows without bound; evict the oldest keys.",
            None,
            5,
        )
        .expect("find");
    assert_eq!(found.len(), 1);
    assert!(found[0].text.contains("cache module"));
    let found = store
        .relevant_learnings("Parser and cache", "", None, 5)
        .expect("find");
    assert_eq!(found.len(), 2);
    assert_eq!(
        store
            .relevant_learnings("Parser and cache", "", None, 1)
            .expect("find")
            .len(),
        1,
        "the limit holds"
    );
    // the issue that stated them does not get them back
    assert!(store
        .relevant_learnings("Parser and cache", "", Some(first), 5)
        .expect("find")
        .is_empty());
    // nothing to match with, and FTS5 syntax in the issue is only words
    assert!(store
        .relevant_learnings("a an", "", None, 5)
        .expect("find")
        .is_empty());
    let hostile = store
        .relevant_learnings("\"parser* OR NOT (", "NEAR(cache AND \"\" ^docs", None, 5)
        .expect("syntax is quoted");
    assert_eq!(hostile.len(), 3);
}

#[test]
fn relevance_queries_quote_every_word() {
    assert_eq!(
        relevance_query("Fix the \"parser\"", "NOT cache* OR x").as_deref(),
        Some("\"fix\" OR \"parser\" OR \"cache\"")
    );
    assert_eq!(relevance_query("a b", "to"), None);
    let many: String = (0..200).map(|i| format!("word{i} ")).collect();
    let q = relevance_query(&many, "").expect("words");
    assert_eq!(q.matches(" OR ").count(), MAX_QUERY_WORDS - 1);
}

#[test]
fn tsqueries_quote_every_word_as_a_lexeme() {
    assert_eq!(
        relevance_tsquery("Fix the \"parser\"", "NOT cache* | x & !y").as_deref(),
        Some("'fix' | 'parser' | 'cache'")
    );
    assert_eq!(relevance_tsquery("a b", "to"), None);
    let many: String = (0..200).map(|i| format!("word{i} ")).collect();
    let q = relevance_tsquery(&many, "").expect("words");
    assert_eq!(q.matches(" | ").count(), MAX_QUERY_WORDS - 1);
}

#[test]
fn learning_events_are_stored_in_this_text() {
    let (_d, mut store) = temp_store();
    let (issue, run) = issue_with_run(&mut store, "Cache");
    let id = store
        .add_learnings(issue, run, "a-1", &lessons(&["one"]))
        .expect("add")[0];
    store.edit_learning(id, "uno", "ana").expect("edit");
    store.remove_learning(id, "ana").expect("rm");
    let rows: Vec<String> = store
        .db()
        .query_map(
            "SELECT kind, coalesce(CAST(issue_id AS TEXT), ''), actor, data FROM events WHERE kind LIKE 'learning.%' ORDER BY id",
            &[],
            |r| {
                let (k, i, a, d): (String, String, String, String) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                Ok(format!("{k}|{i}|{a}|{d}"))
            },
        )
        .expect("rows");
    assert_eq!(
        rows,
        [
            format!(r#"learning.added|{issue}|agent:a-1|{{"learning_id":{id},"run_id":{run}}}"#),
            format!(r#"learning.edited||human:ana|{{"learning_id":{id}}}"#),
            format!(r#"learning.removed||human:ana|{{"learning_id":{id}}}"#),
        ]
    );
}
