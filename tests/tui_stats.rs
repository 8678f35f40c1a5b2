//! Spend on screen: today's spend in the header, each card's total, and the stats overlay
//! (`S`): drawn into ratatui's TestBackend and driven by keys, without a terminal.

mod tui_support;

use std::collections::BTreeMap;

use autopilot_tui::domain::stats::{DaySpend, Durations, Flow, IssueSpend, Stats};
use autopilot_tui::domain::{Kind, Printable, Status};
use autopilot_tui::ui::app::{App, Effect};
use autopilot_tui::ui::store_thread::{StatsReport, StoreReply, StoreRequest};
use crossterm::event::KeyCode;
use tui_support::*;

fn report() -> StatsReport {
    let days = (17..=30)
        .map(|d| DaySpend {
            day: format!("2026-11-{d:02}"),
            cost_usd: match d {
                24 => 1.2,
                28 => 12.34,
                30 => 3.42,
                _ => 0.0,
            },
            runs: i64::from(d % 3),
        })
        .collect();
    let issue = |id, title: &str, cost_usd| IssueSpend {
        id,
        title: title.into(),
        status: Status::Done,
        cost_usd,
        runs: 2,
    };
    let stats = Stats {
        total_cost_usd: 16.96,
        today_cost_usd: 3.42,
        runs: 9,
        by_outcome: BTreeMap::from([
            ("implemented".to_string(), 5),
            ("blocked".to_string(), 2),
            ("failed".to_string(), 1),
            ("running".to_string(), 1),
        ]),
        top_issues: vec![
            issue(6, "Parse config overrides from env", 9.5),
            issue(8, "\u{1b}[2JRetry webhook\ndeliveries\u{202e}", 4.25),
            issue(3, "Onboarding copy is confusing", 1.2),
        ],
        flow: Flow {
            lead_time: Durations::of_millis(vec![3_840_000]),
            cycle_time: Durations::of_millis(vec![723_000, 600_000]),
            blocked_time: Durations::of_millis(vec![250_000]),
            first_runs: 5,
            first_try_reviews: 4,
            success_rate: Some(0.8),
            ..Flow::default()
        },
        ..Stats::default()
    };
    // The store thread makes the report printable; so does this sample.
    StatsReport {
        stats: stats.printable(),
        days,
    }
}

fn stores(a: &mut App) -> Vec<StoreRequest> {
    a.take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Store(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn open_stats(a: &mut App) {
    a.on_key(key('S'));
    let asked = stores(a);
    assert!(
        asked.iter().any(|r| matches!(r, StoreRequest::Stats)),
        "{asked:?}"
    );
    a.on_store(StoreReply::Stats(Box::new(report())));
}

#[test]
fn header_and_cards_show_spend_80x24() {
    let mut a = app(80, 24);
    a.set_daily_budget(Some(20.0));
    let mut cards = sample_cards();
    for c in &mut cards {
        c.spend_usd = match c.issue.id {
            1 => 0.0,
            6 => 1.2,
            _ => 12.345,
        };
    }
    // A long title with a spend still fits the narrow column.
    cards.push(card(issue(
        99,
        "A title long enough to need cutting in a narrow column",
        Status::Backlog,
        Kind::Feature,
    )));
    if let Some(c) = cards.last_mut() {
        c.spend_usd = 123.4;
        c.issue.priority = 2;
    }
    load_board(&mut a, cards);
    a.on_store(StoreReply::Spend(3.42));
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn header_shows_no_spend_before_the_first_without_a_budget() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.on_store(StoreReply::Spend(0.0));
    let screen = format!("{:?}", render(&a).backend());
    assert!(!screen.contains("today"), "{screen}");
    a.on_store(StoreReply::Spend(0.5));
    let screen = format!("{:?}", render(&a).backend());
    assert!(screen.contains("today $0.50"), "{screen}");
    assert!(!screen.contains("today $0.50 /"), "{screen}");
}

#[test]
fn stats_overlay_80x24() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    open_stats(&mut a);
    a.on_key(key('j'));
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn stats_overlay_160x40() {
    let mut a = app(160, 40);
    load_board(&mut a, sample_cards());
    open_stats(&mut a);
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn stats_overlay_says_it_is_loading_until_the_report_arrives() {
    let mut a = app(80, 24);
    a.on_key(key('S'));
    let screen = format!("{:?}", render(&a).backend());
    assert!(screen.contains("loading…"), "{screen}");
}

#[test]
fn enter_in_the_stats_opens_the_selected_issue_and_esc_closes() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    open_stats(&mut a);
    a.on_key(key('j'));
    a.on_key(key('j'));
    a.on_key(key('k'));
    a.on_key(code(KeyCode::Enter));
    assert!(a.stats().is_none());
    assert_eq!(a.detail().map(|d| d.id()), Some(8));
    assert!(stores(&mut a)
        .iter()
        .any(|r| matches!(r, StoreRequest::Detail(8))));
    // Over the detail too, and its keys stay its own: `c` does not comment.
    open_stats(&mut a);
    a.on_key(key('c'));
    assert!(a.editor().is_none());
    a.on_key(code(KeyCode::Esc));
    assert!(a.stats().is_none());
    assert_eq!(a.detail().map(|d| d.id()), Some(8));
    // `S` toggles it.
    open_stats(&mut a);
    a.on_key(key('S'));
    assert!(a.stats().is_none());
}

#[test]
fn the_open_overlay_reloads_when_the_store_changes() {
    let mut a = app(80, 24);
    let changed = || StoreReply::Changed {
        events: Vec::new(),
        pause: Default::default(),
    };
    a.on_store(changed());
    assert!(!stores(&mut a)
        .iter()
        .any(|r| matches!(r, StoreRequest::Stats)));
    open_stats(&mut a);
    a.on_store(changed());
    assert!(stores(&mut a)
        .iter()
        .any(|r| matches!(r, StoreRequest::Stats)));
}
