//! The store thread's answers and its change watch, on real databases.

use super::*;
use crate::domain::{Actor, Kind};
use crate::store::RunEnd;

fn new_issue(title: &str) -> NewIssue {
    NewIssue {
        title: title.into(),
        body: String::new(),
        kind: Kind::Feature,
        priority: 0,
        ready: true,
        depends_on: Vec::new(),
    }
}

#[test]
fn board_cards_carry_the_live_run_and_the_question() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("a.db")).expect("open");
    let asked = store
        .create_issue(&new_issue("Asks"), "me")
        .expect("add")
        .id;
    // a title with a bidi override, an agent id with an escape (from an older database)
    let working = store
        .create_issue(&new_issue("Wor\u{202e}ks"), "me")
        .expect("add")
        .id;
    // The first is claimed, asks and is blocked; its run is over.
    let first = store
        .claim_next("agent-a", 60_000)
        .expect("claim")
        .expect("one");
    assert_eq!(first.id, asked);
    let run = store.start_run(asked, "agent-a", 0, "host").expect("run");
    let end = RunEnd {
        move_to: Some((Status::Blocked, Actor::Agent)),
        comments: vec![(
            "agent-a".into(),
            AuthorKind::Agent,
            "BLOCKED: Redis or \u{1b}]52;c;x\u{7}Postgres?\nmore".into(),
        )],
        ..RunEnd::default()
    };
    store.finish_run(run, "agent-a", &end).expect("finish");
    // The second is being worked on by another agent now.
    let agent_b = "agent-\u{1b}]0;x\u{7}b";
    store
        .claim_next(agent_b, 60_000)
        .expect("claim")
        .expect("one");
    let live_run = store.start_run(working, agent_b, 1, "host").expect("run");
    let started = store.run(live_run).expect("run").started_at;

    let req = StoreRequest::Board {
        gen: 7,
        filter: String::new(),
        windows: [(0, 10); 6],
    };
    let (reply, wrote) = handle(&mut store, &req, "me");
    assert!(!wrote);
    let StoreReply::Board {
        gen,
        counts,
        columns,
    } = reply
    else {
        panic!("not a board: {reply:?}");
    };
    assert_eq!(gen, 7);
    assert_eq!(counts.get(Status::Blocked), 1);
    let column = |s: Status| &columns[Status::ALL.iter().position(|c| *c == s).expect("status")];
    let blocked = &column(Status::Blocked).cards[0];
    assert_eq!(blocked.issue.id, asked);
    assert_eq!(
        blocked.question.as_deref(),
        Some("BLOCKED: Redis or Postgres?")
    );
    assert_eq!(blocked.live, None);
    let live = &column(Status::InProgress).cards[0];
    assert_eq!(live.issue.title, "Works");
    assert_eq!(
        live.live,
        Some(LiveInfo {
            agent: "agent-b".into(),
            started_at: started,
            cost_usd: None,
        })
    );
    assert_eq!(live.question, None);
}

#[test]
fn a_long_transcript_shows_its_end_and_says_what_is_left_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("a.db")).expect("open");
    let id = store
        .create_issue(&new_issue("Long"), "me")
        .expect("add")
        .id;
    store.claim_next("a", 60_000).expect("claim").expect("one");
    let run = store.start_run(id, "a", 0, "host").expect("run");
    let total = TRANSCRIPT_LIMIT + 5;
    let mut batch = crate::store::TranscriptBatch::default();
    for i in 0..total {
        batch.push(1, format!("line {i}").as_bytes());
    }
    store.append_transcript(run, 0, &[batch]).expect("store");
    let (reply, _) = handle(&mut store, &StoreRequest::Transcript(run), "me");
    let StoreReply::Transcript { lines, .. } = reply else {
        panic!("not a transcript: {reply:?}");
    };
    assert_eq!(lines.len() as i64, TRANSCRIPT_LIMIT + 1);
    assert_eq!(lines[0].kind, LineKind::Meta);
    assert!(
        lines[0].text.contains(&format!(
            "the first 5 lines are not shown here; `autopilot-tui log {id} --run {run}`"
        )),
        "{}",
        lines[0].text
    );
    assert_eq!(lines[1].text, "line 5");
    assert_eq!(
        lines.last().map(|l| l.text.as_str()),
        Some(format!("line {}", total - 1).as_str())
    );
}
