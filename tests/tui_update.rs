//! Pure `update` tests: actions and background events in, state and queued effects out. No
//! terminal, no database, no clock.

mod tui_support;

use autopilot_tui::domain::{Actor, ActorId, Event, EventKind, Kind, Status};
use autopilot_tui::runner::{LineKind, RunnerCommand, RunnerEvent};
use autopilot_tui::store::{PauseState, StatusCounts};
use autopilot_tui::ui::app::{update, Effect, Focus, PANE_CAPACITY};
use autopilot_tui::ui::keymap::Action;
use autopilot_tui::ui::store_thread::{ColumnWindow, StoreReply, StoreRequest};
use crossterm::event::KeyCode;
use tui_support::*;

fn store_requests(effects: &[Effect]) -> Vec<&StoreRequest> {
    effects
        .iter()
        .filter_map(|e| {
            if let Effect::Store(r) = e {
                Some(r)
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn hand_off_moves_a_backlog_card_to_ready() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.take_effects();
    update(&mut a, Action::HandOff);
    let fx = a.take_effects();
    assert!(
        matches!(
            store_requests(&fx)[..],
            [StoreRequest::Move(1, Status::Ready)]
        ),
        "{fx:?}"
    );
}

#[test]
fn hand_off_elsewhere_explains_instead_of_moving() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.take_effects();
    update(&mut a, Action::Column(5));
    update(&mut a, Action::HandOff);
    assert!(store_requests(&a.take_effects()).is_empty());
    assert!(a
        .toasts()
        .list()
        .last()
        .is_some_and(|t| t.text.contains("hand off works from backlog")));
}

#[test]
fn accept_asks_the_runner_to_merge_and_never_moves_by_itself() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.take_effects();
    a.on_key(key('5'));
    a.on_key(key('a'));
    let fx = a.take_effects();
    assert!(matches!(fx[..], [Effect::Accept(8)]), "{fx:?}");
    assert!(store_requests(&fx).is_empty(), "done only after the merge");
}

#[test]
fn how_an_accept_ended_is_toasted_and_a_conflict_points_at_request_changes() {
    use autopilot_tui::runner::review::accept::{AcceptError, Accepted};
    use autopilot_tui::runner::review::merge::MergeError;
    let mut a = app(80, 24);
    a.take_effects();
    a.on_accepted(
        8,
        Ok(Accepted {
            issue_id: 8,
            merged: "Accepted: merged b into main\u{1b}[2J".into(),
            notes: vec!["kept the worktree /w: it has uncommitted changes (x)".into()],
        }),
    );
    let texts: Vec<String> = a.toasts().list().iter().map(|t| t.text.clone()).collect();
    assert!(
        texts.iter().any(|t| t == "Accepted: merged b into main"),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("kept the worktree")),
        "{texts:?}"
    );
    assert!(matches!(
        a.take_effects()[..],
        [Effect::Store(StoreRequest::Poll)]
    ));
    let conflict = MergeError::Conflict {
        base: "main".into(),
        branch: "b".into(),
        files: vec!["src/lib.rs".into()],
    };
    a.on_accepted(
        8,
        Err(AcceptError::Merge {
            id: 8,
            error: conflict,
        }),
    );
    let last = a.toasts().list().last().unwrap().text.clone();
    assert!(
        last.contains("src/lib.rs") && last.contains("R sends it back to the agent"),
        "{last}"
    );
}

#[test]
fn request_changes_opens_an_editor_then_sends_the_comment() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.take_effects();
    update(&mut a, Action::Column(4));
    a.on_key(key('R'));
    assert!(a.editor().is_some());
    // The store is asked for a draft (there is one after an accept conflicted).
    let fx = a.take_effects();
    assert!(store_requests(&fx)
        .iter()
        .any(|r| matches!(r, StoreRequest::ChangesDraft(8))));
    type_text(&mut a, "Cap the backoff at 10 minutes.");
    a.on_key(ctrl('s'));
    let fx = a.take_effects();
    match store_requests(&fx)[..] {
        [StoreRequest::RequestChanges(8, body)] => {
            assert_eq!(body, "Cap the backoff at 10 minutes.")
        }
        _ => panic!("{fx:?}"),
    }
    assert!(a.editor().is_none());
}

