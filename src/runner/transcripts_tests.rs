//! The process's transcript writer against a real database.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::store::{NewIssue, TranscriptBatch};

fn open(dir: &std::path::Path, runs: usize) -> (Store, Vec<i64>) {
    let mut s = Store::open_with(&dir.join("a.db"), Redactor::builtin()).unwrap();
    let ids = (0..runs)
        .map(|i| {
            let new = NewIssue {
                title: format!("issue {i}"),
                ..NewIssue::default()
            };
            let issue = s.create_issue(&new, "me").unwrap();
            s.start_run(issue.id, "agent", 0, "host").unwrap()
        })
        .collect();
    (s, ids)
}

fn share(run_id: i64, line: &str) -> Append {
    share_at(run_id, line, 0)
}

fn share_at(run_id: i64, line: &str, first_seq: i64) -> Append {
    let mut b = TranscriptBatch::default();
    b.push(1, line.as_bytes());
    Append {
        run_id,
        first_seq,
        batches: vec![b],
        ..Append::default()
    }
}

/// Far longer than any test waits: a share that commits at all did not wait for it.
const FOREVER: Duration = Duration::from_secs(600);
const DEADLINE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_from_every_pipeline_commit_together_without_waiting_out_the_linger() {
    let dir = tempfile::tempdir().unwrap();
    let (_, runs) = open(dir.path(), 3);
    let store = Store::open_with(&dir.path().join("a.db"), Redactor::builtin()).unwrap();
    let sink = Transcripts::with_store(store, FOREVER);
    let _joined: Vec<_> = runs.iter().map(|_| sink.join()).collect();
    // The first share after a quiet spell goes at once: nothing was committed lately.
    let first = tokio::time::timeout(DEADLINE, sink.append(share(runs[0], "warm")));
    assert_eq!(first.await.unwrap().ok(), Some(1));
    assert_eq!(sink.commits(), 1);
    // Now each share waits for the others, and the last one in sends them all.
    let all = futures_join(&sink, &runs).await;
    assert_eq!(all, vec![Some(1), Some(1), Some(1)]);
    assert_eq!(sink.commits(), 2, "three shares, one transaction");
    let check = Store::open_with(&dir.path().join("a.db"), Redactor::builtin()).unwrap();
    let lines = check.transcript(runs[0], -1, 10).unwrap();
    let text: Vec<_> = lines.iter().map(|l| (l.seq, l.line.clone())).collect();
    assert_eq!(text, vec![(0, b"warm".to_vec()), (1, b"a".to_vec())]);
}

async fn futures_join(sink: &Transcripts, runs: &[i64]) -> Vec<Option<i64>> {
    let (a, b, c) = tokio::time::timeout(DEADLINE, async {
        tokio::join!(
            sink.append(share_at(runs[0], "a", 1)),
            sink.append(share(runs[1], "b")),
            sink.append(share(runs[2], "c")),
        )
    })
    .await
    .unwrap();
    vec![a.ok(), b.ok(), c.ok()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_pipeline_holds_a_share_for_the_linger_only() {
    let dir = tempfile::tempdir().unwrap();
    let (_, runs) = open(dir.path(), 2);
    let store = Store::open_with(&dir.path().join("a.db"), Redactor::builtin()).unwrap();
    let sink = Transcripts::with_store(store, Duration::from_millis(50));
    let (_a, _quiet) = (sink.join(), sink.join());
    for n in 0..3 {
        let stored = tokio::time::timeout(DEADLINE, sink.append(share_at(runs[0], "line", n)));
        assert_eq!(stored.await.unwrap().ok(), Some(1), "share {n}");
    }
    assert_eq!(sink.commits(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_for_a_missing_run_is_refused_and_handed_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (_, runs) = open(dir.path(), 1);
    let sink = Transcripts::start(dir.path().join("a.db").into(), Redactor::builtin());
    let _joined = (sink.join(), sink.join());
    let (good, bad) = tokio::time::timeout(DEADLINE, async {
        tokio::join!(
            sink.append(share(runs[0], "kept")),
            sink.append(share(9_999, "lost"))
        )
    })
    .await
    .unwrap();
    assert_eq!(good.ok(), Some(1));
    let refused = bad.err().unwrap();
    assert!(
        matches!(refused.error, StoreError::RunNotFound(9_999)),
        "{}",
        refused.error
    );
    let back = refused.append.unwrap();
    assert_eq!(back.batches[0].lines(), 1, "its lines come back to be kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_cannot_be_opened_refuses_every_share_and_keeps_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Transcripts::start(
        dir.path().join("no/such/dir/a.db").into(),
        Redactor::builtin(),
    );
    let _joined = sink.join();
    let refused = tokio::time::timeout(DEADLINE, sink.append(share(1, "line")))
        .await
        .unwrap()
        .err()
        .unwrap();
    assert!(refused.append.is_some());
    assert!(!refused.error.to_string().is_empty());
}
