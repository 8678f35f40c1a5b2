//! Full-text search on a real SQLite file: what is found, that changes reindex in their own
//! transaction, that nothing stale or secret is found, and the migration that builds the index.

use super::*;
use crate::domain::AuthorKind;

fn open(dir: &tempfile::TempDir) -> Store {
    let redactor = Arc::new(Redactor::with_patterns(&["corp-[0-9]{6}".into()]).unwrap());
    crate::store::test_db::store_in(dir.path(), redactor)
}

fn issue(store: &mut Store, title: &str, body: &str) -> i64 {
    let new = NewIssue {
        title: title.into(),
        body: body.into(),
        ready: true,
        ..NewIssue::default()
    };
    store.create_issue(&new, "me").unwrap().id
}

/// Claims the next ready issue and opens a run on it.
fn run_on(store: &mut Store, id: i64) -> i64 {
    let claimed = store.claim_next("a-1", 60_000).unwrap().unwrap();
    assert_eq!(claimed.id, id);
    store.start_run(id, "a-1", 0, "host").unwrap()
}

fn batch(lines: &[&str]) -> TranscriptBatch {
    let mut b = TranscriptBatch::default();
    for l in lines {
        b.push(1, l.as_bytes());
    }
    b
}

fn found(store: &Store, query: &str) -> Vec<(i64, SearchSource, Option<i64>)> {
    store
        .search(query, 50)
        .unwrap()
        .into_iter()
        .map(|h| (h.issue_id, h.source, h.run_id))
        .collect()
}

#[test]
fn titles_bodies_comments_and_rendered_transcripts_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let a = issue(
        &mut store,
        "Parser rejects unicode",
        "crashes on émoji input",
    );
    let b = issue(&mut store, "Other", "");
    store
        .add_comment(b, "me", AuthorKind::Human, "see the zebra logs")
        .unwrap();
    let run = run_on(&mut store, a);
    let tool_result = r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t","content":"thread panicked at quokka.rs"}]}}"#;
    store
        .append_transcript(run, 0, &[batch(&["plain words", tool_result])])
        .unwrap();

    assert_eq!(
        found(&store, "parser"),
        vec![(a, SearchSource::Title, None)]
    );
    assert_eq!(found(&store, "emoji"), vec![(a, SearchSource::Body, None)]);
    assert_eq!(
        found(&store, "zebra"),
        vec![(b, SearchSource::Comment, None)]
    );
    assert_eq!(
        found(&store, "quokka"),
        vec![(a, SearchSource::Transcript, Some(run))]
    );
    // The JSON around the text is not indexed.
    assert!(found(&store, "tool_result").is_empty());
    assert!(found(&store, "tool_use_id").is_empty());
    // FTS5 syntax: phrases, prefixes, boolean operators.
    assert_eq!(found(&store, "\"thread panicked\"").len(), 1);
    assert_eq!(found(&store, "quok*").len(), 1);
    assert_eq!(found(&store, "zebra OR quokka").len(), 2);
    assert!(found(&store, "zebra AND quokka").is_empty());
    assert_eq!(found(&store, "quokka NOT zebra").len(), 1);

    let hit = &store.search("quokka", 5).unwrap()[0];
    // Lines of a chunk read as one line in a snippet.
    assert_eq!(hit.snippet, "plain words thread panicked at [quokka].rs");
    assert_eq!(
        hit.parts,
        vec![
            ("plain words thread panicked at ".to_string(), false),
            ("quokka".to_string(), true),
            (".rs".to_string(), false)
        ]
    );
    let json = serde_json::to_value(hit).unwrap();
    assert_eq!(json["where"], "transcript");
    assert_eq!(json["run_id"], run);
}

