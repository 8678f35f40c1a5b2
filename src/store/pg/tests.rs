//! The PostgreSQL schema on a real server (skipped without one outside CI).

use super::super::test_db::fresh_postgres;
use super::super::{schema_pg, sql, Store, StoreError, SCHEMA_VERSION};
use crate::domain::redact::Redactor;
use sql::{Conn, Exec, StoreUrl};

fn open(url: &StoreUrl) -> Result<Store, StoreError> {
    Store::open_url(url, Redactor::builtin())
}

fn version(url: &StoreUrl) -> i64 {
    let conn = Conn::open(url).unwrap();
    conn.query_row("SELECT version FROM schema_version", &[], |r| r.get(0))
        .unwrap()
}

#[test]
fn both_backends_have_the_same_schema_version() {
    assert_eq!(schema_pg::VERSION, SCHEMA_VERSION);
}

#[test]
fn a_fresh_database_gets_the_schema_and_a_second_open_changes_nothing() {
    let Some(url) = fresh_postgres() else { return };
    let store = open(&url).unwrap();
    assert_eq!(version(&url), SCHEMA_VERSION);
    let tables = |c: &Conn| -> Vec<String> {
        c.query_map(
            "SELECT table_name::text FROM information_schema.tables
              WHERE table_schema = 'public' ORDER BY 1",
            &[],
            |r| r.get(0),
        )
        .unwrap()
    };
    let before = tables(store.db());
    drop(store);
    let again = open(&url).unwrap();
    assert_eq!(tables(again.db()), before);
    assert_eq!(version(&url), SCHEMA_VERSION);
    assert_eq!(again.path().to_string_lossy(), url.to_string());
}

