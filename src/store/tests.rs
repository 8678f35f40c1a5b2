use super::*;
use crate::domain::{Actor, AuthorKind, EventKind, Kind, RunOutcome, Status};

fn temp_store() -> (tempfile::TempDir, Store) {
    crate::store::test_db::temp_store()
}

fn add(store: &mut Store, title: &str, priority: i64, ready: bool) -> i64 {
    store
        .create_issue(
            &NewIssue {
                title: title.into(),
                priority,
                ready,
                ..NewIssue::default()
            },
            "tester",
        )
        .expect("create")
        .id
}

#[test]
fn creates_wal_database_with_current_schema() {
    let (_d, store) = temp_store();
    let mode: String = store
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = store
        .conn()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let v: i64 = store
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
}

#[test]
fn refuses_a_newer_schema_without_touching_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(Store::open(&path).unwrap());
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found, .. } if found == SCHEMA_VERSION + 5),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade autopilot-tui"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn refuses_a_file_that_is_not_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let junk = b"this is a text file, definitely not a database\n".repeat(200);
    std::fs::write(&path, &junk).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), junk);
}

#[test]
fn every_state_change_has_its_event_in_the_same_commit() {
    let (_d, mut store) = temp_store();
    let id = add(&mut store, "one", 0, false);
    store
        .move_issue(id, Status::Ready, Actor::Human, "me")
        .unwrap();
    let claimed = store.claim_next("agent-1", 60_000).unwrap().unwrap();
    assert_eq!(claimed.id, id);
    assert_eq!(claimed.claimed_by.as_deref(), Some("agent-1"));
    let run = store.start_run(id, "agent-1", 0, "host").unwrap();
    let end = RunEnd {
        outcome: Some(RunOutcome::Implemented),
        move_to: Some((Status::InReview, Actor::Agent)),
        comments: vec![("agent-1".into(), AuthorKind::Agent, "done it".into())],
        session_id: Some("s-1".into()),
        ..RunEnd::default()
    };
    let (issue, moved) = store.finish_run(run, "agent-1", &end).unwrap();
    assert!(moved);
    assert_eq!(issue.status, Status::InReview);
    assert_eq!(issue.session_id.as_deref(), Some("s-1"));
    assert_eq!(issue.claimed_by, None);
    store
        .move_issue(id, Status::Done, Actor::Human, "me")
        .unwrap();

    let moves: Vec<(Status, Status)> = store
        .issue_events(id)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::IssueStatus { from, to, .. } => Some((from, to)),
            _ => None,
        })
        .collect();
    let want = [
        ("backlog", "ready"),
        ("ready", "in_progress"),
        ("in_progress", "in_review"),
        ("in_review", "done"),
    ];
    assert_eq!(moves.len(), want.len());
    for ((f, t), (wf, wt)) in moves.iter().zip(want) {
        assert_eq!((f.as_str(), t.as_str()), (wf, wt));
    }
    let kinds: Vec<EventKind> = store
        .issue_events(id)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(matches!(
        kinds.first(),
        Some(EventKind::IssueCreated { .. })
    ));
    assert!(kinds
        .iter()
        .any(|k| matches!(k, EventKind::RunStarted { .. })));
    assert!(kinds
        .iter()
        .any(|k| matches!(k, EventKind::RunFinished { .. })));
    assert!(kinds
        .iter()
        .any(|k| matches!(k, EventKind::CommentAdded { .. })));
}

#[test]
fn illegal_moves_are_refused_and_change_nothing() {
    let (_d, mut store) = temp_store();
    let id = add(&mut store, "one", 0, false);
    let before = store.max_event_id().unwrap();
    let err = store
        .move_issue(id, Status::Done, Actor::Human, "me")
        .unwrap_err();
    assert!(err.to_string().contains("legal moves: ready"), "{err}");
    let err = store
        .move_issue(id, Status::InProgress, Actor::Human, "me")
        .unwrap_err();
    assert!(matches!(err, StoreError::Transition(_)));
    assert_eq!(store.issue(id).unwrap().status, Status::Backlog);
    assert_eq!(store.max_event_id().unwrap(), before);
    assert!(matches!(
        store.move_issue(999, Status::Ready, Actor::Human, "me"),
        Err(StoreError::IssueNotFound(999))
    ));
}