#[test]
fn something_made_ready_wakes_the_runner() {
    let mut a = app(80, 24);
    let mut i = issue(4, "x", Status::Ready, Kind::Bug);
    i.priority = 1;
    a.on_store(StoreReply::Done {
        message: "#4 → ready".into(),
        issue: Some(Box::new(i.clone())),
    });
    assert!(a
        .take_effects()
        .iter()
        .any(|e| matches!(e, Effect::Runner(RunnerCommand::Wake))));
    a.set_has_runner(false);
    a.on_store(StoreReply::Done {
        message: "#4 → ready".into(),
        issue: Some(Box::new(i)),
    });
    assert!(!a
        .take_effects()
        .iter()
        .any(|e| matches!(e, Effect::Runner(_))));
}

#[test]
fn quitting_with_running_agents_asks_first() {
    let mut a = app(80, 24);
    a.on_runner(started(0, 1, 6, "x"));
    a.on_key(key('q'));
    assert!(!a.quit_requested() && a.confirm().is_some());
    a.on_key(key('n'));
    assert!(!a.quit_requested() && a.confirm().is_none());
    a.on_key(key('q'));
    a.on_key(key('y'));
    assert!(a.quit_requested());

    let mut idle = app(80, 24);
    idle.on_key(key('q'));
    assert!(idle.quit_requested());
}

#[test]
fn quitting_can_wait_for_running_agents_to_finish() {
    let mut a = app(80, 24);
    a.on_runner(started(0, 1, 6, "x"));
    a.take_effects();
    a.on_key(key('q'));
    a.on_key(key('w'));
    assert!(!a.quit_requested() && a.confirm().is_none() && a.quit_when_idle());
    let fx = a.take_effects();
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Runner(RunnerCommand::Drain))),
        "{fx:?}"
    );
    assert_eq!(a.running(), 1);
    a.on_runner(RunnerEvent::RunFinished {
        slot: 0,
        run_id: 1,
        issue_id: 6,
        outcome: autopilot_tui::domain::RunOutcome::Implemented,
        status: Status::InReview,
        summary: String::new(),
    });
    assert_eq!(
        a.running(),
        0,
        "the event loop quits once this reaches zero"
    );
    // q again while waiting stops them instead
    let mut b = app(80, 24);
    b.on_runner(started(0, 1, 6, "x"));
    b.on_key(key('q'));
    b.on_key(key('w'));
    b.on_key(key('q'));
    b.on_key(key('s'));
    assert!(b.quit_requested());
}

#[test]
fn inbox_reply_stores_a_human_comment() {
    let mut a = app(80, 24);
    a.on_store(StoreReply::Inbox(sample_inbox()));
    assert_eq!(a.inbox().unread(), 2);
    a.on_key(key('i'));
    assert_eq!(a.focus(), Focus::Inbox);
    assert_eq!(a.inbox().unread(), 0);
    a.on_key(key('j'));
    a.on_key(code(KeyCode::Enter));
    type_text(&mut a, "Per token.");
    a.on_key(ctrl('s'));
    let fx = a.take_effects();
    match store_requests(&fx)[..] {
        [StoreRequest::Comment(11, body)] => assert_eq!(body, "Per token."),
        _ => panic!("{fx:?}"),
    }
}

