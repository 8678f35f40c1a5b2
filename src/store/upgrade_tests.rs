//! A database as the previous release left it (version 8) goes through every migration of this
//! one at once: run estimate and budget (9), each model's share (10), the search index with
//! its backfill (11), parents (12), archiving (13) and who claimed (14), and keeps its data.

use rusqlite::Connection;

use super::{schema, Store, SCHEMA_VERSION};
use crate::domain::Status;

#[test]
fn a_version_8_database_upgrades_through_every_new_migration_and_keeps_its_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v8.db");
    {
        let conn = Connection::open(&path).expect("open");
        for sql in &schema::MIGRATIONS[..8] {
            conn.execute_batch(sql).expect("the version 8 schema");
        }
        conn.pragma_update(None, "user_version", 8)
            .expect("version");
        conn.execute_batch(
            r#"INSERT INTO issues (id, title, kind, status, created_at, updated_at, model)
                   VALUES (1, 'Old work', 'bug', 'in_review', 1, 1, 'sonnet'),
                          (2, 'Next', 'feature', 'ready', 2, 2, NULL),
                          (3, 'Shipped', 'chore', 'done', 3, 3, NULL);
               INSERT INTO runs (id, issue_id, agent_id, slot, started_at, ended_at, outcome,
                                 cost_usd, input_tokens, output_tokens, model)
                   VALUES (7, 1, 'box-1', 0, 10, 20, 'implemented', 0.25, 100, 5, 'claude-x');
               INSERT INTO transcript_chunks (run_id, first_seq, lines, ts, data)
                   VALUES (7, 0, 1, 10,
                     CAST('{"type":"assistant","message":{"id":"m","content":[{"type":"text","text":"the quokkafrob is fixed"}]}}' AS BLOB));
               INSERT INTO comments (issue_id, author, author_kind, body, created_at)
                   VALUES (1, 'ana', 'human', 'looks fine', 30);"#,
        )
        .expect("the old rows");
    }
    let mut store = Store::open(&path).expect("upgrade");
    let version: i64 = store
        .db()
        .sqlite()
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);

    let old = store.issue(1).expect("issue 1");
    assert_eq!(
        (
            old.budget_usd,
            old.parent,
            old.archived_at,
            old.model.as_deref()
        ),
        (None, None, None, Some("sonnet"))
    );
    assert_eq!(store.issue_spend(1).expect("spend"), 0.25);
    let run = store.run(7).expect("run");
    assert_eq!((run.estimate_usd, run.input_tokens), (None, Some(100)));
    let stats = store.stats(&super::StatsQuery::all_time()).expect("stats");
    assert_eq!((stats.total_cost_usd, stats.runs), (0.25, 1));
    assert_eq!(
        stats.by_model["claude-x"].runs, 1,
        "a run without shares counts whole"
    );

    // The backfill indexed the old transcript's words, not its JSON; the triggers the rest.
    let hits = store.search("quokkafrob", 10).expect("search");
    assert_eq!(
        hits.iter()
            .map(|h| (h.issue_id, h.run_id))
            .collect::<Vec<_>>(),
        [(1, Some(7))]
    );
    assert!(store.search("assistant", 10).expect("search").is_empty());
    assert_eq!(store.search("looks", 10).expect("search").len(), 1);

    // The column counts still hold, and archiving the done issue takes it off them.
    let done_count = |s: &Store| s.status_counts("").expect("counts").get(Status::Done);
    assert_eq!(done_count(&store), 1);
    store.archive_issue(3, "ana").expect("archive");
    assert_eq!(done_count(&store), 0);

    // Claiming works on the new columns and records who claimed.
    let claimed = store
        .claim_next("a-1", 60_000)
        .expect("claim")
        .expect("one");
    assert_eq!(claimed.id, 2);
    let pid: Option<i64> = store
        .db()
        .sqlite()
        .unwrap()
        .query_row("SELECT claim_pid FROM issues WHERE id = 2", [], |r| {
            r.get(0)
        })
        .expect("claim pid");
    assert_eq!(pid, Some(i64::from(std::process::id())));
}