#[test]
fn the_triggers_keep_counts_search_rows_and_secrets() {
    let Some(url) = fresh_postgres() else { return };
    let mut store = open(&url).unwrap();
    let counts = |s: &Store| -> Vec<(String, i64)> {
        s.db()
            .query_map(
                "SELECT status, n FROM status_counts WHERE n <> 0 ORDER BY status",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    };
    let search = |s: &Store| -> Vec<(i64, String, String)> {
        s.db()
            .query_map(
                "SELECT id, source, text FROM search_index ORDER BY id",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
    };
    let run = |s: &mut Store, sql: &str| {
        let sql = sql.to_string();
        s.write(|tx| Ok(tx.execute_batch(&sql)?)).unwrap();
    };
    run(
        &mut store,
        "INSERT INTO issues (id, title, body, kind, status, created_at, updated_at)
           VALUES (1, 'alpha', '', 'bug', 'ready', 1, 1), (2, 'beta', 'the body', 'bug', 'ready', 1, 1);
         INSERT INTO comments (id, issue_id, author, author_kind, body, created_at)
           VALUES (5, 2, 'me', 'human', 'a comment', 1);
         INSERT INTO pending_secrets (issue_id, name, value) VALUES (1, 'k', 'v'), (2, 'k', 'v')",
    );
    assert_eq!(counts(&store), vec![("ready".into(), 2)]);
    let row = |id: i64, source: &str, text: &str| (id, source.to_string(), text.to_string());
    assert_eq!(
        search(&store),
        vec![
            row(4, "title", "alpha"),
            row(8, "title", "beta"),
            row(9, "body", "the body"),
            row(22, "comment", "a comment")
        ]
    );
    run(
        &mut store,
        "UPDATE issues SET status = 'done' WHERE id = 1;
         UPDATE issues SET title = 'gamma', body = '' WHERE id = 2;
         UPDATE comments SET body = 'edited' WHERE id = 5",
    );
    assert_eq!(
        counts(&store),
        vec![("done".into(), 1), ("ready".into(), 1)]
    );
    assert_eq!(
        search(&store),
        vec![
            row(4, "title", "alpha"),
            row(8, "title", "gamma"),
            row(22, "comment", "edited")
        ]
    );
    run(&mut store, "UPDATE issues SET archived_at = 5 WHERE id = 1");
    assert_eq!(counts(&store), vec![("ready".into(), 1)]);
    let secrets: Vec<i64> = store
        .db()
        .query_map("SELECT issue_id FROM pending_secrets", &[], |r| r.get(0))
        .unwrap();
    assert_eq!(secrets, vec![2], "archiving drops the issue's secrets");
    run(
        &mut store,
        "UPDATE issues SET archived_at = NULL WHERE id = 1",
    );
    assert_eq!(
        counts(&store),
        vec![("done".into(), 1), ("ready".into(), 1)]
    );
    run(&mut store, "DELETE FROM issues WHERE id = 2");
    assert_eq!(counts(&store), vec![("done".into(), 1)]);
    assert_eq!(search(&store), vec![row(4, "title", "alpha")]);
}

#[test]
fn the_tables_and_columns_are_sqlite_s() {
    let Some(url) = fresh_postgres() else { return };
    let pg = open(&url).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lite = Store::open(&dir.path().join("a.db")).unwrap();
    let lite_tables: Vec<String> = lite
        .db()
        .query_map(
            "SELECT name FROM sqlite_master WHERE type = 'table'
               AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'search_index%'
               AND name NOT LIKE 'learnings_index%' ORDER BY name",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    for table in lite_tables {
        let lite_cols: Vec<String> = lite
            .db()
            .query_map(
                "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
                sql::vals![table.as_str()],
                |r| r.get(0),
            )
            .unwrap();
        let pg_cols: Vec<String> = pg
            .db()
            .query_map(
                "SELECT column_name::text FROM information_schema.columns
                  WHERE table_schema = 'public' AND table_name = ?1 AND column_name <> 'tsv'
                  ORDER BY ordinal_position",
                sql::vals![table.as_str()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(pg_cols, lite_cols, "columns of {table}");
    }
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let Some(url) = fresh_postgres() else { return };
    drop(open(&url).unwrap());
    let conn = Conn::open(&url).unwrap();
    conn.execute_batch("UPDATE schema_version SET version = version + 1; DROP TABLE needs")
        .unwrap();
    let err = open(&url).unwrap_err();
    let StoreError::TooNew {
        path,
        found,
        supported,
    } = &err
    else {
        panic!("expected TooNew, got {err:?}");
    };
    assert_eq!((*found, *supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
    assert_eq!(path.to_string_lossy(), url.to_string());
    let StoreUrl::Postgres(pg) = &url else {
        unreachable!()
    };
    let password = pg
        .config()
        .get_password()
        .map(|p| String::from_utf8_lossy(p).to_string());
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        assert!(!err.to_string().contains(&password), "{err}");
    }
    assert_eq!(version(&url), SCHEMA_VERSION + 1);
    let needs: Option<String> = conn
        .query_row("SELECT to_regclass('needs')::text", &[], |r| r.get(0))
        .unwrap();
    assert_eq!(needs, None, "the database was changed");
}

#[test]
fn processes_opening_a_new_database_at_once_both_succeed() {
    let Some(url) = fresh_postgres() else { return };
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                open(&url).map(drop).map_err(|e| e.to_string())
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    assert_eq!(version(&url), SCHEMA_VERSION);
}

#[test]
fn data_version_moves_with_each_event_and_chunk() {
    let Some(url) = fresh_postgres() else { return };
    let mut store = open(&url).unwrap();
    let other = open(&url).unwrap();
    let before = other.data_version().unwrap();
    assert_eq!(other.data_version().unwrap(), before, "nothing changed");
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO events (ts, kind, actor) VALUES (1, 'test', 'me')",
                &[],
            )?;
            Ok(())
        })
        .unwrap();
    let after_event = other.data_version().unwrap();
    assert_ne!(after_event, before);
    store
        .write(|tx| {
            let issue: i64 = tx.query_row(
                "INSERT INTO issues (title, kind, status, created_at, updated_at)
                 VALUES ('t', 'bug', 'ready', 1, 1) RETURNING id",
                &[],
                |r| r.get(0),
            )?;
            let run: i64 = tx.query_row(
                "INSERT INTO runs (issue_id, agent_id, slot, started_at) VALUES (?1, 'a', 0, 1)
                 RETURNING id",
                sql::vals![issue],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO transcript_chunks (run_id, first_seq, lines, ts, data)
                 VALUES (?1, 0, 1, 1, ?2)",
                sql::vals![run, b"x".to_vec()],
            )?;
            Ok(())
        })
        .unwrap();
    assert_ne!(other.data_version().unwrap(), after_event);
}