#[test]
fn new_issue_needs_a_title_and_keeps_kind_and_priority() {
    let mut a = app(80, 24);
    a.on_key(key('n'));
    a.on_key(ctrl('s'));
    assert!(a.editor().is_some_and(|e| e.error().is_some()));
    assert!(a.take_effects().is_empty());
    type_text(&mut a, "Add a --json flag\nbody line");
    a.on_key(code(KeyCode::Tab));
    a.on_key(code(KeyCode::Right));
    a.on_key(code(KeyCode::Tab));
    a.on_key(key('3'));
    a.on_key(ctrl('s'));
    let fx = a.take_effects();
    match store_requests(&fx)[..] {
        [StoreRequest::Create(new)] => {
            assert_eq!(new.title, "Add a --json flag");
            assert_eq!(new.body, "body line");
            assert_eq!(new.kind, Kind::Bug);
            assert_eq!(new.priority, 3);
        }
        _ => panic!("{fx:?}"),
    }
}

#[test]
fn keys_typed_into_an_editor_are_not_commands() {
    let mut a = app(80, 24);
    a.on_key(key('n'));
    type_text(&mut a, "quit");
    assert!(!a.quit_requested());
    a.on_key(code(KeyCode::Esc));
    assert!(a.editor().is_none());
}

#[test]
fn pane_memory_is_bounded_and_scrollback_holds_still() {
    let mut a = app(80, 24);
    a.on_runner(started(0, 1, 6, "x"));
    let many: Vec<(LineKind, String)> = (0..PANE_CAPACITY + 500)
        .map(|i| (LineKind::Text, format!("line {i}")))
        .collect();
    let refs: Vec<(LineKind, &str)> = many.iter().map(|(k, s)| (*k, s.as_str())).collect();
    a.on_runner(output(0, 1, &refs));
    assert_eq!(a.panes().list()[0].lines.len(), PANE_CAPACITY);
    assert_eq!(
        a.panes().list()[0].lines.back().map(|l| l.text.as_str()),
        Some("line 2499")
    );
    update(&mut a, Action::CycleFocus);
    assert_eq!(a.focus(), Focus::Panes);
    update(&mut a, Action::Up);
    assert!(!a.panes().list()[0].follow);
    a.on_runner(output(0, 1, &[(LineKind::Text, "new")]));
    assert_eq!(
        a.panes().list()[0].scroll,
        2,
        "the view should stay on the same lines"
    );
    a.on_key(key('f'));
    assert!(a.panes().list()[0].follow);
    assert_eq!(a.panes().list()[0].scroll, 0);
}

#[test]
fn pause_goes_to_the_runner_or_to_the_store() {
    let mut a = app(80, 24);
    a.on_key(key('p'));
    assert!(matches!(
        &a.take_effects()[..],
        [Effect::Runner(RunnerCommand::SetPaused { paused: true, by })] if *by == a.user()
    ));
    assert!(a.pause().paused);
    a.set_has_runner(false);
    a.on_key(key('p'));
    assert!(matches!(
        a.take_effects()[..],
        [Effect::Store(StoreRequest::SetPaused(false))]
    ));
}

#[test]
fn p_during_a_rate_limit_hold_resumes_and_lifts_it() {
    let mut a = app(80, 24);
    a.on_store(StoreReply::Changed {
        events: Vec::new(),
        pause: PauseState {
            paused: false,
            until: Some(NOW + 3_600_000),
            reason: Some("rate limited: usage limit reached".into()),
        },
    });
    a.take_effects();
    assert_eq!(a.held_until(), Some(NOW + 3_600_000));
    // held (not paused by a person): `p` resumes, as `autopilot-tui resume` does
    a.on_key(key('p'));
    assert!(
        matches!(
            &a.take_effects()[..],
            [Effect::Runner(RunnerCommand::SetPaused {
                paused: false,
                ..
            })]
        ),
        "p during a hold must resume, not pause"
    );
    assert_eq!(a.held_until(), None);
    assert!(!a.pause().paused);
    // the same without a runner in this process: the store call the CLI's resume makes
    a.set_has_runner(false);
    a.on_store(StoreReply::Changed {
        events: Vec::new(),
        pause: PauseState {
            paused: false,
            until: Some(NOW + 60_000),
            reason: None,
        },
    });
    a.take_effects();
    a.on_key(key('p'));
    assert!(matches!(
        a.take_effects()[..],
        [Effect::Store(StoreRequest::SetPaused(false))]
    ));
    // a hold that ended is no hold: `p` pauses again
    a.on_store(StoreReply::Changed {
        events: Vec::new(),
        pause: PauseState {
            paused: false,
            until: Some(NOW - 1),
            reason: None,
        },
    });
    a.take_effects();
    a.on_key(key('p'));
    assert!(matches!(
        a.take_effects()[..],
        [Effect::Store(StoreRequest::SetPaused(true))]
    ));
}