#[test]
fn claim_takes_highest_priority_then_oldest_and_respects_dependencies() {
    let (_d, mut store) = temp_store();
    let low = add(&mut store, "low", 0, true);
    let high_old = add(&mut store, "high old", 5, true);
    let high_new = add(&mut store, "high new", 5, true);
    let blocked_dep = store
        .create_issue(
            &NewIssue {
                title: "needs low".into(),
                priority: 9,
                ready: true,
                depends_on: vec![low],
                ..NewIssue::default()
            },
            "t",
        )
        .unwrap()
        .id;
    let _backlog = add(&mut store, "not handed off", 99, false);
    let order: Vec<i64> =
        std::iter::from_fn(|| store.claim_next("a", 60_000).unwrap().map(|i| i.id)).collect();
    assert_eq!(order, vec![high_old, high_new, low]);
    assert_eq!(store.open_dependencies(blocked_dep).unwrap(), vec![low]);

    // once the dependency is done, the dependent becomes claimable
    let run = store.start_run(low, "a", 0, "host").unwrap();
    let end = RunEnd {
        move_to: Some((Status::InReview, Actor::Agent)),
        ..RunEnd::default()
    };
    store.finish_run(run, "a", &end).unwrap();
    store
        .move_issue(low, Status::Done, Actor::Human, "me")
        .unwrap();
    assert_eq!(
        store.claim_next("a", 60_000).unwrap().map(|i| i.id),
        Some(blocked_dep)
    );
}

#[test]
fn pause_stops_claims() {
    let (_d, mut store) = temp_store();
    add(&mut store, "x", 0, true);
    store.set_paused(true, Actor::Human, "me").unwrap();
    assert!(store.is_paused().unwrap());
    assert!(store.claim_next("a", 1000).unwrap().is_none());
    store.set_paused(false, Actor::Human, "me").unwrap();
    assert!(store.claim_next("a", 1000).unwrap().is_some());
    // resuming lifts a rate limit's hold as well, whatever end it was given
    add(&mut store, "y", 0, true);
    store
        .pause_until(i64::MAX, "rate limited", Actor::Agent, "a")
        .unwrap();
    assert!(store.claim_next("a", 1000).unwrap().is_none());
    assert_eq!(store.pause_state().unwrap().until, Some(i64::MAX));
    store.set_paused(false, Actor::Human, "me").unwrap();
    assert_eq!(store.pause_state().unwrap(), PauseState::default());
    assert!(store.claim_next("a", 1000).unwrap().is_some());
}

#[test]
fn human_comment_on_blocked_issue_unblocks_it() {
    let (_d, mut store) = temp_store();
    let id = add(&mut store, "q", 0, true);
    store.claim_next("a", 60_000).unwrap();
    let run = store.start_run(id, "a", 0, "host").unwrap();
    let end = RunEnd {
        outcome: Some(RunOutcome::Blocked),
        move_to: Some((Status::Blocked, Actor::Agent)),
        comments: vec![("a".into(), AuthorKind::Agent, "Redis or Postgres?".into())],
        ..RunEnd::default()
    };
    store.finish_run(run, "a", &end).unwrap();
    // an agent or system comment does not unblock
    let (_, issue) = store
        .add_comment(id, "sys", AuthorKind::System, "note")
        .unwrap();
    assert_eq!(issue.status, Status::Blocked);
    let (c, issue) = store
        .add_comment(id, "alice", AuthorKind::Human, "Postgres")
        .unwrap();
    assert_eq!(issue.status, Status::Ready);
    assert_eq!(c.author_kind, AuthorKind::Human);
    let thread: Vec<String> = store
        .comments(id)
        .unwrap()
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(thread, vec!["Redis or Postgres?", "note", "Postgres"]);
    assert!(store
        .add_comment(id, "alice", AuthorKind::Human, "  ")
        .is_err());
}

