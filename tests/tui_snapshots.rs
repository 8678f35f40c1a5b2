//! Screen tests: the whole UI drawn into ratatui's TestBackend, compared with reviewed snapshots.

mod tui_support;

use autopilot_tui::domain::RunOutcome;
use autopilot_tui::runner::{Estimate, LineKind, RunnerEvent};
use autopilot_tui::store::PauseState;
use autopilot_tui::ui::app::Level;
use autopilot_tui::ui::app::{update, App};
use autopilot_tui::ui::keymap::Action;
use autopilot_tui::ui::store_thread::StoreReply;
use crossterm::event::KeyCode;
use ratatui::style::Color;
use tui_support::*;

#[test]
fn board_80x24() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.on_store(StoreReply::Inbox(sample_inbox()));
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn board_80x24_focus_scrolls_to_later_columns() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Column(4));
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn board_200x50_with_panes() {
    let mut a = app(200, 50);
    load_board(&mut a, sample_cards());
    a.on_store(StoreReply::Inbox(sample_inbox()));
    a.on_runner(started(0, 21, 6, "Parse config overrides from env"));
    a.on_runner(output(
        0,
        21,
        &[
            (LineKind::Meta, "● session 5f1c claude-sonnet"),
            (LineKind::Text, "I'll read the config loader first."),
            (LineKind::Tool, "▸ Read src/config.rs"),
            (LineKind::Tool, "▸ Edit src/config.rs"),
            (LineKind::Tool, "▸ Bash cargo test config"),
            (LineKind::ToolOutput, "  test result: ok. 12 passed"),
        ],
    ));
    a.on_runner(RunnerEvent::Progress {
        run_id: 21,
        turns: Some(7),
        cost_usd: None,
        estimate: Some(Estimate::Usd(0.42)),
    });
    a.on_runner(started(1, 22, 5, "Onboarding copy is confusing"));
    a.on_runner(output(
        1,
        22,
        &[(LineKind::Text, "Looking at the onboarding screens.")],
    ));
    a.set_now(a.now() + 65_000);
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn the_estimate_is_marked_until_the_reported_cost_replaces_it() {
    let mut a = app(200, 50);
    load_board(&mut a, sample_cards());
    a.on_runner(started(0, 21, 6, "Parse config overrides from env"));
    let progress = |cost_usd, estimate| RunnerEvent::Progress {
        run_id: 21,
        turns: None,
        cost_usd,
        estimate,
    };
    a.on_runner(progress(None, Some(Estimate::Unknown)));
    let screen = render(&a).backend().to_string();
    assert!(
        screen.contains("· cost unknown until the result"),
        "{screen}"
    );
    a.on_runner(progress(None, Some(Estimate::Usd(1.234))));
    let screen = render(&a).backend().to_string();
    assert!(screen.contains("· est. ~$1.23"), "the pane: {screen}");
    assert!(
        screen.contains("▶ box-1 · 0s · ~$1.23"),
        "the card: {screen}"
    );
    // The result's reported cost: no marker, and a later estimate does not bring it back.
    a.on_runner(progress(Some(0.987), None));
    a.on_runner(progress(None, Some(Estimate::Usd(2.0))));
    let screen = render(&a).backend().to_string();
    assert!(
        screen.contains("▶ box-1 · 0s · $0.99"),
        "the card: {screen}"
    );
    assert!(
        screen.contains("running · box-1 · 0s · $0.99"),
        "the pane: {screen}"
    );
    assert!(
        !screen.contains('~') && !screen.contains("est."),
        "{screen}"
    );
}

#[test]
fn panes_render_ansi_colours_without_escape_sequences() {
    let mut a = app(100, 30);
    load_board(&mut a, sample_cards());
    a.on_runner(started(0, 21, 6, "Parse config overrides from env"));
    a.on_runner(output(
        0,
        21,
        &[
            (LineKind::Tool, "▸ Bash cargo test"),
            (
                LineKind::ToolOutput,
                "  \u{1b}[31mFAILED\u{1b}[0m tests::parses_env",
            ),
            (
                LineKind::ToolOutput,
                "  \u{1b}[1;32mok\u{1b}[0m tests::defaults",
            ),
        ],
    ));
    update(&mut a, Action::CycleFocus);
    update(&mut a, Action::Zoom);
    let t = render(&a);
    let buf = t.backend().buffer().clone();
    let text: String = buf.content().iter().map(|c| c.symbol()).collect();
    assert!(
        !text.contains('\u{1b}'),
        "an escape sequence reached the screen"
    );
    let failed = buf
        .content()
        .iter()
        .find(|c| c.symbol() == "F" && c.fg == Color::Red);
    assert!(failed.is_some(), "the SGR red did not become a red cell");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn finished_pane_shows_outcome() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.on_runner(started(0, 21, 6, "Parse config overrides from env"));
    a.on_runner(output(
        0,
        21,
        &[(LineKind::Meta, "✓ finished (success) · $0.8700 · 19 turns")],
    ));
    a.set_now(a.now() + 200_000);
    a.on_runner(RunnerEvent::RunFinished {
        slot: 0,
        run_id: 21,
        issue_id: 6,
        outcome: RunOutcome::Implemented,
        status: autopilot_tui::domain::Status::InReview,
        summary: "implemented".into(),
    });
    a.set_now(a.now() + 50_000);
    a.take_effects();
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn detail() {
    let mut a = app(80, 30);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Column(4));
    update(&mut a, Action::Open);
    a.on_store(StoreReply::Detail(Box::new(sample_detail())));
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn transcript() {
    let mut a = app(80, 16);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Column(4));
    update(&mut a, Action::Open);
    a.on_store(StoreReply::Detail(Box::new(sample_detail())));
    update(&mut a, Action::Open);
    a.on_store(StoreReply::Transcript {
        run_id: 4,
        lines: vec![
            autopilot_tui::runner::PaneLine {
                kind: LineKind::Meta,
                text: "● session abc".into(),
            },
            autopilot_tui::runner::PaneLine {
                kind: LineKind::Text,
                text: "Adding a retry queue.".into(),
            },
            autopilot_tui::runner::PaneLine {
                kind: LineKind::Tool,
                text: "▸ Edit src/webhooks.rs".into(),
            },
            autopilot_tui::runner::PaneLine {
                kind: LineKind::Meta,
                text: "✓ finished (success) · $0.8700 · 19 turns".into(),
            },
        ],
    });
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn inbox_with_inline_reply() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.on_store(StoreReply::Inbox(sample_inbox()));
    update(&mut a, Action::Inbox);
    update(&mut a, Action::Reply);
    type_text(&mut a, "Archive them.\nDelete after 90 days.");
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn help_overlay() {
    let mut a = app(80, 40);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Help);
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn help_overlay_filtered() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Help);
    a.on_key(key('/'));
    type_text(&mut a, "issue");
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn narrow_panes_keep_their_titles() {
    // Three panes side by side at 160 columns: the details give way, not the titles.
    let mut a = app(160, 30);
    load_board(&mut a, sample_cards());
    for (slot, (run, issue, title)) in [
        (31, 6, "Parse config overrides from env"),
        (32, 5, "Onboarding copy is confusing"),
        (33, 4, "Fix"),
    ]
    .into_iter()
    .enumerate()
    {
        a.on_runner(started(slot, run, issue, title));
        a.on_runner(RunnerEvent::Progress {
            run_id: run,
            turns: Some(12),
            cost_usd: Some(1.25),
            estimate: None,
        });
    }
    insta::assert_snapshot!(render(&a).backend());
}

/// The rows of the rendered screen, as text.
fn screen_rows(a: &App) -> Vec<String> {
    let buf = render(a).backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

/// The row after the one holding `text` is blank and the one after that holds `next`.
fn one_blank_between(rows: &[String], text: &str, next: &str) {
    let i = rows
        .iter()
        .position(|r| r.contains(text))
        .unwrap_or_else(|| panic!("{text:?} not on screen:\n{}", rows.join("\n")));
    let inner = |r: &String| {
        r.trim_matches(|c: char| c == '│' || c == '▌' || c == ' ')
            .to_string()
    };
    assert_eq!(inner(&rows[i + 1]), "", "{}", rows.join("\n"));
    assert!(rows[i + 2].contains(next), "{}", rows.join("\n"));
}

#[test]
fn paragraphs_in_questions_and_comments_keep_one_blank_line() {
    let mut a = app(80, 30);
    load_board(&mut a, sample_cards());
    let mut inbox = sample_inbox();
    inbox[0].question = "q line 1\n\nq line 2".into();
    inbox[1].question = "other 1\n\nother 2".into();
    a.on_store(StoreReply::Inbox(inbox));
    update(&mut a, Action::Inbox);
    let rows = screen_rows(&a);
    one_blank_between(&rows, "q line 1", "q line 2");
    one_blank_between(&rows, "other 1", "other 2");

    let mut a = app(80, 30);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Open);
    let mut d = sample_detail();
    d.comments[0].body = "line 1\n\nline 2".into();
    d.issue.body = "body 1\n  \nbody 2".into();
    d.issue.id = a.detail().map(|v| v.id()).unwrap();
    a.on_store(StoreReply::Detail(Box::new(d)));
    let rows = screen_rows(&a);
    one_blank_between(&rows, "line 1", "line 2");
    one_blank_between(&rows, "body 1", "body 2");
}

#[test]
fn new_issue_editor() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.set_templates(vec!["bugfix".into(), "docs".into()]);
    a.on_key(key('n'));
    type_text(
        &mut a,
        "Add a --json flag\nMachine-readable output\nfor scripts.",
    );
    a.on_key(code(KeyCode::Tab));
    a.on_key(code(KeyCode::Right));
    a.on_key(code(KeyCode::Tab));
    a.on_key(key('2'));
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn toasts_stack_newest_first() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.toast(Level::Info, "#12 created", Some(12));
    a.toast(Level::Warn, "#7 blocked — needs you (i)", Some(7));
    a.toast(Level::Ok, "#8 ready for review", Some(8));
    a.toast(Level::Error, "#9 run failed", Some(9));
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn banner_and_filter() {
    let mut a = app(80, 24);
    a.set_has_runner(false);
    a.set_banner(Some(
        "agent binary not found: set AUTOPILOT_CLAUDE_BIN".into(),
    ));
    load_board(&mut a, sample_cards());
    a.on_key(key('/'));
    type_text(&mut a, "web");
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn header_shows_a_rate_limit_hold_with_its_end_and_reason() {
    let mut a = app(120, 24);
    load_board(&mut a, sample_cards());
    a.on_store(StoreReply::Changed {
        events: Vec::new(),
        pause: PauseState {
            paused: false,
            // NOW is 2027-01-15T08:00:00Z
            until: Some(NOW + 2 * 3_600_000 + 5 * 60_000),
            reason: Some("rate limited: Claude AI usage limit reached".into()),
        },
    });
    let header = screen_rows(&a)[0].clone();
    assert!(
        header.contains("⏸ held until 10:05 UTC — rate limited: Claude AI usage limit reached"),
        "{header}"
    );
    insta::assert_snapshot!(render(&a).backend());
    // once it ends, the header says nothing of it
    a.tick(NOW + 2 * 3_600_000 + 5 * 60_000);
    assert!(!screen_rows(&a)[0].contains("held"));
}

#[test]
fn quit_confirmation() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.on_runner(started(0, 21, 6, "Parse config overrides from env"));
    a.on_key(key('q'));
    assert!(!a.quit_requested());
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn no_color_theme_draws_no_colour_at_all() {
    let mut a = app(100, 30);
    a.set_theme(
        autopilot_tui::ui::theme::Theme::resolve(Some("default"), true)
            .expect("mono")
            .0,
    );
    load_board(&mut a, sample_cards());
    a.on_runner(started(0, 21, 6, "Parse config overrides from env"));
    a.on_runner(output(
        0,
        21,
        &[(LineKind::ToolOutput, "  \u{1b}[31mFAILED\u{1b}[0m x")],
    ));
    a.toast(Level::Error, "#9 run failed", Some(9));
    let t = render(&a);
    for cell in t.backend().buffer().content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "coloured cell {cell:?}"
        );
    }
}

