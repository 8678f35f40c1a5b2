//! Board frame: the whole UI drawn by `views::draw` into a 200×50 `TestBackend`, with the board
//! loaded from a real database of 10, 10,000 and 100,000 issues through the real store thread.
//! Also the board reload (the store thread's window query, folded into `App`), which is what
//! a frame waits for after the data changes. Ratios are against the 10-issue database, measured
//! in the same run.
//!
//! `cargo bench --bench board_frame`

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::mpsc;
use std::time::Duration;

use autopilot_tui::ui::app::{App, Effect};
use autopilot_tui::ui::keymap::Keymap;
use autopilot_tui::ui::store_thread::{self, StoreReply, StoreRequest};
use autopilot_tui::ui::theme::Theme;
use autopilot_tui::ui::views;
use common::*;
use criterion::Criterion;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const SIZES: [u64; 3] = [10, 10_000, 100_000];

/// An app on a seeded database, with its store thread.
struct Loaded {
    _dir: tempfile::TempDir,
    app: App,
    store: mpsc::Sender<StoreRequest>,
    replies: mpsc::Receiver<StoreReply>,
    board: StoreRequest,
}

impl Loaded {
    fn new(n: u64) -> Loaded {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("autopilot.db");
        seed(&db, n, n);
        let (tx, replies) = mpsc::channel();
        let store = store_thread::spawn(
            db.into(),
            autopilot_tui::domain::redact::Redactor::builtin(),
            autopilot_tui::runner::agent::renderer(None),
            "bench".into(),
            move |r| tx.send(r).is_ok(),
        )
        .unwrap();
        let mut app = App::new(
            Theme::default_dark(),
            Keymap::default(),
            "bench".into(),
            "bench-repo".into(),
        );
        app.set_now(1_800_000_000_000);
        app.set_has_runner(true);
        app.resize(200, 50);
        app.start();
        let mut board = None;
        for e in app.take_effects() {
            if let Effect::Store(req) = e {
                if matches!(req, StoreRequest::Board { .. }) {
                    board = Some(req.clone());
                }
                store.send(req).unwrap();
            }
        }
        let mut l = Loaded {
            _dir: dir,
            app,
            store,
            replies,
            board: board.unwrap(),
        };
        // The first board and the inbox.
        let (mut got_board, mut got_inbox) = (false, false);
        while !(got_board && got_inbox) {
            let r = l.replies.recv_timeout(Duration::from_secs(60)).unwrap();
            got_board |= matches!(r, StoreReply::Board { .. });
            got_inbox |= matches!(r, StoreReply::Inbox(_));
            l.app.on_store(r);
        }
        l.app.take_effects();
        assert_eq!(
            l.app
                .board()
                .columns()
                .iter()
                .map(|c| c.count as u64)
                .sum::<u64>(),
            n,
            "all issues counted"
        );
        l
    }

    /// One board reload through the store thread, folded into the app.
    fn reload(&mut self) {
        self.store.send(self.board.clone()).unwrap();
        loop {
            let r = self.replies.recv_timeout(Duration::from_secs(60)).unwrap();
            let done = matches!(r, StoreReply::Board { .. });
            self.app.on_store(r);
            if done {
                break;
            }
        }
        self.app.take_effects();
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let mut loaded: Vec<(u64, Loaded)> = SIZES.iter().map(|n| (*n, Loaded::new(*n))).collect();
    {
        let mut g = c.benchmark_group("board_frame_200x50");
        for (n, l) in &loaded {
            let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
            let name = format!("frame/{n}");
            g.bench_function(&name, |b| {
                b.iter_custom(|iters| {
                    timed(&name, iters, || {
                        term.draw(|f| views::draw(f, &l.app)).unwrap();
                    })
                })
            });
        }
        g.finish();
    }
    {
        let mut g = c.benchmark_group("board_reload");
        for (n, l) in &mut loaded {
            let name = format!("reload/{n}");
            g.bench_function(&name, |b| {
                b.iter_custom(|iters| timed(&name, iters, || l.reload()))
            });
        }
        g.finish();
    }
    c.final_summary();

    let mut rows = Vec::new();
    for kind in ["frame", "reload"] {
        let base = mean(&format!("{kind}/10"));
        for n in SIZES {
            let m = mean(&format!("{kind}/{n}"));
            if m.is_zero() {
                continue; // filtered out on the command line
            }
            let ratio = m.as_secs_f64() / base.as_secs_f64().max(1e-12);
            let (what, target, met) = match kind {
                "frame" => (
                    format!("board frame 200×50, {n} issues"),
                    "≤ 1.2× (100,000)",
                    (n == 100_000).then_some(ratio <= 1.2),
                ),
                _ => (
                    format!("board reload (store thread), {n} issues"),
                    "—",
                    None,
                ),
            };
            rows.push(Row {
                what,
                figure: us(m),
                baseline: format!("{} (10 issues)", us(base)),
                ratio: format!("{ratio:.2}×"),
                target: target.into(),
                met,
            });
        }
    }
    // The same comparison interleaved: rounds alternate between the sizes, so a change in the
    // machine's load hits both sides alike; the median round is reported.
    if loaded.iter().any(|(n, _)| *n == 10) {
        let mut terms: Vec<(u64, Terminal<TestBackend>, Vec<Duration>)> = loaded
            .iter()
            .map(|(n, _)| {
                (
                    *n,
                    Terminal::new(TestBackend::new(200, 50)).unwrap(),
                    Vec::new(),
                )
            })
            .collect();
        const ROUNDS: usize = 60;
        const FRAMES: u32 = 20;
        for _ in 0..ROUNDS {
            for ((_, l), (_, term, samples)) in loaded.iter().zip(terms.iter_mut()) {
                let start = std::time::Instant::now();
                for _ in 0..FRAMES {
                    term.draw(|f| views::draw(f, &l.app)).unwrap();
                }
                samples.push(start.elapsed() / FRAMES);
            }
        }
        let mut medians: Vec<(u64, Duration)> =
            terms.into_iter().map(|(n, _, v)| (n, median(v))).collect();
        medians.sort_by_key(|(n, _)| *n);
        let base = medians[0].1;
        for (n, m) in &medians {
            let ratio = m.as_secs_f64() / base.as_secs_f64();
            rows.push(Row {
                what: format!(
                    "board frame 200×50, {n} issues, interleaved median of {ROUNDS} rounds"
                ),
                figure: us(*m),
                baseline: format!("{} (10 issues)", us(base)),
                ratio: format!("{ratio:.2}×"),
                target: "≤ 1.2× (100,000)".into(),
                met: (*n == 100_000).then_some(ratio <= 1.2),
            });
        }
    }
    print_table("board_frame", &rows);
}