#[test]
fn x_stops_the_agent_of_the_selected_issue() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.take_effects();
    a.on_key(key('3'));
    a.on_key(key('x'));
    let fx = a.take_effects();
    assert!(
        matches!(&fx[..], [Effect::Runner(RunnerCommand::Stop { issue_id: 6, by })] if by == "ana"),
        "{fx:?}"
    );
}

#[test]
fn scrolling_far_requests_only_the_visible_window() {
    let mut a = app(80, 24);
    let cards: Vec<_> = (1..=30)
        .map(|i| card(issue(i, "t", Status::Backlog, Kind::Chore)))
        .collect();
    let mut counts = StatusCounts::default();
    counts.0[0] = 100_000;
    let mut columns = vec![ColumnWindow::default(); 6];
    columns[0].cards = cards;
    a.on_store(StoreReply::Board {
        gen: 1_000_000,
        counts,
        columns,
    });
    a.take_effects();
    a.on_key(key('j'));
    assert!(
        a.take_effects().is_empty(),
        "a small move stays inside the loaded window"
    );
    a.on_key(key('G'));
    let fx = a.take_effects();
    match store_requests(&fx)[..] {
        [StoreRequest::Board { windows, .. }] => {
            let (offset, limit) = windows[0];
            assert!(offset > 99_000 && limit < 100, "window {offset}+{limit}");
        }
        _ => panic!("{fx:?}"),
    }
    assert_eq!(a.board().columns()[0].cursor, 99_999);
}

#[test]
fn stale_board_replies_are_dropped() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    let mut counts = StatusCounts::default();
    counts.0[0] = 1;
    a.on_store(StoreReply::Board {
        gen: 1,
        counts,
        columns: vec![ColumnWindow::default(); 6],
    });
    assert_eq!(a.board().columns()[0].count, 3);
}

#[test]
fn store_changes_toast_reload_and_ring_for_blocked() {
    let mut a = app(80, 24);
    a.set_bell(true);
    let ev = |id: i64, kind: EventKind| Event {
        id,
        ts: NOW,
        kind,
        issue_id: Some(7),
        actor: ActorId::agent("box-1"),
    };
    a.on_store(StoreReply::Changed {
        events: vec![
            ev(
                1,
                EventKind::RunStarted {
                    run_id: 3,
                    slot: 0,
                    pid: 1,
                },
            ),
            ev(
                2,
                EventKind::IssueStatus {
                    from: Status::InProgress,
                    to: Status::Blocked,
                    actor: Actor::Agent,
                    claimed_by: None,
                },
            ),
        ],
        pause: PauseState {
            paused: true,
            ..PauseState::default()
        },
    });
    let fx = a.take_effects();
    assert!(fx.iter().any(|e| matches!(e, Effect::Bell)));
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Store(StoreRequest::Board { .. }))));
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Store(StoreRequest::Inbox))));
    let texts: Vec<&str> = a.toasts().list().iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        texts,
        ["#7 agent box-1 started", "#7 blocked — needs you (i)"]
    );
    assert!(a.pause().paused);
    update(&mut a, Action::OpenToast);
    assert_eq!(a.detail().map(|d| d.id()), Some(7));
}