#[test]
fn every_view_draws_at_any_terminal_size() {
    // A pane can be resized to almost nothing (a tmux split, a phone's SSH client): every
    // view must still draw, never panic.
    type Open = fn(&mut App);
    let views: Vec<(&str, Open)> = vec![
        ("board", |_| {}),
        ("help", |a| update(a, Action::Help)),
        ("inbox", |a| update(a, Action::Inbox)),
        ("detail", |a| {
            update(a, Action::Open);
            let mut d = sample_detail();
            d.issue.id = a.detail().map_or(0, |v| v.id());
            a.on_store(StoreReply::Detail(Box::new(d)));
        }),
        ("editor", |a| a.on_key(key('n'))),
        ("quit", |a| a.on_key(key('q'))),
    ];
    for (w, h) in [
        (1, 1),
        (2, 2),
        (10, 3),
        (20, 5),
        (33, 7),
        (80, 4),
        (300, 100),
    ] {
        for (name, open) in &views {
            let mut a = app(w, h);
            load_board(&mut a, sample_cards());
            a.on_store(StoreReply::Inbox(sample_inbox()));
            a.on_runner(started(0, 21, 6, "Parse config overrides from env"));
            a.on_runner(output(0, 21, &[(LineKind::Text, "working…")]));
            a.toast(Level::Warn, "a notification", Some(6));
            open(&mut a);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render(&a)));
            assert!(result.is_ok(), "{name} at {w}×{h} panicked");
        }
    }
}

