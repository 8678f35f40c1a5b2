//! The store thread's answers and its change watch, on real databases.

use super::*;
use crate::domain::{Actor, EventKind, RunOutcome, RunRole};
use crate::runner::agent::renderer;
use crate::store::RunEnd;

fn new_issue(title: &str) -> NewIssue {
    NewIssue {
        title: title.into(),
        body: String::new(),
        ready: true,
        ..NewIssue::default()
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
        windows: [(0, 10); Status::ALL.len()],
    };
    let (reply, wrote) = handle(&mut store, &req, "me", &*renderer(None));
    assert!(!wrote);
    let Some(StoreReply::Board {
        gen,
        counts,
        columns,
    }) = reply
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
            estimate_usd: None,
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
    let (reply, _) = handle(
        &mut store,
        &StoreRequest::Transcript(run),
        "me",
        &*renderer(None),
    );
    let Some(StoreReply::Transcript { lines, .. }) = reply else {
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

/// The thread running on a database, as the UI starts it, its replies on a channel.
struct Thread {
    requests: Sender<StoreRequest>,
    replies: std::sync::mpsc::Receiver<StoreReply>,
}

impl Thread {
    fn start(db: &std::path::Path) -> Thread {
        let (tx, replies) = std::sync::mpsc::channel();
        let requests = spawn(
            db.into(),
            Redactor::builtin(),
            renderer(None),
            "me".into(),
            move |r| tx.send(r).is_ok(),
        )
        .expect("spawn");
        let thread = Thread { requests, replies };
        assert_eq!(thread.changes(POLL).len(), 1, "the first report");
        thread
    }

    fn poll(&self) {
        self.requests.send(StoreRequest::Poll).expect("send");
    }

    /// The `Changed` reports that arrive within `wait` (each one is a reload in the UI).
    fn changes(&self, wait: Duration) -> Vec<Vec<Event>> {
        let end = std::time::Instant::now() + wait;
        let mut out = Vec::new();
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.replies.recv_timeout(left) {
                Ok(StoreReply::Changed { events, .. }) => out.push(events),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        out
    }
}

#[test]
fn a_runner_commit_costs_one_reload_whoever_sees_it_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("a.db");
    // The runner's slot: another connection, as in a real process.
    let mut runner = Store::open(&db).expect("open");
    for t in ["one", "two"] {
        runner.create_issue(&new_issue(t), "me").expect("add");
    }
    let thread = Thread::start(&db);
    let settle = POLL * 3;

    // The runner's nudge arrives before the watch looks (or right after): one report.
    let first = runner.claim_next("a", 60_000).expect("claim").expect("one");
    thread.poll();
    thread.poll();
    let seen = thread.changes(settle);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(matches!(
        seen[0][..],
        [Event {
            kind: EventKind::IssueStatus {
                to: Status::InProgress,
                ..
            },
            ..
        }]
    ));

    // The watch reports first; the runner's nudge after it costs nothing.
    runner.claim_next("a", 60_000).expect("claim").expect("one");
    assert_eq!(thread.changes(settle).len(), 1);
    thread.poll();
    assert_eq!(thread.changes(settle).len(), 0);

    // A commit without an event: nothing for the watch, one reload when the runner asks.
    runner.renew_lease(first.id, "a", 60_000).expect("renew");
    assert_eq!(thread.changes(settle).len(), 0);
    thread.poll();
    assert_eq!(thread.changes(settle), vec![Vec::new()]);
}

#[test]
fn questions_are_the_newest_agent_comment_of_each_blocked_issue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("a.db")).expect("open");
    let mut blocked = Vec::new();
    for n in 0..4 {
        let id = store
            .create_issue(&new_issue(&format!("issue {n}")), "me")
            .expect("add")
            .id;
        store.claim_next("a", 60_000).expect("claim").expect("one");
        let run = store.start_run(id, "a", 0, "host").expect("run");
        // Several comments of every kind, the agent's interleaved with the others'.
        let mut comments = Vec::new();
        for round in 0..3 {
            comments.push(("a".to_string(), AuthorKind::Agent, format!("Q{n}.{round}?")));
            comments.push(("autopilot".into(), AuthorKind::System, format!("note {n}")));
        }
        let end = RunEnd {
            move_to: Some((Status::Blocked, Actor::Agent)),
            comments,
            ..RunEnd::default()
        };
        store.finish_run(run, "a", &end).expect("finish");
        blocked.push(id);
    }
    // The last one was also answered once and asked again.
    let last = blocked[3];
    store
        .add_comment(last, "me", AuthorKind::Human, "Which?")
        .expect("answer");
    store.claim_next("a", 60_000).expect("claim").expect("one");
    let run = store.start_run(last, "a", 0, "host").expect("run");
    let end = RunEnd {
        move_to: Some((Status::Blocked, Actor::Agent)),
        comments: vec![("a".into(), AuthorKind::Agent, "Q3.again?".into())],
        ..RunEnd::default()
    };
    store.finish_run(run, "a", &end).expect("finish");
    // One issue nobody asked anything about is in the list too.
    let quiet = store
        .create_issue(&new_issue("quiet"), "me")
        .expect("add")
        .id;

    let mut ids = blocked.clone();
    ids.push(quiet);
    let many = store
        .last_comments(&ids, AuthorKind::Agent)
        .expect("questions");
    assert_eq!(many.len(), blocked.len());
    for id in &ids {
        let one = store.last_comment(*id, AuthorKind::Agent).expect("one");
        assert_eq!(many.get(id), one.as_ref(), "#{id}");
    }
    assert_eq!(many[&last].body, "Q3.again?");
    assert_eq!(many[&blocked[0]].body, "Q0.2?");

    let (reply, _) = handle(&mut store, &StoreRequest::Inbox, "me", &*renderer(None));
    let Some(StoreReply::Inbox(items)) = reply else {
        panic!("not an inbox: {reply:?}");
    };
    let questions: Vec<(i64, &str)> = items
        .iter()
        .map(|i| (i.issue_id, i.question.as_str()))
        .collect();
    assert_eq!(
        questions,
        [
            (blocked[3], "Q3.again?"),
            (blocked[2], "Q2.2?"),
            (blocked[1], "Q1.2?"),
            (blocked[0], "Q0.2?"),
        ]
    );
    let req = StoreRequest::Board {
        gen: 1,
        filter: String::new(),
        windows: [(0, 10); Status::ALL.len()],
    };
    let (reply, _) = handle(&mut store, &req, "me", &*renderer(None));
    let Some(StoreReply::Board { columns, .. }) = reply else {
        panic!("not a board: {reply:?}");
    };
    let blocked_at = Status::ALL.iter().position(|s| *s == Status::Blocked);
    let column = &columns[blocked_at.expect("a column")];
    let cards: Vec<(i64, Option<&str>)> = column
        .cards
        .iter()
        .map(|c| (c.issue.id, c.question.as_deref()))
        .collect();
    assert_eq!(
        cards,
        [
            (blocked[0], Some("Q0.2?")),
            (blocked[1], Some("Q1.2?")),
            (blocked[2], Some("Q2.2?")),
            (blocked[3], Some("Q3.again?")),
        ]
    );
}

