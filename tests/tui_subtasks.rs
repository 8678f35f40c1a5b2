//! Subtasks on screen: a parent's card shows its progress, and its detail lists the subtasks
//! and opens one.

mod tui_support;

use autopilot_tui::domain::{Child, Status};
use autopilot_tui::ui::app::{update, Effect};
use autopilot_tui::ui::keymap::Action;
use autopilot_tui::ui::store_thread::{StoreReply, StoreRequest};
use tui_support::*;

fn screen(a: &autopilot_tui::ui::app::App) -> String {
    let buf = render(a).backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

#[test]
fn a_parent_card_shows_how_many_subtasks_are_done() {
    let mut a = app(120, 24);
    let mut cards = sample_cards();
    cards[0].progress = Some((2, 5));
    load_board(&mut a, cards);
    let text = screen(&a);
    assert!(text.contains("#1 feature p2 2/5 done"), "{text}");
    assert_eq!(
        text.matches("/5 done").count(),
        1,
        "only the parent's card: {text}"
    );
}

#[test]
fn the_detail_lists_subtasks_and_opens_the_selected_one() {
    let mut a = app(100, 40);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Column(4));
    update(&mut a, Action::Open);
    let mut d = sample_detail();
    d.children = vec![
        Child {
            id: 11,
            title: "Persist the queue".into(),
            status: Status::Done,
        },
        Child {
            id: 12,
            title: "Back off exponentially".into(),
            status: Status::Ready,
        },
    ];
    a.on_store(StoreReply::Detail(Box::new(d)));
    let text = screen(&a);
    assert!(text.contains("── Subtasks (1/2 done) ──"), "{text}");
    assert!(text.contains("▸ #11 done · Persist the queue"), "{text}");
    assert!(text.contains("] select a subtask · O opens it"), "{text}");
    a.take_effects();
    a.on_key(key(']'));
    assert!(screen(&a).contains("▸ #12 ready · Back off"));
    a.on_key(key('O'));
    let fx = a.take_effects();
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Store(StoreRequest::Detail(12)))),
        "{fx:?}"
    );
}

#[test]
fn p_asks_the_runner_for_a_split_and_the_answer_is_a_toast() {
    use autopilot_tui::runner::{RunnerCommand, RunnerEvent};
    let mut a = app(100, 30);
    load_board(&mut a, sample_cards());
    a.take_effects();
    a.on_key(key('P'));
    let fx = a.take_effects();
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Runner(RunnerCommand::Split { issue_id: 1 }))),
        "{fx:?}"
    );
    assert!(screen(&a).contains("planning #1…"));
    a.on_runner(RunnerEvent::Split {
        issue_id: 1,
        result: Ok(vec![11, 12]),
    });
    assert!(screen(&a).contains("#1 split into #11, #12 (in backlog)"));
    a.on_runner(RunnerEvent::Split {
        issue_id: 1,
        result: Err("the planner failed: overloaded (run 3)".into()),
    });
    assert!(screen(&a).contains("#1 not split: the planner failed"));
    // From an issue's detail too.
    update(&mut a, Action::Column(4));
    update(&mut a, Action::Open);
    a.on_store(StoreReply::Detail(Box::new(sample_detail())));
    a.take_effects();
    a.on_key(key('P'));
    let fx = a.take_effects();
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Runner(RunnerCommand::Split { issue_id: 8 }))),
        "{fx:?}"
    );

    let mut watcher = app(100, 30);
    watcher.set_has_runner(false);
    load_board(&mut watcher, sample_cards());
    watcher.take_effects();
    watcher.on_key(key('P'));
    assert!(!watcher
        .take_effects()
        .iter()
        .any(|e| matches!(e, Effect::Runner(_))));
    assert!(screen(&watcher).contains("no runner here: run `autopilot-tui split 1`"));
}
