use super::*;
use crate::domain::RunOutcome;
use crate::store::sql::Exec;

fn temp_store() -> (tempfile::TempDir, Store) {
    crate::store::test_db::temp_store()
}

/// A claimed issue with an open run owned by `pid` on `host`.
fn open_run(store: &mut Store, title: &str, pid: i64, host: &str) -> i64 {
    let new = NewIssue {
        title: title.into(),
        ready: true,
        ..NewIssue::default()
    };
    let id = store.create_issue(&new, "me").unwrap().id;
    let agent = format!("agent-{id}");
    store.claim_next(&agent, 60_000).unwrap().unwrap();
    let run = store.start_run(id, &agent, 0, host).unwrap();
    store
        .db()
        .execute(
            "UPDATE runs SET owner_pid = ?1 WHERE id = ?2",
            crate::store::sql::vals![pid, run],
        )
        .unwrap();
    run
}

fn batch(lines: &[&str]) -> TranscriptBatch {
    let mut b = TranscriptBatch::default();
    for l in lines {
        b.push(1, l.as_bytes());
    }
    b
}

fn texts(chunks: &[Chunk]) -> Vec<String> {
    chunks
        .iter()
        .flat_map(|c| c.lines().map(|l| String::from_utf8_lossy(l).into_owned()))
        .collect()
}

#[test]
fn foreign_runs_are_the_open_runs_another_process_owns() {
    let (_d, mut store) = temp_store();
    let mine = open_run(&mut store, "mine", 100, "box");
    let same_pid_other_host = open_run(&mut store, "there", 100, "elsewhere");
    let other_pid = open_run(&mut store, "theirs", 200, "box");
    let ended = open_run(&mut store, "ended", 300, "box");
    store
        .finish_run(ended, "agent-4", &RunEnd::default())
        .unwrap();
    let runs = store.foreign_runs(100, "box").unwrap();
    let ids: Vec<i64> = runs.iter().map(|r| r.run_id).collect();
    assert_eq!(ids, [same_pid_other_host, other_pid]);
    assert!(!ids.contains(&mine));
    assert_eq!(runs[1].title, "theirs");
    assert_eq!(
        (runs[1].owner_pid, runs[1].owner_host.as_deref()),
        (Some(200), Some("box"))
    );
    assert_eq!(store.run_outcome(other_pid).unwrap(), None);
    assert_eq!(
        store.run_outcome(ended).unwrap(),
        Some(RunOutcome::Interrupted),
        "a run closed without an outcome reads as interrupted"
    );
}

#[test]
fn chunks_after_an_id_are_the_new_batches_of_that_run_only() {
    let (_d, mut store) = temp_store();
    let a = open_run(&mut store, "a", 200, "box");
    let b = open_run(&mut store, "b", 200, "box");
    store
        .append_transcript(a, 0, &[batch(&["a1", "a2"])])
        .unwrap();
    store.append_transcript(b, 0, &[batch(&["b1"])]).unwrap();
    let first = store.chunks_after(a, 0, 100).unwrap();
    assert_eq!(texts(&first), ["a1", "a2"]);
    let last = first.last().unwrap().id;
    assert!(store.chunks_after(a, last, 100).unwrap().is_empty());
    store.append_transcript(a, 2, &[batch(&["a3"])]).unwrap();
    assert_eq!(texts(&store.chunks_after(a, last, 100).unwrap()), ["a3"]);
}

#[test]
fn attaching_to_a_long_run_loads_only_its_last_batches() {
    let (_d, mut store) = temp_store();
    let run = open_run(&mut store, "long", 200, "box");
    for i in 0..50 {
        let (x, y) = (format!("{}", 2 * i), format!("{}", 2 * i + 1));
        store
            .append_transcript(run, 2 * i, &[batch(&[&x, &y])])
            .unwrap();
    }
    let tail = store.last_chunks(run, 5).unwrap();
    assert_eq!(texts(&tail), ["94", "95", "96", "97", "98", "99"]);
    assert_eq!(texts(&store.last_chunks(run, 1_000).unwrap()).len(), 100);
}