#[test]
fn idle_means_no_ticks_and_toasts_expire() {
    let mut a = app(80, 24);
    assert!(!a.needs_tick());
    a.toast(autopilot_tui::ui::app::Level::Info, "hi", None);
    assert!(a.needs_tick());
    a.mark_drawn();
    a.tick(NOW + 10_000);
    assert!(a.toasts().is_empty());
    assert!(a.is_dirty());
    assert!(!a.needs_tick());
}

#[test]
fn filter_typing_reloads_with_the_filter() {
    let mut a = app(80, 24);
    a.on_key(key('/'));
    type_text(&mut a, "web");
    let fx = a.take_effects();
    match store_requests(&fx).last() {
        Some(StoreRequest::Board { filter, .. }) => assert_eq!(filter, "web"),
        _ => panic!("{fx:?}"),
    }
    a.on_key(code(KeyCode::Enter));
    assert_eq!(a.board().filter(), "web");
    a.on_key(code(KeyCode::Esc));
    assert_eq!(a.board().filter(), "");
}

#[test]
fn tab_skips_panes_when_no_agent_runs() {
    let mut a = app(80, 24);
    a.on_key(code(KeyCode::Tab));
    assert_eq!(a.focus(), Focus::Inbox);
    a.on_key(code(KeyCode::Tab));
    assert_eq!(a.focus(), Focus::Board);
    a.on_runner(started(0, 1, 6, "x"));
    a.on_key(code(KeyCode::Tab));
    assert_eq!(a.focus(), Focus::Panes);
}

#[test]
fn runner_problems_become_a_banner_not_a_crash() {
    let mut a = app(80, 24);
    a.on_runner(RunnerEvent::Problem("claude refuses root".into()));
    assert_eq!(a.banner(), Some("claude refuses root"));
    a.on_runner(RunnerEvent::ProblemCleared);
    assert!(a.banner().is_none());
}

#[test]
fn enter_on_a_focused_notification_opens_its_issue() {
    use autopilot_tui::ui::app::Level;
    let mut a = app(120, 32);
    a.toast(Level::Warn, "#7 blocked — needs you (i)", Some(7));
    a.toast(Level::Ok, "#9 ready for review", Some(9));
    a.toast(Level::Info, "claiming paused", None);
    a.take_effects();
    // tab cycles board → inbox → notifications (no panes yet)
    update(&mut a, Action::CycleFocus);
    assert_eq!(a.focus(), Focus::Inbox);
    update(&mut a, Action::CycleFocus);
    assert_eq!(a.focus(), Focus::Toasts);
    assert_eq!(
        a.selected_issue(),
        Some((9, None)),
        "starts on the newest with an issue"
    );
    // notifications hold still while focused
    a.tick(a.now() + 60_000);
    assert_eq!(a.toasts().list().len(), 3);
    update(&mut a, Action::Up);
    assert_eq!(a.selected_issue(), Some((7, None)));
    a.on_key(crossterm::event::KeyEvent::from(KeyCode::Enter));
    assert_eq!(a.focus(), Focus::Board);
    assert_eq!(a.detail().map(|d| d.id()), Some(7));
    let fx = a.take_effects();
    assert!(
        matches!(store_requests(&fx)[..], [StoreRequest::Detail(7)]),
        "{fx:?}"
    );
    // back on the board, time moves on again
    a.tick(a.now() + 60_000);
    assert!(a.toasts().is_empty());
}