#[test]
fn the_end_of_a_transcript_fills_the_view() {
    let mut a = app(80, 16);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Column(4));
    update(&mut a, Action::Open);
    a.on_store(StoreReply::Detail(Box::new(sample_detail())));
    update(&mut a, Action::Open);
    let lines = (0..100)
        .map(|i| autopilot_tui::runner::PaneLine {
            kind: LineKind::Text,
            text: format!("line {i}"),
        })
        .collect();
    a.on_store(StoreReply::Transcript { run_id: 4, lines });
    update(&mut a, Action::Bottom);
    let rows = screen_rows(&a);
    // 16 rows: header, border, 12 lines, border, hints; the last line sits at the bottom
    assert!(rows[13].contains("line 99"), "{}", rows.join("\n"));
    assert!(rows[2].contains("line 88"), "{}", rows.join("\n"));
    // j at the end stays there; k moves one line up
    update(&mut a, Action::Down);
    assert!(screen_rows(&a)[13].contains("line 99"));
    update(&mut a, Action::Up);
    assert!(screen_rows(&a)[13].contains("line 98"));
}

#[test]
fn review_cards_show_the_checks_and_the_reviewers_verdict() {
    use autopilot_tui::domain::{Kind, Status};
    use autopilot_tui::store::ReviewMarks;
    let mut a = app(160, 20);
    let review = |id: i64, title: &str, checks, verdict| {
        let mut i = issue(id, title, Status::InReview, Kind::Feature);
        i.branch = Some(format!("autopilot/{id}-branch"));
        let mut c = card(i);
        c.review = ReviewMarks {
            checks,
            review: verdict,
        };
        c
    };
    let cards = vec![
        review(
            1,
            "Approved after checks",
            Some(RunOutcome::Passed),
            Some(RunOutcome::Approved),
        ),
        review(
            2,
            "Reviewer wants more",
            Some(RunOutcome::Passed),
            Some(RunOutcome::ChangesRequested),
        ),
        review(3, "Reviewer fell over", None, Some(RunOutcome::Failed)),
        review(4, "Nothing checked", None, None),
    ];
    load_board(&mut a, cards);
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn a_card_names_its_assignee_small() {
    use autopilot_tui::domain::{Kind, Status};
    let mut a = app(120, 24);
    let mut short = issue(1, "Short name", Status::Backlog, Kind::Feature);
    short.assignee = Some("ana".into());
    let mut long = issue(2, "Long name", Status::Ready, Kind::Bug);
    long.assignee = Some("bartholomew-the-reviewer".into());
    load_board(&mut a, vec![card(short), card(long)]);
    let screen = render(&a).backend().to_string();
    assert!(screen.contains("#1 feature @ana"), "{screen}");
    assert!(!screen.contains("bartholomew-the-reviewer"), "{screen}");
    assert!(screen.contains("@bartholomew"), "{screen}");
}

#[test]
fn a_card_whose_branch_has_a_pull_request_shows_its_number() {
    use autopilot_tui::domain::{Kind, Status};
    let mut a = app(160, 20);
    let mut with_pr = issue(1, "Pushed", Status::InReview, Kind::Feature);
    with_pr.pr_url = Some("https://github.com/o/r/pull/7".into());
    let without = issue(2, "Local only", Status::InReview, Kind::Feature);
    load_board(&mut a, vec![card(with_pr), card(without)]);
    let rows = screen_rows(&a).join("\n");
    assert!(rows.contains("#1 feature PR 7"), "{rows}");
    assert!(!rows.contains("#2 feature PR"), "{rows}");
}

#[test]
fn a_scheduled_card_says_when_it_may_be_claimed() {
    use autopilot_tui::domain::{Kind, Status};
    let mut a = app(100, 12);
    let mut soon = issue(1, "Nightly report", Status::Ready, Kind::Chore);
    soon.not_before = Some(NOW + 25 * 60_000);
    let mut due = issue(2, "Already due", Status::Ready, Kind::Bug);
    due.not_before = Some(NOW - 60_000);
    load_board(&mut a, vec![card(soon), card(due)]);
    let screen = render(&a).backend().to_string();
    assert!(screen.contains("#1 chore in 25m"), "{screen}");
    assert!(
        !screen.contains("#2 bug in"),
        "a due one says nothing: {screen}"
    );
    insta::assert_snapshot!(render(&a).backend());
}