#[test]
fn request_changes_needs_review_state_and_a_comment() {
    let (_d, mut store) = temp_store();
    let id = add(&mut store, "r", 0, true);
    assert!(store.request_changes(id, "me", "more").is_err());
    store.claim_next("a", 60_000).unwrap();
    let run = store.start_run(id, "a", 0, "host").unwrap();
    store
        .finish_run(
            run,
            "a",
            &RunEnd {
                move_to: Some((Status::InReview, Actor::Agent)),
                ..RunEnd::default()
            },
        )
        .unwrap();
    assert!(store.request_changes(id, "me", "").is_err());
    let issue = store.request_changes(id, "me", "rename it").unwrap();
    assert_eq!(issue.status, Status::Ready);
    assert_eq!(
        store
            .last_comment(id, AuthorKind::Human)
            .unwrap()
            .unwrap()
            .body,
        "rename it"
    );
}

#[test]
fn expired_leases_go_back_to_ready_then_park_in_blocked() {
    let (_d, mut store) = temp_store();
    let id = add(&mut store, "lease", 0, true);
    store.claim_next("a", -1).unwrap().unwrap();
    let run = store.start_run(id, "a", 0, "host").unwrap();
    assert!(!store.renew_lease(id, "someone-else", 1000).unwrap());
    assert_eq!(store.release_expired(2).unwrap(), vec![id]);
    let issue = store.issue(id).unwrap();
    assert_eq!(issue.status, Status::Ready);
    assert_eq!(issue.claimed_by, None);
    assert_eq!(
        store.run(run).unwrap().outcome,
        Some(RunOutcome::Interrupted)
    );
    assert!(store
        .latest_comment(id)
        .unwrap()
        .unwrap()
        .body
        .contains("expired"));
    // a live lease is left alone
    store.claim_next("a", 60_000).unwrap().unwrap();
    assert!(store.release_expired(2).unwrap().is_empty());
    assert!(store.renew_lease(id, "a", -1).unwrap());
    assert_eq!(store.release_expired(2).unwrap(), vec![id]);
    assert_eq!(store.issue(id).unwrap().status, Status::Blocked);
    // a finish after the lease was lost records the run but does not move the issue
    let (issue, moved) = store
        .finish_run(
            run,
            "a",
            &RunEnd {
                move_to: Some((Status::InReview, Actor::Agent)),
                ..RunEnd::default()
            },
        )
        .unwrap();
    assert!(!moved);
    assert_eq!(issue.status, Status::Blocked);
}

