//! The output pipeline's writer against a real database.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::store::NewIssue;

fn detached_live() -> Live {
    let prices = Arc::new(crate::domain::pricing::PriceTable::default());
    Live::new(prices, None, CancellationToken::new(), Default::default())
}

fn chunk(lines: &[&str]) -> Chunk {
    let mut c = Chunk::default();
    for l in lines {
        c.transcript.push(1, l.as_bytes());
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_the_store_refuses_is_kept_and_a_drop_leaves_a_marker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let db = Db::open(&path.clone().into(), Redactor::builtin())
        .await
        .unwrap();
    let run = db
        .call(|s| {
            s.set_lock_timeout(Duration::from_millis(100))?;
            let new = NewIssue {
                title: "t".into(),
                ..NewIssue::default()
            };
            let issue = s.create_issue(&new, "me")?;
            s.start_run(issue.id, "agent", 0, "host")
        })
        .await
        .unwrap();
    let mut own = crate::store::Store::open_with(&path, Redactor::builtin()).unwrap();
    own.set_lock_timeout(Duration::from_millis(100)).unwrap();
    let sink = Transcripts::with_store(own, Duration::from_millis(100));
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let (mut out, mut observed) = (Unsaved::new(0), Observed::default());
    let adapter = crate::runner::agent::renderer(None);
    // Another process holds the write lock past the timeout.
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut live = detached_live();
    out.take(
        chunk(&["one", "two"]),
        &*adapter,
        (&mut observed, &mut live),
        &events,
        run,
    );
    assert!(out.store(&sink, run).await.is_err());
    assert_eq!(out.lines(), 2, "kept for the next try");
    out.take(
        chunk(&["three"]),
        &*adapter,
        (&mut observed, &mut live),
        &events,
        run,
    );
    assert!(out.store(&sink, run).await.is_err());
    assert_eq!(out.lines(), 3);
    out.drop_all();
    out.take(
        chunk(&["four"]),
        &*adapter,
        (&mut observed, &mut live),
        &events,
        run,
    );
    blocker.execute_batch("COMMIT").unwrap();

    let (shown, _) = out.store(&sink, run).await.unwrap();
    let stored: Vec<String> = db
        .call(move |s| s.transcript(run, -1, i64::MAX))
        .await
        .unwrap()
        .into_iter()
        .map(|l| String::from_utf8_lossy(&l.line).into_owned())
        .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(
        stored[0].contains("3 line(s) of output were dropped here"),
        "{stored:?}"
    );
    assert_eq!(stored[1], "four");
    assert!(shown[0].text.contains("3 line(s)"));
    assert_eq!(out.seq, 2);
    assert!(out.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_repeated_on_each_block_is_estimated_once_reported_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("a.db").into(), Redactor::builtin())
        .await
        .unwrap();
    let run = db
        .call(|s| {
            let new = NewIssue {
                title: "t".into(),
                ..NewIssue::default()
            };
            let issue = s.create_issue(&new, "me")?;
            s.start_run(issue.id, "agent", 0, "host")
        })
        .await
        .unwrap();
    let adapter = crate::runner::agent::renderer(None);
    let (events, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (mut out, mut observed, mut live) = (Unsaved::new(0), Observed::default(), detached_live());
    // One response of two blocks (the CLI repeats its usage on each), in two batches.
    let line = |text: &str| {
        format!(
            r#"{{"type":"assistant","message":{{"id":"msg_1","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"{text}"}}],"usage":{{"input_tokens":1000000,"output_tokens":1}}}}}}"#
        )
    };
    for text in ["one", "two"] {
        let mut c = Chunk::default();
        for ev in adapter.parse_line(line(text).as_bytes()) {
            c.items.push(Item::Event(ev));
        }
        out.take(c, &*adapter, (&mut observed, &mut live), &events, run);
        live.store(&db, run, false).await;
    }
    let mut estimates = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let RunnerEvent::Progress {
            estimate: Some(e), ..
        } = ev
        {
            estimates.push(e);
        }
    }
    // Sonnet: $3 per million input, $15 per million output.
    let want = 3.0 + 15.0 / 1e6;
    assert_eq!(
        estimates,
        [crate::runner::Estimate::Usd(want)],
        "reported once"
    );
    let stored = db.call(move |s| s.run(run)).await.unwrap();
    assert_eq!(stored.estimate_usd, Some(want));
    assert_eq!(stored.cost_usd, None);
}