#[test]
fn edits_reindex_and_deletions_leave_nothing_stale() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let id = issue(&mut store, "walrus title", "");
    let edit = IssueEdit {
        title: Some("narwhal title".into()),
        body: Some("now with a pelican body".into()),
        ..IssueEdit::default()
    };
    store.update_issue(id, &edit, "me").unwrap();
    assert!(found(&store, "walrus").is_empty());
    assert_eq!(
        found(&store, "narwhal"),
        vec![(id, SearchSource::Title, None)]
    );
    assert_eq!(
        found(&store, "pelican"),
        vec![(id, SearchSource::Body, None)]
    );
    let edit = IssueEdit {
        body: Some(String::new()),
        ..IssueEdit::default()
    };
    store.update_issue(id, &edit, "me").unwrap();
    assert!(found(&store, "pelican").is_empty());

    store
        .add_comment(id, "me", AuthorKind::Human, "a gannet comment")
        .unwrap();
    let run = run_on(&mut store, id);
    store
        .append_transcript(run, 0, &[batch(&["cormorant output"])])
        .unwrap();
    assert_eq!(found(&store, "gannet OR cormorant OR narwhal").len(), 3);
    // Deleting the issue cascades to its comments, runs and chunks, and to their index rows.
    store
        .conn()
        .execute("DELETE FROM issues WHERE id = ?1", [id])
        .unwrap();
    assert!(found(&store, "gannet OR cormorant OR narwhal").is_empty());
    let rows: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM search_index", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn redacted_secrets_are_not_findable() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let id = issue(&mut store, "rotate corp-123456", "");
    store
        .add_comment(id, "me", AuthorKind::Human, "it was corp-654321")
        .unwrap();
    let run = run_on(&mut store, id);
    // Raw transcript bytes are redacted by the ingest; the index redacts again on its own.
    let line =
        r#"{"type":"assistant","message":{"content":[{"type":"text","text":"key corp-777777"}]}}"#;
    store.append_transcript(run, 0, &[batch(&[line])]).unwrap();
    for secret in ["123456", "654321", "777777", "\"corp-777777\""] {
        assert!(found(&store, secret).is_empty(), "{secret}");
    }
    assert_eq!(found(&store, "rotate").len(), 1);
    assert_eq!(found(&store, "REDACTED").len(), 3);
}

#[test]
fn malformed_queries_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    issue(&mut store, "something", "");
    for q in [
        "\"unbalanced",
        "AND",
        "*",
        "nosuchcolumn: x",
        "a NEAR(",
        "",
        "  ",
    ] {
        match store.search(q, 10) {
            Err(StoreError::BadQuery { detail, .. }) => assert!(!detail.is_empty(), "{q}"),
            other => panic!("{q:?}: {other:?}"),
        }
    }
    let msg = store.search("\"open", 10).unwrap_err().to_string();
    assert!(msg.contains("search query"), "{msg}");
    assert!(msg.contains("quotes"), "{msg}");
}

#[test]
fn hostile_and_huge_text_comes_back_printable_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let huge = format!("ocelot{}", "x".repeat(1_000_000));
    let id = issue(
        &mut store,
        "ocelot \u{1b}]52;c;Zm9v\u{7}\u{1b}[2J\u{0} title",
        &huge,
    );
    let run = run_on(&mut store, id);
    store
        .append_transcript(
            run,
            0,
            &[batch(&["ocelot \u{1b}[31mred\u{1b}[0m \u{9b}2J"])],
        )
        .unwrap();
    let hits = store.search("ocelot OR ocelot*", 10).unwrap();
    assert_eq!(hits.len(), 3);
    for h in &hits {
        assert!(
            h.snippet.chars().all(|c| !c.is_control()),
            "{:?}",
            h.snippet
        );
        assert!(h.snippet.len() < 2_000, "{}", h.snippet.len());
    }
}

#[test]
fn a_database_from_version_9_gets_its_old_transcripts_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let before = schema::SEARCH_INDEX_VERSION - 1;
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &schema::MIGRATIONS[..before] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", before as i64)
            .unwrap();
        conn.execute_batch(
            r#"INSERT INTO issues (id, title, body, kind, status, created_at, updated_at)
                 VALUES (1, 'old heron issue', 'old ibis body', 'bug', 'done', 1, 1);
             INSERT INTO comments (issue_id, author, author_kind, body, created_at)
                 VALUES (1, 'me', 'human', 'old kestrel comment', 1);
             INSERT INTO runs (id, issue_id, agent_id, slot, started_at) VALUES (7, 1, 'a', 0, 1);
             INSERT INTO transcript_chunks (run_id, first_seq, lines, ts, data)
                 VALUES (7, 0, 2, 1, CAST('{"type":"system","subtype":"init","session_id":"s"}' || char(10) ||
                   '{"type":"assistant","message":{"content":[{"type":"text","text":"the flamingo failed"}]}}' AS BLOB)),
                        (7, 2, 1, 1, CAST('plain puffin line' AS BLOB));"#,
        )
        .unwrap();
    }
    let store = Store::open(&path).expect("upgrade");
    let version: i64 = store
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(found(&store, "heron"), vec![(1, SearchSource::Title, None)]);
    assert_eq!(found(&store, "ibis"), vec![(1, SearchSource::Body, None)]);
    assert_eq!(
        found(&store, "kestrel"),
        vec![(1, SearchSource::Comment, None)]
    );
    assert_eq!(
        found(&store, "flamingo"),
        vec![(1, SearchSource::Transcript, Some(7))]
    );
    assert_eq!(
        found(&store, "puffin"),
        vec![(1, SearchSource::Transcript, Some(7))]
    );
    assert!(found(&store, "session_id OR init").is_empty());
    // Reopening does not index twice.
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(found(&store, "flamingo").len(), 1);
}