#[test]
fn transcripts_keep_bytes_exactly() {
    let (_d, mut store) = temp_store();
    let id = add(&mut store, "t", 0, true);
    store.claim_next("a", 60_000).unwrap();
    let run = store.start_run(id, "a", 0, "host").unwrap();
    let mut first = TranscriptBatch::default();
    first.push(1, b"{\"type\":\"x\"}");
    first.push(2, &[0xff, 0x00, 0xfe]);
    let mut big = TranscriptBatch::default();
    big.push(3, &vec![b'a'; 10 << 20]);
    assert_eq!(store.append_transcript(run, 0, &[first, big]).unwrap(), 3);
    let mut last = TranscriptBatch::default();
    last.push(4, b"last");
    store.append_transcript(run, 3, &[last]).unwrap();
    let got = store.transcript(run, -1, 100).unwrap();
    assert_eq!(got.len(), 4);
    assert_eq!(got[1].line, vec![0xff, 0x00, 0xfe]);
    assert_eq!(got[2].line.len(), 10 << 20);
    assert_eq!(got[0].line, b"{\"type\":\"x\"}");
    assert_eq!(
        got.iter().map(|l| (l.seq, l.ts)).collect::<Vec<_>>(),
        [(0, 1), (1, 1), (2, 3), (3, 4)]
    );
    assert_eq!(store.transcript(run, 2, 100).unwrap()[0].line, b"last");
    // Reading from the middle of a batch, and a limit that ends inside one.
    let mid = store.transcript(run, 0, 2).unwrap();
    assert_eq!(mid.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(store.run(run).unwrap().transcript_lines, 4);
    // Empty lines and lines that (against the contract) hold a newline keep the count.
    let mut odd = TranscriptBatch::default();
    odd.push(5, b"");
    odd.push(5, b"a\nb");
    odd.push(5, b"");
    store.append_transcript(run, 4, &[odd]).unwrap();
    let tail = store.transcript(run, 3, 100).unwrap();
    assert_eq!(
        tail.iter().map(|l| l.line.as_slice()).collect::<Vec<_>>(),
        [b"".as_slice(), b"a b", b""]
    );
    assert_eq!(store.run(run).unwrap().transcript_lines, 7);
}

#[test]
fn pages_and_counts_filter_case_insensitively() {
    let (_d, mut store) = temp_store();
    for i in 0..25 {
        add(&mut store, &format!("Item {i}"), 0, i % 2 == 0);
    }
    store
        .update_issue(
            1,
            &IssueEdit {
                title: Some("Special Login".into()),
                kind: Some(Kind::Bug),
                ..IssueEdit::default()
            },
            "me",
        )
        .unwrap();
    let counts = store.status_counts("").unwrap();
    assert_eq!(counts.get(Status::Ready), 13);
    assert_eq!(counts.get(Status::Backlog), 12);
    let page = store.issues_page(Status::Ready, "", 10, 5).unwrap();
    assert_eq!(page.len(), 3);
    assert_eq!(store.status_counts("login").unwrap().get(Status::Ready), 1);
    let hit = store.issues_page(Status::Ready, "LOGIN", 0, 10).unwrap();
    assert_eq!(hit[0].kind, Kind::Bug);
}

#[test]
fn two_connections_never_claim_the_same_issue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut s = Store::open(&path).unwrap();
    for i in 0..200 {
        add(&mut s, &format!("i{i}"), 0, true);
    }
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut s = Store::open(&path).unwrap();
                let mut mine = Vec::new();
                while let Some(i) = s.claim_next(&format!("t{t}"), 60_000).unwrap() {
                    mine.push(i.id);
                }
                mine
            })
        })
        .collect();
    let mut all: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (1..=200).collect::<Vec<_>>());
}

#[test]
fn data_version_moves_when_another_connection_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut a = Store::open(&path).unwrap();
    let b = Store::open(&path).unwrap();
    let v0 = b.data_version().unwrap();
    assert_eq!(b.data_version().unwrap(), v0);
    add(&mut a, "x", 0, false);
    assert_ne!(b.data_version().unwrap(), v0);
}

#[test]
fn a_version_2_database_keeps_its_transcripts_through_the_upgrade() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).expect("open");
        for sql in &schema::MIGRATIONS[..2] {
            conn.execute_batch(sql).expect("old schema");
        }
        conn.pragma_update(None, "user_version", 2)
            .expect("version");
        conn.execute_batch(
            "INSERT INTO issues (id, title, kind, status, created_at, updated_at)
                 VALUES (1, 't', 'bug', 'in_review', 1, 1);
             INSERT INTO runs (id, issue_id, agent_id, slot, started_at) VALUES (7, 1, 'a', 0, 1);
             INSERT INTO transcript_lines VALUES (7, 0, 10, X'7B7D'), (7, 1, 11, X'FF00'),
                                                 (7, 2, 12, X'');",
        )
        .expect("old rows");
    }
    let store = Store::open(&path).expect("upgrade");
    let got = store.transcript(7, -1, 10).expect("transcript");
    assert_eq!(
        got.iter()
            .map(|l| (l.seq, l.ts, l.line.clone()))
            .collect::<Vec<_>>(),
        [
            (0, 10, b"{}".to_vec()),
            (1, 11, vec![0xff, 0x00]),
            (2, 12, Vec::new())
        ]
    );
    assert_eq!(store.run(7).expect("run").transcript_lines, 3);
    // the column counts start from the issues already there
    assert_eq!(
        store
            .status_counts("")
            .expect("counts")
            .get(Status::InReview),
        1
    );
}