#[test]
fn a_checks_transcript_reads_as_plain_text_whatever_the_agent_prints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("a.db")).expect("open");
    let id = store
        .create_issue(&new_issue("Checked"), "me")
        .expect("add")
        .id;
    store.claim_next("a", 60_000).expect("claim").expect("one");
    let init = br#"{"type":"system","subtype":"init","session_id":"s-1","model":"m"}"#;
    let mut runs = Vec::new();
    for role in [
        crate::domain::RunRole::Implement,
        crate::domain::RunRole::Check,
    ] {
        let run = store.start_run_as(id, "a", 0, "host", role).expect("run");
        let mut batch = crate::store::TranscriptBatch::default();
        batch.push(1, init);
        store.append_transcript(run, 0, &[batch]).expect("store");
        runs.push(run);
    }
    let shown = |store: &mut Store, run| {
        let (reply, _) = handle(
            store,
            &StoreRequest::Transcript(run),
            "me",
            &*renderer(None),
        );
        let Some(StoreReply::Transcript { lines, .. }) = reply else {
            panic!("not a transcript: {reply:?}");
        };
        lines[0].text.clone()
    };
    // the agent's run renders as Claude's output; the check's is the line it printed
    assert_eq!(shown(&mut store, runs[0]), "● session s-1 m");
    assert_eq!(shown(&mut store, runs[1]).as_bytes(), init);
    assert_eq!(
        store.runs(id).expect("runs")[1].role,
        crate::domain::RunRole::Check
    );
}

