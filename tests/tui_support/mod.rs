//! Fixed data for the TUI tests: no clock, no terminal, no database.

#![allow(dead_code)]

use autopilot_tui::domain::{
    AuthorKind, Comment, DiffStat, Issue, IssueDetail, Kind, Run, RunOutcome, RunRole, Status,
};
use autopilot_tui::runner::{LineKind, PaneLine, RunnerEvent};
use autopilot_tui::store::StatusCounts;
use autopilot_tui::ui::app::App;
use autopilot_tui::ui::keymap::Keymap;
use autopilot_tui::ui::store_thread::{Card, ColumnWindow, InboxItem, LiveInfo, StoreReply};
use autopilot_tui::ui::theme::Theme;
use autopilot_tui::ui::views;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// The fixed UI clock.
pub const NOW: i64 = 1_800_000_000_000;

pub fn issue(id: i64, title: &str, status: Status, kind: Kind) -> Issue {
    Issue {
        id,
        title: title.into(),
        body: String::new(),
        kind,
        status,
        priority: 0,
        claimed_by: None,
        lease_until: None,
        branch: None,
        worktree: None,
        base: None,
        session_id: None,
        diff: None,
        model: None,
        effort: None,
        budget_usd: None,
        parent: None,
        assignee: None,
        archived_at: None,
        agent: None,
        template: None,
        source_url: None,
        pr_url: None,
        not_before: None,
        every_ms: None,
        previous: None,
        created_at: NOW - 3_600_000,
        updated_at: NOW - 60_000,
    }
}

pub fn card(issue: Issue) -> Card {
    Card {
        issue,
        question: None,
        live: None,
        review: Default::default(),
        spend_usd: 0.0,
        waits_on: Vec::new(),
        progress: None,
    }
}

pub fn app(w: u16, h: u16) -> App {
    let mut a = App::new(
        Theme::default_dark(),
        Keymap::default(),
        "ana".into(),
        "demo-repo".into(),
    );
    a.set_now(NOW);
    a.set_has_runner(true);
    a.resize(w, h);
    a.take_effects();
    a
}

/// A board like a real afternoon: something in every column.
pub fn sample_cards() -> Vec<Card> {
    let mut v = Vec::new();
    let mut b = issue(
        1,
        "Add dark mode toggle to settings",
        Status::Backlog,
        Kind::Feature,
    );
    b.body = "Users keep asking for it.\nSee feedback thread.".into();
    b.priority = 2;
    v.push(card(b));
    v.push(card(issue(
        2,
        "Flaky login test on CI",
        Status::Backlog,
        Kind::Bug,
    )));
    v.push(card(issue(
        3,
        "Bump dependencies",
        Status::Backlog,
        Kind::Chore,
    )));
    v.push(card(issue(
        4,
        "Export board as CSV",
        Status::Ready,
        Kind::Feature,
    )));
    v.push(card(issue(
        5,
        "Onboarding copy is confusing",
        Status::Ready,
        Kind::Feedback,
    )));
    let mut p = issue(
        6,
        "Parse config overrides from env",
        Status::InProgress,
        Kind::Feature,
    );
    p.claimed_by = Some("box-1".into());
    v.push(Card {
        issue: p,
        question: None,
        live: Some(LiveInfo {
            agent: "box-1".into(),
            started_at: NOW - 192_000,
            cost_usd: None,
            estimate_usd: Some(0.42),
        }),
        review: Default::default(),
        spend_usd: 0.0,
        waits_on: Vec::new(),
        progress: None,
    });
    v.push(Card {
        issue: issue(7, "Migrate sessions table", Status::Blocked, Kind::Chore),
        question: Some("Should old sessions be deleted or archived?".into()),
        live: None,
        review: Default::default(),
        spend_usd: 0.0,
        waits_on: Vec::new(),
        progress: None,
    });
    let mut r = issue(8, "Retry webhook deliveries", Status::InReview, Kind::Bug);
    r.branch = Some("autopilot/8-retry-webhook-deliveries".into());
    r.base = Some("main".into());
    r.diff = Some(DiffStat {
        files: 3,
        added: 42,
        removed: 7,
    });
    v.push(card(r));
    v.push(card(issue(9, "Set up the repo", Status::Done, Kind::Chore)));
    v.push(card(issue(
        10,
        "Write the README",
        Status::Done,
        Kind::Chore,
    )));
    v
}

/// Feeds cards to the app as the store thread would.
pub fn load_board(app: &mut App, cards: Vec<Card>) {
    let mut counts = StatusCounts::default();
    let mut columns = vec![ColumnWindow::default(); 6];
    for c in cards {
        let i = Status::ALL
            .iter()
            .position(|s| *s == c.issue.status)
            .unwrap_or(0);
        counts.0[i] += 1;
        columns[i].cards.push(c);
    }
    app.on_store(StoreReply::Board {
        gen: 1_000_000,
        counts,
        columns,
    });
}

