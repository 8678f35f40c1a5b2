//! How many times the board is read for one change: the real store thread on a real
//! database, the real `App`, and a second connection committing as the runner's slots do.

mod tui_support;

use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use autopilot_tui::domain::redact::Redactor;
use autopilot_tui::domain::{RunOutcome, Status};
use autopilot_tui::runner::RunnerEvent;
use autopilot_tui::store::{NewIssue, RunEnd, StatusCounts, Store};
use autopilot_tui::ui::app::{App, Effect};
use autopilot_tui::ui::store_thread::{self, StoreReply, StoreRequest, POLL};

/// Carries effects to the store thread and replies back for `wait`, as the event loop does;
/// returns the column counts of each board load the thread answered.
fn pump(
    app: &mut App,
    requests: &Sender<StoreRequest>,
    replies: &Receiver<StoreReply>,
    wait: Duration,
) -> Vec<StatusCounts> {
    let end = Instant::now() + wait;
    let mut boards = Vec::new();
    while Instant::now() < end {
        for effect in app.take_effects() {
            if let Effect::Store(req) = effect {
                requests.send(req).expect("store thread");
            }
        }
        if let Ok(reply) = replies.recv_timeout(Duration::from_millis(5)) {
            if let StoreReply::Board { counts, .. } = &reply {
                boards.push(*counts);
            }
            app.on_store(reply);
        }
    }
    boards
}

#[test]
fn a_finished_run_reloads_the_board_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("a.db");
    let mut runner = Store::open(&db).expect("open");
    let new = NewIssue {
        title: "Work".into(),
        ready: true,
        ..NewIssue::default()
    };
    let id = runner.create_issue(&new, "ana").expect("add").id;

    let mut app = tui_support::app(120, 40);
    let (tx, replies) = std::sync::mpsc::channel();
    let requests = store_thread::spawn(
        db.into(),
        Redactor::builtin(),
        autopilot_tui::runner::agent::renderer(None),
        app.user().to_string(),
        move |r| tx.send(r).is_ok(),
    )
    .expect("spawn");
    app.start();
    let settle = POLL * 3;
    assert!(!pump(&mut app, &requests, &replies, settle).is_empty());

    // A slot claims, runs and finishes; the runner reports both, as it does.
    runner.claim_next("a", 60_000).expect("claim").expect("one");
    let run = runner.start_run(id, "a", 0, "host").expect("run");
    app.on_runner(RunnerEvent::StoreChanged);
    let loads = pump(&mut app, &requests, &replies, settle);
    assert_eq!(loads.len(), 1, "the claim: {loads:?}");
    assert_eq!(loads[0].get(Status::InProgress), 1);

    let end = RunEnd {
        outcome: Some(RunOutcome::Implemented),
        move_to: Some((Status::InReview, autopilot_tui::domain::Actor::Agent)),
        ..RunEnd::default()
    };
    runner.finish_run(run, "a", &end).expect("finish");
    app.on_runner(RunnerEvent::RunFinished {
        slot: 0,
        run_id: run,
        issue_id: id,
        outcome: RunOutcome::Implemented,
        status: Status::InReview,
        summary: String::new(),
    });
    app.on_runner(RunnerEvent::StoreChanged);
    let loads = pump(&mut app, &requests, &replies, settle);
    assert_eq!(loads.len(), 1, "the finish: {loads:?}");
    assert_eq!(loads[0].get(Status::InReview), 1);
}
