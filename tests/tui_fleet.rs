//! The fleet list: when more agents run than panes fit, one line per agent and the selected
//! agent's pane. Snapshots at the sizes users run (80×24 to 300×100) and the navigation keys.

mod tui_support;

use autopilot_tui::domain::{Kind, RunOutcome, Status};
use autopilot_tui::runner::{Estimate, LineKind, RunnerEvent};
use autopilot_tui::ui::app::{update, App, Focus};
use autopilot_tui::ui::keymap::Action;
use crossterm::event::KeyCode;
use tui_support::*;

const TITLES: [&str; 8] = [
    "Parse config overrides from env",
    "Retry webhook deliveries with exponential backoff and a dead-letter queue",
    "Fix",
    "Export board as CSV",
    "Onboarding copy is confusing",
    "Migrate sessions table",
    "Rate-limit the public API per token",
    "Bump dependencies",
];

/// An issue id per slot: two digits and three, so the id column has to line up.
fn issue_of(slot: usize) -> i64 {
    if slot % 5 == 4 {
        1000 + slot as i64
    } else {
        40 + slot as i64
    }
}

/// `n` agents started a few seconds apart, each with some output, most with an estimate;
/// every seventh has finished, one title tries to break its row. In-progress cards for the
/// running ones fill the board.
fn fleet(w: u16, h: u16, n: usize) -> App {
    let mut a = app(w, h);
    let mut cards = sample_cards();
    for slot in 0..n {
        a.set_now(NOW + slot as i64 * 7_000);
        let run = 100 + slot as i64;
        let title = if slot == 3 {
            "Hostile\n\u{1b}[2Jtitle\u{1b}]0;PWNED\u{7}"
        } else {
            TITLES[slot % TITLES.len()]
        };
        a.on_runner(started(slot, run, issue_of(slot), title));
        a.on_runner(output(
            slot,
            run,
            &[
                (LineKind::Meta, "● session claude-opus"),
                (LineKind::Tool, "▸ Read src/config.rs"),
                (
                    LineKind::Text,
                    &format!("\u{1b}[32mstep {slot}\u{1b}[0m: reading the loader\u{1b}]0;x\u{7}"),
                ),
            ],
        ));
        if slot % 3 != 2 {
            a.on_runner(RunnerEvent::Progress {
                run_id: run,
                turns: Some(slot as i64),
                cost_usd: None,
                estimate: Some(Estimate::Usd(0.05 * slot as f64)),
            });
        }
        if slot % 7 == 6 {
            a.on_runner(RunnerEvent::Progress {
                run_id: run,
                turns: None,
                cost_usd: Some(1.25),
                estimate: None,
            });
            a.on_runner(finished(slot, run));
        } else {
            let mut c = card(issue(
                issue_of(slot),
                TITLES[slot % TITLES.len()],
                Status::InProgress,
                Kind::Feature,
            ));
            c.issue.claimed_by = Some(format!("box-{}", slot + 1));
            cards.push(c);
        }
    }
    load_board(&mut a, cards);
    a.set_now(NOW + 600_000);
    a
}

fn finished(slot: usize, run_id: i64) -> RunnerEvent {
    RunnerEvent::RunFinished {
        slot,
        run_id,
        issue_id: issue_of(slot),
        outcome: RunOutcome::Implemented,
        status: Status::InReview,
        summary: "done".into(),
    }
}