#[test]
fn review_cards_carry_their_checks_and_verdict_and_other_cards_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("a.db")).expect("open");
    let reviewed = store
        .create_issue(&new_issue("Reviewed"), "me")
        .expect("add")
        .id;
    let waiting = store
        .create_issue(&new_issue("Waiting"), "me")
        .expect("add")
        .id;
    store
        .claim_next("a-1", 60_000)
        .expect("claim")
        .expect("one");
    for (role, outcome, to) in [
        (RunRole::Implement, RunOutcome::Implemented, None),
        (RunRole::Check, RunOutcome::Passed, None),
        (
            RunRole::Review,
            RunOutcome::Approved,
            Some((Status::InReview, Actor::Agent)),
        ),
    ] {
        let run = store
            .start_run_as(reviewed, "a-1", 0, "host", role)
            .expect("run");
        let end = RunEnd {
            outcome: Some(outcome),
            move_to: to,
            ..RunEnd::default()
        };
        store.finish_run(run, "a-1", &end).expect("finish");
    }
    let req = StoreRequest::Board {
        gen: 1,
        filter: String::new(),
        windows: [(0, 10); Status::ALL.len()],
    };
    let (reply, _) = handle(&mut store, &req, "me", &*renderer(None));
    let Some(StoreReply::Board { columns, .. }) = reply else {
        panic!("not a board: {reply:?}");
    };
    let column = |s: Status| &columns[Status::ALL.iter().position(|c| *c == s).expect("status")];
    let card = &column(Status::InReview).cards[0];
    assert_eq!(card.issue.id, reviewed);
    assert_eq!(
        card.review,
        ReviewMarks {
            checks: Some(RunOutcome::Passed),
            review: Some(RunOutcome::Approved),
        }
    );
    let other = &column(Status::Ready).cards[0];
    assert_eq!(other.issue.id, waiting);
    assert_eq!(other.review, ReviewMarks::default());
}

#[test]
fn board_cards_carry_their_unfinished_dependencies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("a.db")).expect("open");
    let first = store
        .create_issue(&new_issue("First"), "me")
        .expect("add")
        .id;
    let done = store
        .create_issue(&new_issue("Done"), "me")
        .expect("add")
        .id;
    let held = store
        .create_issue(&new_issue("Held"), "me")
        .expect("add")
        .id;
    store
        .set_dependencies(held, &[first, done], "me")
        .expect("deps");
    store
        .db()
        .sqlite()
        .unwrap()
        .execute("UPDATE issues SET status = 'done' WHERE id = ?1", [done])
        .expect("done");
    let req = StoreRequest::Board {
        gen: 1,
        filter: String::new(),
        windows: [(0, 10); Status::ALL.len()],
    };
    let (reply, _) = handle(&mut store, &req, "me", &*renderer(None));
    let Some(StoreReply::Board { columns, .. }) = reply else {
        panic!("not a board: {reply:?}");
    };
    let ready = &columns[1].cards;
    let waits: Vec<(i64, Vec<i64>)> = ready
        .iter()
        .map(|c| (c.issue.id, c.waits_on.clone()))
        .collect();
    assert_eq!(waits, vec![(first, vec![]), (held, vec![first])]);
}

#[test]
fn an_edit_whose_dependency_closes_a_cycle_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("a.db")).expect("open");
    let a = store.create_issue(&new_issue("A"), "me").expect("add").id;
    let b = store.create_issue(&new_issue("B"), "me").expect("add").id;
    store.add_dependency(b, a, "me").expect("b waits on a");
    let req = |title: &str, add: Vec<i64>| StoreRequest::UpdateWithDeps {
        id: a,
        edit: IssueEdit {
            title: Some(title.into()),
            ..IssueEdit::default()
        },
        add,
        remove: Vec::new(),
    };
    let (reply, _) = handle(&mut store, &req("Renamed", vec![b]), "me", &*renderer(None));
    let Some(StoreReply::Failed(msg)) = reply else {
        panic!("not refused: {reply:?}");
    };
    assert!(msg.contains(&format!("cycle #{a} → #{b} → #{a}")), "{msg}");
    assert_eq!(
        store.issue(a).expect("a").title,
        "A",
        "the title was not saved"
    );

    let c = store.create_issue(&new_issue("C"), "me").expect("add").id;
    let (reply, _) = handle(&mut store, &req("Renamed", vec![c]), "me", &*renderer(None));
    assert!(matches!(reply, Some(StoreReply::Done { .. })), "{reply:?}");
    assert_eq!(store.issue(a).expect("a").title, "Renamed");
    assert_eq!(store.dependencies_of(&[a]).expect("deps")[&a], vec![c]);
}

#[test]
fn a_hold_that_lifts_is_reported_without_any_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).expect("open");
    let lifts = crate::domain::now_millis() + 700;
    store
        .pause_until(lifts, "rate limited", Actor::Agent, "box-1")
        .expect("hold");
    let (tx, replies) = std::sync::mpsc::channel();
    let _requests = spawn(
        db.clone().into(),
        Redactor::builtin(),
        renderer(None),
        "me".into(),
        move |r| tx.send(r).is_ok(),
    )
    .expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut holds = Vec::new();
    // Nothing writes after the hold: the header learns it lifted from the thread alone.
    while holds.last() != Some(&None) {
        let left = deadline
            .checked_duration_since(std::time::Instant::now())
            .expect("the lifted hold reported within 10 s");
        if let Ok(StoreReply::Changed { pause, .. }) = replies.recv_timeout(left) {
            holds.push(pause.until);
        }
    }
    assert_eq!(holds, [Some(lifts), None]);
}