#[test]
fn text_rendered_by_the_writer_is_indexed_as_the_store_renders_it_and_still_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let id = issue(&mut store, "t", "");
    let run = run_on(&mut store, id);
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/claude-stream-json"
    );
    let mut lines = Vec::new();
    for name in ["implement.jsonl", "bash.jsonl", "error.jsonl"] {
        let text = std::fs::read(format!("{fixtures}/{name}")).unwrap();
        lines.extend(text.split(|b| *b == b'\n').map(<[u8]>::to_vec));
    }
    lines.extend([
        br#"{"type":"assistant","message":{"content":[{"type":"text","text":"key corp-777777"}]}}"#
            .to_vec(),
        b"plain corp-888888 and \x1b[31mred\x1b[0m".to_vec(),
        br#"{"type":"system","subtype":"init"}"#.to_vec(),
        br#"{"broken"#.to_vec(),
        b"with\nnewline".to_vec(),
        Vec::new(),
    ]);
    let half = lines.len() / 2;
    let fill = |mut b: TranscriptBatch, lines: &[Vec<u8>]| {
        lines.iter().for_each(|l| b.push(1, l));
        b
    };
    let plain = fill(TranscriptBatch::default(), &lines);
    // Rendered in two halves joined as the writer joins queued batches.
    let mut rendered = fill(TranscriptBatch::with_search_text(), &lines[..half]);
    rendered.append(fill(TranscriptBatch::with_search_text(), &lines[half..]));
    // Text for half the lines only: the store renders all of them itself.
    let mut mixed = fill(TranscriptBatch::with_search_text(), &lines[..half]);
    mixed.append(fill(TranscriptBatch::default(), &lines[half..]));
    store
        .append_transcript(run, 0, &[plain, rendered, mixed])
        .unwrap();

    let texts: Vec<String> = store
        .conn()
        .prepare("SELECT text FROM search_index WHERE source = 'transcript' ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(texts.len(), 3);
    assert_eq!(texts[1], texts[0]);
    assert_eq!(texts[2], texts[0]);
    for wanted in [
        "Implemented hello.txt.",
        "bash-ok",
        "key [REDACTED",
        "plain [REDACTED",
        "with newline",
    ] {
        assert!(texts[0].contains(wanted), "{wanted}: {}", texts[0]);
    }
    for unwanted in ["777777", "888888", "\u{1b}", "toolu_"] {
        assert!(!texts[0].contains(unwanted), "{unwanted}: {}", texts[0]);
    }
    assert!(found(&store, "777777 OR 888888").is_empty());
}

#[test]
fn prefix_queries_give_the_best_hits_first_with_their_snippets() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let id = issue(&mut store, "t", "");
    let run = run_on(&mut store, id);
    // Rows with more of the word rank higher; some rows match only other words.
    let batches: Vec<TranscriptBatch> = (1..=12)
        .map(|n| {
            let line = format!("before {} after filler", "wombat ".repeat(n));
            let other = format!("wombling {n} unrelated text");
            batch(&[line.as_str(), "padding words here", other.as_str()])
        })
        .collect();
    store.append_transcript(run, 0, &batches).unwrap();
    let full = |q: &str| {
        let hits = store.search(q, 5).unwrap();
        hits.into_iter()
            .map(|h| (h.issue_id, h.source, h.run_id, h.snippet))
            .collect::<Vec<_>>()
    };
    // `wombat*` expands to the one word, so it ranks and marks exactly as `wombat` does
    // (looked up row by row).
    let prefixed = full("wombat*");
    assert_eq!(prefixed.len(), 5);
    assert_eq!(prefixed, full("wombat"));
    assert!(prefixed[0].3.contains("[wombat]"), "{:?}", prefixed[0]);
    // Two expansions: every chunk matches, each snippet marks what matched.
    let hits = store.search("womb*", 50).unwrap();
    assert_eq!(hits.len(), 12);
    assert!(hits.iter().all(|h| h.snippet.contains("[womb")), "{hits:?}");
}
