//! What a run used (tokens, model) stored with its end, the issue's total cost, and the
//! migration that added the columns.

use super::*;
use crate::domain::{RunOutcome, RunUsage, Tokens};

fn claimed_issue(store: &mut Store) -> i64 {
    let new = NewIssue {
        title: "t".into(),
        ready: true,
        ..NewIssue::default()
    };
    let id = store.create_issue(&new, "me").unwrap().id;
    store.claim_next("a-1", 60_000).unwrap().unwrap();
    id
}

#[test]
fn tokens_and_model_are_stored_with_the_end_and_costs_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("autopilot.db")).unwrap();
    let id = claimed_issue(&mut store);
    assert_eq!(store.issue_detail(id).unwrap().cost_usd, None);
    let first = store.start_run(id, "a-1", 0, "host").unwrap();
    let end = RunEnd {
        outcome: Some(RunOutcome::Failed),
        cost_usd: Some(0.25),
        usage: Some(Box::new(RunUsage {
            tokens: Some(Tokens {
                input: 11,
                output: 22,
                cache_read: 33,
                cache_write: 44,
            }),
            model: Some("claude-x\u{1b}[31m".into()),
            ..RunUsage::default()
        })),
        ..RunEnd::default()
    };
    store.finish_run(first, "a-1", &end).unwrap();
    // A run that reported nothing keeps its columns empty.
    let second = store.start_run(id, "a-1", 0, "host").unwrap();
    store.finish_run(second, "a-1", &RunEnd::default()).unwrap();
    let third = store.start_run(id, "a-1", 0, "host").unwrap();
    let end = RunEnd {
        cost_usd: Some(0.5),
        ..RunEnd::default()
    };
    store.finish_run(third, "a-1", &end).unwrap();

    let detail = store.issue_detail(id).unwrap();
    assert_eq!(detail.cost_usd, Some(0.75));
    let r = &detail.runs[0];
    assert_eq!(
        (
            r.input_tokens,
            r.output_tokens,
            r.cache_read_tokens,
            r.cache_write_tokens
        ),
        (Some(11), Some(22), Some(33), Some(44))
    );
    assert_eq!(r.model.as_deref(), Some("claude-x\u{1b}[31m"));
    let r = &detail.runs[1];
    assert_eq!(
        (
            r.input_tokens,
            r.output_tokens,
            r.cache_read_tokens,
            r.cache_write_tokens
        ),
        (None, None, None, None)
    );
    assert_eq!(r.model, None);
}

#[test]
fn a_database_from_before_the_token_columns_upgrades_and_keeps_its_runs() {
    let added = schema::MIGRATIONS
        .iter()
        .position(|m| m.contains("input_tokens"))
        .expect("the token migration");
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
            "INSERT INTO issues (id, title, kind, status, created_at, updated_at)
                 VALUES (1, 't', 'bug', 'in_progress', 1, 1);
             INSERT INTO runs (id, issue_id, agent_id, slot, started_at, ended_at, cost_usd, turns)
                 VALUES (7, 1, 'a', 0, 1, 2, 0.125, 3);",
        )
        .unwrap();
    }
    let mut store = Store::open(&path).expect("upgrade");
    let version: i64 = store
        .db()
        .sqlite()
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let old = store.run(7).unwrap();
    assert_eq!((old.cost_usd, old.turns), (Some(0.125), Some(3)));
    assert_eq!((old.input_tokens, old.model), (None, None));
    assert_eq!(store.issue_detail(1).unwrap().cost_usd, Some(0.125));
    // New runs on the upgraded database store their tokens.
    store
        .db()
        .sqlite()
        .unwrap()
        .execute(
            "UPDATE issues SET claimed_by = 'a-1', lease_until = 9e15 WHERE id = 1",
            [],
        )
        .unwrap();
    let run = store.start_run(1, "a-1", 0, "host").unwrap();
    let end = RunEnd {
        usage: Some(Box::new(RunUsage {
            tokens: Some(Tokens {
                input: 1,
                ..Tokens::default()
            }),
            model: Some("m".into()),
            ..RunUsage::default()
        })),
        ..RunEnd::default()
    };
    store.finish_run(run, "a-1", &end).unwrap();
    let new = store.run(run).unwrap();
    assert_eq!((new.input_tokens, new.output_tokens), (Some(1), Some(0)));
    assert_eq!(new.model.as_deref(), Some("m"));
}

#[test]
fn each_models_share_is_stored_and_spend_per_model_splits_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("autopilot.db")).unwrap();
    let id = claimed_issue(&mut store);
    let share = |model: &str, input: i64, cost: f64| crate::domain::ModelTokens {
        model: model.into(),
        tokens: Tokens {
            input,
            output: 1,
            ..Tokens::default()
        },
        cost_usd: Some(cost),
    };
    let split = store.start_run(id, "a-1", 0, "host").unwrap();
    let end = RunEnd {
        outcome: Some(RunOutcome::Implemented),
        cost_usd: Some(0.75),
        usage: Some(Box::new(RunUsage {
            tokens: Some(Tokens {
                input: 130,
                output: 2,
                ..Tokens::default()
            }),
            model: Some("big".into()),
            by_model: vec![share("big", 100, 0.7), share("small", 30, 0.05)],
        })),
        ..RunEnd::default()
    };
    store.finish_run(split, "a-1", &end).unwrap();
    let whole = store.start_run(id, "a-1", 0, "host").unwrap();
    let end = RunEnd {
        cost_usd: Some(0.5),
        usage: Some(Box::new(RunUsage {
            tokens: Some(Tokens {
                input: 9,
                ..Tokens::default()
            }),
            model: Some("big".into()),
            ..RunUsage::default()
        })),
        ..RunEnd::default()
    };
    store.finish_run(whole, "a-1", &end).unwrap();

    let s = store.stats(&StatsQuery::all_time()).unwrap();
    assert_eq!(
        s.total_cost_usd, 1.25,
        "the run's reported total, not the shares"
    );
    let big = &s.by_model["big"];
    assert_eq!((big.runs, big.cost_usd, big.input_tokens), (2, 1.2, 109));
    let small = &s.by_model["small"];
    assert_eq!(
        (small.runs, small.cost_usd, small.input_tokens),
        (1, 0.05, 30)
    );
    assert_eq!(s.by_model.len(), 2, "{:?}", s.by_model.keys());
}
