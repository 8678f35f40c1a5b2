use super::*;
use crate::store::{NewIssue, RunEnd, TranscriptBatch};

/// A store with an open run of process 200 on `box`, and the run's id.
fn store_with_run(title: &str) -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("autopilot.db")).expect("open");
    let new = NewIssue {
        title: title.into(),
        ready: true,
        ..NewIssue::default()
    };
    let id = store.create_issue(&new, "me").unwrap().id;
    store.claim_next("agent-1", 60_000).unwrap().unwrap();
    let run = store.start_run(id, "agent-1", 2, "box").unwrap();
    store
        .db()
        .sqlite()
        .unwrap()
        .execute("UPDATE runs SET owner_pid = 200 WHERE id = ?1", [run])
        .unwrap();
    (dir, store, run)
}

fn append(store: &mut Store, run: i64, from: i64, lines: &[&str]) {
    let mut b = TranscriptBatch::default();
    for l in lines {
        b.push(1, l.as_bytes());
    }
    store.append_transcript(run, from, &[b]).unwrap();
}

fn texts(lines: &[PaneLine]) -> Vec<&str> {
    lines.iter().map(|l| l.text.as_str()).collect()
}

#[test]
fn a_run_of_another_process_is_followed_from_its_stored_lines_to_its_end() {
    let (_d, mut store, run) = store_with_run("far \x1b[31mred");
    append(&mut store, run, 0, &["one", "two"]);
    let plain = crate::runner::agent::renderer(Some("command"));
    let mut remote = Remote::new(100, "box".into());
    let ups = remote.look(&store, 1, plain.as_ref());
    let [RemoteUpdate::Started(s)] = &ups[..] else {
        panic!("{ups:?}")
    };
    assert_eq!((s.run_id, s.slot), (run, 2));
    assert_eq!(s.owner, "pid 200@box");
    assert!(!s.title.contains('\x1b'), "{:?}", s.title);
    assert_eq!(texts(&s.lines), ["one", "two"]);

    append(&mut store, run, 2, &["three"]);
    assert!(
        remote.look(&store, 1, plain.as_ref()).is_empty(),
        "nothing is read while data_version stands still"
    );
    let ups = remote.look(&store, 2, plain.as_ref());
    let [RemoteUpdate::Output { lines, .. }] = &ups[..] else {
        panic!("{ups:?}")
    };
    assert_eq!(texts(lines), ["three"]);

    append(&mut store, run, 3, &["last words"]);
    let end = RunEnd {
        outcome: Some(RunOutcome::Implemented),
        ..RunEnd::default()
    };
    store.finish_run(run, "agent-1", &end).unwrap();
    let ups = remote.look(&store, 3, plain.as_ref());
    assert!(
        matches!(&ups[..], [RemoteUpdate::Output { lines, .. }, RemoteUpdate::Finished { outcome: RunOutcome::Implemented, .. }] if texts(lines) == ["last words"]),
        "{ups:?}"
    );
    assert!(remote.look(&store, 4, plain.as_ref()).is_empty());
}

#[test]
fn runs_of_this_process_are_left_to_its_own_runner() {
    let (_d, store, _run) = store_with_run("mine");
    let plain = crate::runner::agent::renderer(Some("command"));
    let mut remote = Remote::new(200, "box".into());
    assert!(remote.look(&store, 1, plain.as_ref()).is_empty());
}

#[test]
fn attaching_to_a_long_run_loads_at_most_a_pane_of_lines() {
    let (_d, mut store, run) = store_with_run("long");
    let many: Vec<String> = (0..PANE_CAPACITY + 500).map(|i| format!("l{i}")).collect();
    for (i, part) in many.chunks(100).enumerate() {
        let refs: Vec<&str> = part.iter().map(String::as_str).collect();
        append(&mut store, run, (i * 100) as i64, &refs);
    }
    let plain = crate::runner::agent::renderer(Some("command"));
    let mut remote = Remote::new(100, "box".into());
    let ups = remote.look(&store, 1, plain.as_ref());
    let [RemoteUpdate::Started(s)] = &ups[..] else {
        panic!("{ups:?}")
    };
    assert_eq!(s.lines.len(), PANE_CAPACITY);
    assert_eq!(s.lines.last().map(|l| l.text.clone()), many.last().cloned());
}