/// The rendered screen as text rows.
fn rows(a: &App) -> Vec<String> {
    let t = render(a);
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

#[test]
fn fleet_80x24_with_32_agents() {
    let mut a = fleet(80, 24, 32);
    update(&mut a, Action::CycleFocus);
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn fleet_80x24_with_64_agents_scrolled_to_the_focused_one() {
    let mut a = fleet(80, 24, 64);
    update(&mut a, Action::CycleFocus);
    for _ in 0..40 {
        a.on_key(key('j'));
    }
    assert_eq!(a.panes().cursor(), 40);
    let screen = rows(&a);
    assert!(
        screen.iter().any(|r| r.starts_with("▶ #80 ")),
        "the focused agent's line is shown: {screen:#?}"
    );
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn fleet_200x50_with_32_agents() {
    let mut a = fleet(200, 50, 32);
    update(&mut a, Action::CycleFocus);
    a.on_key(key('j'));
    a.on_key(key('j'));
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn fleet_300x100_with_64_agents() {
    let a = fleet(300, 100, 64);
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn a_few_agents_keep_their_panes() {
    // Two agents at 160 columns sit side by side as panes; no list.
    let a = fleet(160, 40, 2);
    assert!(!rows(&a).iter().any(|r| r.contains("agents 2")));
}

#[test]
fn hostile_output_and_titles_never_reach_the_screen_raw() {
    let a = fleet(200, 50, 8);
    for r in rows(&a) {
        assert!(!r.contains('\u{1b}') && !r.contains('\u{7}'), "{r:?}");
        assert!(!r.contains("PWNED") || r.contains("Hostile"), "{r:?}");
    }
}

#[test]
fn tab_j_and_k_move_between_agents_and_esc_goes_back() {
    let mut a = fleet(80, 24, 32);
    update(&mut a, Action::CycleFocus);
    assert_eq!((a.focus(), a.panes().cursor()), (Focus::Panes, 0));
    let hints = rows(&a).pop().unwrap_or_default();
    assert!(
        hints.contains("j next") && !hints.contains("tab focus"),
        "the hint bar shows what tab does here: {hints}"
    );
    a.on_key(key('j'));
    a.on_key(code(KeyCode::Tab));
    assert_eq!(a.panes().cursor(), 2);
    a.on_key(key('k'));
    assert_eq!(a.panes().cursor(), 1);
    a.on_key(code(KeyCode::BackTab));
    a.on_key(key('k'));
    assert_eq!(a.panes().cursor(), 31, "wraps around");
    assert_eq!(a.focus(), Focus::Panes, "tab stays among the agents");
    // the pane's own body still scrolls with the arrows
    a.on_key(code(KeyCode::Up));
    assert!(!a.panes().list()[31].follow);
    // esc on a running agent goes back to the board
    a.on_key(code(KeyCode::Esc));
    assert_eq!(a.focus(), Focus::Board);
}

#[test]
fn z_zooms_the_focused_agent_and_z_or_esc_come_back() {
    let mut a = fleet(80, 24, 32);
    update(&mut a, Action::CycleFocus);
    a.on_key(key('j'));
    a.on_key(key('z'));
    assert!(a.panes().zoomed());
    let screen = rows(&a);
    assert!(
        !screen.iter().any(|r| r.contains("agents 32")),
        "the zoomed pane fills the area: {screen:#?}"
    );
    assert!(screen
        .iter()
        .any(|r| r.contains("step 1: reading the loader")));
    a.on_key(key('z'));
    assert!(!a.panes().zoomed());
    assert!(rows(&a).iter().any(|r| r.contains("agents 32")));
    a.on_key(key('z'));
    a.on_key(code(KeyCode::Esc));
    assert!(!a.panes().zoomed());
    assert_eq!(a.focus(), Focus::Panes, "esc leaves zoom first");
}

#[test]
fn agents_keep_their_place_as_others_finish_and_start() {
    let mut a = fleet(80, 24, 32);
    update(&mut a, Action::CycleFocus);
    for _ in 0..20 {
        a.on_key(key('j'));
    }
    let order = |a: &App| a.panes().list().iter().map(|p| p.slot).collect::<Vec<_>>();
    let before = order(&a);
    let focused = a.panes().selected().map(|p| p.run_id);
    // slot 10 finishes: its line stays where it was
    a.on_runner(finished(10, 110));
    assert_eq!(order(&a), before);
    assert_eq!(a.panes().list()[10].issue_id, issue_of(10));
    // a new run in slot 10 takes that line; the others do not move
    a.on_runner(started(10, 500, 77, "A new one"));
    assert_eq!(order(&a), before);
    assert_eq!(a.panes().list()[10].issue_id, 77);
    assert_eq!(a.panes().selected().map(|p| p.run_id), focused);
    // slot 5 finishes and is dismissed; when it runs again, its line comes back above the
    // focused agent and the focus stays on that agent
    a.on_runner(finished(5, 105));
    for _ in 0..15 {
        a.on_key(key('k'));
    }
    assert_eq!(a.panes().selected().map(|p| p.slot), Some(5));
    a.on_key(code(KeyCode::Esc));
    for _ in 0..14 {
        a.on_key(key('j'));
    }
    assert_eq!(a.panes().selected().map(|p| p.run_id), focused);
    a.on_runner(started(5, 600, 78, "Again"));
    assert_eq!(a.panes().selected().map(|p| p.run_id), focused);
    assert_eq!(order(&a), before);
}

#[test]
fn agents_starting_in_any_order_leave_the_selection_on_the_first_until_one_is_picked() {
    let mut a = app(80, 24);
    for slot in (0..8).rev() {
        a.on_runner(started(slot, 100 + slot as i64, issue_of(slot), "t"));
    }
    assert_eq!(a.panes().selected().map(|p| p.slot), Some(0));
    assert!(rows(&a).iter().any(|r| r.starts_with("▶ #40 ")));
}

#[test]
fn a_click_on_a_fleet_line_selects_that_agent() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mut a = fleet(200, 50, 32);
    a.set_mouse(true);
    let screen = rows(&a);
    let y = screen
        .iter()
        .position(|r| r.starts_with("  #45 "))
        .expect("agent #45's line") as u16;
    a.on_mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 3,
        row: y,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(a.focus(), Focus::Panes);
    assert_eq!(a.panes().selected().map(|p| p.issue_id), Some(45));
}

#[test]
fn the_in_progress_column_pages_through_64_cards() {
    let mut a = fleet(200, 50, 64);
    update(&mut a, Action::Column(2));
    update(&mut a, Action::Bottom);
    insta::assert_snapshot!(render(&a).backend());
}