#[test]
fn a_reader_during_the_first_open_does_not_leave_the_database_out_of_wal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("race.db");
    // Another process got there first: it created the file and is reading it (in the
    // rollback journal mode a new file starts in), so the switch to WAL must wait for it.
    let other = Connection::open(&path).expect("open");
    other
        .execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;")
        .expect("read");
    let (tx, rx) = std::sync::mpsc::channel();
    let opener = std::thread::spawn({
        let path = path.clone();
        move || {
            let store = Store::open(&path);
            let _ = tx.send(());
            store
        }
    });
    // Let the opener meet the reader, then let the reader go.
    let early = rx.recv_timeout(std::time::Duration::from_millis(300));
    other.execute_batch("COMMIT").expect("end read");
    let store = opener.join().expect("join").expect("open");
    let mode: String = store
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal", "opened early: {}", early.is_ok());
}

#[test]
fn processes_creating_the_database_at_once_all_get_in() {
    for round in 0..50 {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let openers: Vec<_> = (0..4)
            .map(|i| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut store = Store::open(&path)?;
                    if i % 2 == 0 {
                        add(&mut store, "x", 0, true);
                    }
                    store.status_counts("").map(|_| ())
                })
            })
            .collect();
        for o in openers {
            if let Err(e) = o.join().expect("join") {
                panic!("round {round}: {e}");
            }
        }
    }
}

#[test]
fn column_counts_follow_every_kind_of_change() {
    let (_d, mut store) = temp_store();
    let actual = |store: &Store| {
        let mut stmt = store
            .conn()
            .prepare("SELECT status, count(*) FROM issues GROUP BY status")
            .unwrap();
        let mut counts = StatusCounts::default();
        for row in stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .unwrap()
        {
            let (s, n) = row.unwrap();
            counts.0[board::status_index(s.parse().unwrap())] = n;
        }
        counts
    };
    for i in 0..30 {
        add(&mut store, &format!("t{i}"), i % 3, i % 2 == 0);
    }
    assert_eq!(store.status_counts("").unwrap(), actual(&store));
    let mut reviewed = 0;
    for _ in 0..5 {
        let claimed = store.claim_next("a", 60_000).unwrap().unwrap();
        reviewed = claimed.id;
        store
            .move_issue(reviewed, Status::InReview, Actor::Agent, "a")
            .unwrap();
    }
    store
        .move_issue(2, Status::Ready, Actor::Human, "me")
        .unwrap();
    store
        .move_issue(reviewed, Status::Done, Actor::Human, "me")
        .unwrap();
    assert_eq!(store.status_counts("").unwrap(), actual(&store));
    // a move to the same status changes nothing
    let before = store.status_counts("").unwrap();
    store
        .conn()
        .execute(
            "UPDATE issues SET status = status, title = 'x' WHERE id = 6",
            [],
        )
        .unwrap();
    assert_eq!(store.status_counts("").unwrap(), before);
    store
        .conn()
        .execute("DELETE FROM issues WHERE id = 8", [])
        .unwrap();
    let kept = store.status_counts("").unwrap();
    assert_eq!(kept, actual(&store));
    assert_eq!(kept.0.iter().sum::<i64>(), 29);
}