pub fn sample_inbox() -> Vec<InboxItem> {
    vec![
        InboxItem {
            issue_id: 7,
            title: "Migrate sessions table".into(),
            question: "Should old sessions be deleted or archived?\nArchiving keeps 2 GB around; deleting is irreversible.".into(),
            asked_by: "box-2".into(),
            asked_at: NOW - 30_000,
            branch: None,
            base: None,
            needs: Vec::new(),
        },
        InboxItem {
            issue_id: 11,
            title: "Rate-limit the public API".into(),
            question: "Which limit: per IP or per token?".into(),
            asked_by: "box-1".into(),
            asked_at: NOW - 600_000,
            branch: None,
            base: None,
            needs: Vec::new(),
        },
    ]
}

pub fn sample_detail() -> IssueDetail {
    let mut i = issue(8, "Retry webhook deliveries", Status::InReview, Kind::Bug);
    i.body = "Deliveries that get a 5xx are dropped.\nRetry with backoff, at most 5 times.".into();
    i.branch = Some("autopilot/8-retry-webhook-deliveries".into());
    i.priority = 1;
    let comment = |id: i64, author: &str, kind: AuthorKind, body: &str, at: i64| Comment {
        id,
        issue_id: 8,
        author: author.into(),
        author_kind: kind,
        body: body.into(),
        created_at: at,
    };
    let run = |id: i64, outcome: Option<RunOutcome>, cost: Option<f64>, turns: Option<i64>| Run {
        id,
        issue_id: 8,
        agent_id: "box-1".into(),
        slot: 0,
        role: RunRole::Implement,
        owner_pid: None,
        session_id: None,
        started_at: NOW - 900_000,
        ended_at: outcome.map(|_| NOW - 700_000),
        exit_code: Some(0),
        outcome,
        error: None,
        cost_usd: cost,
        estimate_usd: None,
        turns,
        duration_ms: outcome.map(|_| 200_000),
        input_tokens: cost.map(|_| 12_400),
        output_tokens: cost.map(|_| 3_100),
        cache_read_tokens: cost.map(|_| 250_000),
        cache_write_tokens: cost.map(|_| 8_000),
        model: cost.map(|_| "claude-opus-5-5".into()),
        template: None,
        failure: None,
        persona: None,
        transcript_lines: 42,
        transcript: format!("db:runs/{id}"),
    };
    IssueDetail {
        issue: i,
        cost_usd: Some(0.99),
        comments: vec![
            comment(
                1,
                "box-1",
                AuthorKind::Agent,
                "Should retries survive a restart?",
                NOW - 1_000_000,
            ),
            comment(
                2,
                "ana",
                AuthorKind::Human,
                "Yes, persist them in the queue table.",
                NOW - 950_000,
            ),
            comment(
                3,
                "box-1",
                AuthorKind::Agent,
                "Implemented with a persisted retry queue.",
                NOW - 700_000,
            ),
        ],
        runs: vec![
            Run {
                role: RunRole::Check,
                failure: Some(autopilot_tui::domain::FailureClass::ChecksFailed),
                ..run(2, Some(RunOutcome::Failed), None, None)
            },
            run(3, Some(RunOutcome::Blocked), Some(0.12), Some(4)),
            run(4, Some(RunOutcome::Implemented), Some(0.87), Some(19)),
        ],
        depends_on: Vec::new(),
        blocks: Vec::new(),
        children: Vec::new(),
        needs: Vec::new(),
    }
}

pub fn started(slot: usize, run_id: i64, issue_id: i64, title: &str) -> RunnerEvent {
    RunnerEvent::RunStarted {
        slot,
        run_id,
        issue_id,
        title: title.into(),
        agent_id: format!("box-{}", slot + 1),
    }
}

pub fn output(slot: usize, run_id: i64, lines: &[(LineKind, &str)]) -> RunnerEvent {
    RunnerEvent::Output {
        slot,
        run_id,
        lines: lines
            .iter()
            .map(|(kind, text)| PaneLine {
                kind: *kind,
                text: (*text).into(),
            })
            .collect(),
    }
}

pub fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

pub fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

pub fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        if c == '\n' {
            app.on_key(code(KeyCode::Enter));
        } else {
            app.on_key(key(c));
        }
    }
}

/// Renders the app into a test terminal of the app's size.
pub fn render(app: &App) -> Terminal<TestBackend> {
    let (w, h) = app.size();
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| views::draw(f, app)).expect("draw");
    t
}