#[test]
fn the_keys_overlay_filters_and_runs_what_is_selected() {
    let mut a = app(120, 40);
    load_board(&mut a, sample_cards());
    a.on_key(key('?'));
    assert!(a.help().is_some());
    let all = a.help_rows().len();
    // `/` types a filter; everything shown matches it
    a.on_key(key('/'));
    for c in "PAUSE".chars() {
        a.on_key(key(c));
    }
    a.on_key(code(KeyCode::Enter));
    let rows = a.help_rows();
    assert!(!rows.is_empty() && rows.len() < all, "{rows:?}");
    assert!(rows.iter().all(
        |r| r.desc.to_lowercase().contains("pause") || r.keys.to_lowercase().contains("pause")
    ));
    // typed letters were the filter, not commands
    assert!(a.take_effects().is_empty());
    // enter runs the selected key and closes the overlay
    a.on_key(code(KeyCode::Enter));
    assert!(a.help().is_none());
    assert!(matches!(
        &a.take_effects()[..],
        [Effect::Runner(RunnerCommand::SetPaused {
            paused: true,
            ..
        })]
    ));
}

#[test]
fn the_keys_overlay_only_runs_keys_that_apply_here() {
    let mut a = app(120, 40);
    load_board(&mut a, sample_cards());
    a.on_key(key('?'));
    a.on_key(key('/'));
    for c in "transcript of the selected run".chars() {
        a.on_key(key(c));
    }
    a.on_key(code(KeyCode::Enter));
    assert_eq!(a.help_rows().len(), 1);
    a.on_key(code(KeyCode::Enter));
    // a detail-view key on the board: the overlay stays and says where it works
    assert!(a.help().is_some());
    assert!(a.detail().is_none());
    assert!(a
        .toasts()
        .list()
        .iter()
        .any(|t| t.text.contains("works in Issue detail")));
    // esc while typing clears the filter; esc closes
    a.on_key(key('/'));
    a.on_key(code(KeyCode::Esc));
    assert_eq!(a.help_rows().len(), a.keymap().help_rows("").len());
    a.on_key(code(KeyCode::Esc));
    assert!(a.help().is_none());
}

fn mouse(
    kind: crossterm::event::MouseEventKind,
    column: u16,
    row: u16,
) -> crossterm::event::MouseEvent {
    crossterm::event::MouseEvent {
        kind,
        column,
        row,
        modifiers: crossterm::event::KeyModifiers::NONE,
    }
}

/// The first screen position where `hit` finds something.
fn find(a: &autopilot_tui::ui::app::App, hit: impl Fn(u16, u16) -> bool) -> (u16, u16) {
    let (w, h) = a.size();
    (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .find(|&(x, y)| hit(x, y))
        .expect("a position that hits")
}

#[test]
fn the_mouse_selects_cards_and_panes_and_scrolls_what_is_under_it() {
    use crossterm::event::{MouseButton, MouseEventKind};
    let mut a = app(160, 40);
    load_board(&mut a, sample_cards());
    a.on_runner(started(0, 21, 6, "First"));
    a.on_runner(started(1, 22, 5, "Second"));
    let click = MouseEventKind::Down(MouseButton::Left);
    // off by default: nothing happens
    let (x, y) = find(&a, |x, y| {
        a.board_hit(x, y).is_some_and(|(c, i)| c == 5 && i == 1)
    });
    a.on_mouse(mouse(click, x, y));
    assert_eq!(a.board().col(), 0);
    a.set_mouse(true);
    a.on_mouse(mouse(click, x, y));
    assert_eq!((a.board().col(), a.board().columns()[5].cursor), (5, 1));
    // a click on the second pane focuses it
    let (x, y) = find(&a, |x, y| a.pane_hit(x, y) == Some(1));
    a.on_mouse(mouse(click, x, y));
    assert_eq!((a.focus(), a.panes().cursor()), (Focus::Panes, 1));
    // the wheel over the first pane focuses and scrolls that one
    let (x, y) = find(&a, |x, y| a.pane_hit(x, y) == Some(0));
    a.on_mouse(mouse(MouseEventKind::ScrollUp, x, y));
    assert_eq!((a.focus(), a.panes().cursor()), (Focus::Panes, 0));
    // the wheel over the board gives it the focus back
    let (x, y) = find(&a, |x, y| a.board_hit(x, y).is_some());
    a.on_mouse(mouse(MouseEventKind::ScrollDown, x, y));
    assert_eq!(a.focus(), Focus::Board);
    // in the detail view the wheel scrolls it
    update(&mut a, Action::Open);
    let before = a.detail().map(|d| d.scroll());
    a.on_mouse(mouse(MouseEventKind::ScrollDown, 1, 1));
    assert_eq!(a.detail().map(|d| d.scroll()), before.map(|s| s + 1));
}

#[test]
fn what_cannot_change_the_screen_does_not_redraw_it() {
    use crossterm::event::MouseEventKind;
    let mut a = app(160, 40);
    load_board(&mut a, sample_cards());
    a.on_runner(started(0, 21, 6, "First"));
    a.set_mouse(true);
    // pointer movement with the mouse captured
    a.mark_drawn();
    a.on_mouse(mouse(MouseEventKind::Moved, 10, 10));
    assert!(!a.is_dirty());
    // agent output under an open detail view (the panes are hidden)
    update(&mut a, Action::Open);
    a.mark_drawn();
    a.on_runner(output(0, 21, &[(LineKind::Text, "more")]));
    assert!(!a.is_dirty());
    assert_eq!(
        a.panes().list()[0].lines.len(),
        1,
        "the pane still keeps the line"
    );
    update(&mut a, Action::Close);
    a.mark_drawn();
    a.on_runner(output(0, 21, &[(LineKind::Text, "again")]));
    assert!(a.is_dirty());
}

#[test]
fn the_cursor_scrolls_only_past_the_cards_the_board_draws() {
    // 200 columns show all six without the switcher strip; 49 rows leave each column room
    // for exactly 15 cards.
    let mut a = app(200, 49);
    let cards = (1..=30)
        .map(|id| card(issue(id, &format!("Card {id}"), Status::Ready, Kind::Chore)))
        .collect();
    load_board(&mut a, cards);
    update(&mut a, Action::Column(1));
    let rows = tui_support::render(&a);
    let drawn = (1..=30)
        .filter(|id| {
            let text = format!("Card {id} ");
            (0..49).any(|y| {
                (0..200u16)
                    .map(|x| rows.backend().buffer()[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .contains(&text)
            })
        })
        .count() as i64;
    assert_eq!(drawn, 15);
    assert_eq!(a.card_rows(), drawn);
    for _ in 0..drawn - 1 {
        update(&mut a, Action::Down);
    }
    assert_eq!(
        a.board().columns()[1].offset,
        0,
        "the last drawn card is selected without a scroll"
    );
    update(&mut a, Action::Down);
    assert_eq!(a.board().columns()[1].offset, 1);
}

#[test]
fn esc_and_a_key_read_together_as_alt_key_are_esc_then_the_key() {
    use crossterm::event::{KeyEvent, KeyModifiers};
    let alt = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT);
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.on_key(code(KeyCode::Enter));
    assert!(a.detail().is_some());
    // What tmux or a slow link delivers as one read when Esc then q are typed.
    a.on_key(alt('q'));
    assert!(a.detail().is_none(), "the Esc closed the detail");
    assert!(a.quit_requested(), "and the q asked to quit");

    // The keys overlay closes the same way; only while typing its filter is the key text.
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.on_key(key('?'));
    assert!(a.help().is_some());
    a.on_key(alt('q'));
    assert!(a.help().is_none() && a.quit_requested());
    let mut a = app(80, 24);
    a.on_key(key('?'));
    a.on_key(key('/'));
    a.on_key(alt('q'));
    assert!(
        a.help().is_some() && !a.quit_requested(),
        "typed into the filter"
    );

    // In a text field an alt-key is the field's own (word motions), never an Esc.
    let mut a = app(80, 24);
    a.on_key(key('n'));
    type_text(&mut a, "draft");
    a.on_key(alt('b'));
    assert!(a.editor().is_some(), "the editor stays open");
}
