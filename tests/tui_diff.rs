//! The diff view without a terminal: `D` asks the worker for a diff, the reply fills the
//! view, keys move through it; snapshots at 80×24, a 300-column frame, and a 50,000-line diff.

#![allow(clippy::unwrap_used)]

mod tui_support;

use autopilot_tui::runner::review::diff::{parse, DiffTarget, FileStat};
use autopilot_tui::ui::app::{update, App, Effect};
use autopilot_tui::ui::keymap::Action;
use autopilot_tui::ui::router::Layer;
use autopilot_tui::ui::state::diff::{DiffPayload, DiffReply, DiffRequest, Row};
use autopilot_tui::ui::store_thread::StoreReply;
use crossterm::event::KeyCode;
use tui_support::*;

/// Three files: a text change with a search target and escape sequences in its content, a
/// rename, a binary file with a mode change.
const SAMPLE: &str = "\
diff --git a/src/webhook.rs b/src/webhook.rs
index 1111111..2222222 100644
--- a/src/webhook.rs
+++ b/src/webhook.rs
@@ -10,4 +10,6 @@ pub fn deliver(hook: &Hook) -> Result<()> {
     let body = hook.payload();
-    send(body)?;
+    retry(5, || send(body))?;
+    // backoff doubles: 1s, 2s, 4s \x1b]52;c;ZXZpbA==\x07\x1b[31mred\x1b[0m
+    log::info!(\"delivered\");
     Ok(())
 }
diff --git a/docs/old.md b/docs/retries.md
similarity index 95%
rename from docs/old.md
rename to docs/retries.md
diff --git a/logo.png b/logo.png
old mode 100644
new mode 100755
index 3333333..4444444
Binary files a/logo.png and b/logo.png differ
";

fn diff_requests(a: &mut App) -> Vec<DiffRequest> {
    a.take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Diff(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn full(gen: u64, text: &str) -> DiffReply {
    DiffReply {
        gen,
        issue_id: 8,
        result: Ok(DiffPayload::Full(Box::new(parse(text.as_bytes())))),
    }
}

/// The board with the review column focused and the diff of #8 open and loaded.
fn opened(w: u16, h: u16, text: &str) -> App {
    let mut a = app(w, h);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Column(4));
    a.take_effects();
    a.on_key(key('D'));
    let req = diff_requests(&mut a);
    assert_eq!(req.len(), 1, "{req:?}");
    a.on_diff(full(req[0].gen, text));
    a
}

#[test]
fn d_on_a_card_in_review_asks_for_its_diff_off_the_ui_thread() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Column(4));
    a.take_effects();
    a.on_key(key('D'));
    assert_eq!(a.top_layer(), Layer::Diff);
    let req = diff_requests(&mut a);
    assert_eq!(
        req,
        [DiffRequest {
            gen: req[0].gen,
            target: DiffTarget {
                issue_id: 8,
                branch: Some("autopilot/8-retry-webhook-deliveries".into()),
                base: Some("main".into()),
            },
            full: true,
        }]
    );
    // Loading until the worker answers; an answer to an older request changes nothing.
    assert!(a.diff().unwrap().diff().is_none());
    a.on_diff(full(req[0].gen + 100, SAMPLE));
    assert!(a.diff().unwrap().diff().is_none());
    a.on_diff(full(req[0].gen, SAMPLE));
    assert_eq!(a.diff().unwrap().diff().unwrap().files.len(), 3);
    // esc goes back to the board
    a.on_key(code(KeyCode::Esc));
    assert!(a.diff().is_none());
    assert_eq!(a.top_layer(), Layer::Focus);
}

#[test]
fn d_without_a_branch_says_so_and_asks_nothing() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    a.take_effects();
    a.on_key(key('D'));
    assert!(a.diff().is_none());
    assert!(diff_requests(&mut a).is_empty());
    assert!(a
        .toasts()
        .list()
        .iter()
        .any(|t| t.text.contains("#1 has no branch yet")));
}

#[test]
fn a_failed_diff_says_why_in_the_view() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Column(4));
    a.take_effects();
    a.on_key(key('D'));
    let gen = diff_requests(&mut a)[0].gen;
    a.on_diff(DiffReply {
        gen,
        issue_id: 8,
        result: Err("#8: its branch autopilot/8-retry-webhook-deliveries does not exist any more (was it deleted?)".into()),
    });
    let screen = format!("{:?}", render(&a).backend());
    assert!(screen.contains("does not exist any more"), "{screen}");
}

#[test]
fn keys_jump_between_files_and_search_finds_lines() {
    // 10 rows: a page of 6, so the diff's 21 rows scroll.
    let mut a = opened(80, 10, SAMPLE);
    assert_eq!(a.diff().unwrap().current_file(), None);
    let rows: Vec<Row> = a.diff().unwrap().rows().to_vec();
    let file_rows: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, Row::File(_)))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(file_rows, [5, 15, 18]);
    let at = |a: &App| (a.diff().unwrap().scroll(), a.diff().unwrap().current_file());
    a.on_key(key(']'));
    assert_eq!(at(&a), (5, Some(0)));
    a.on_key(key(']'));
    assert_eq!(at(&a), (15, Some(1)));
    // The last file cannot reach the top: the view stops at the end, like `less`.
    a.on_key(key(']'));
    assert_eq!(at(&a), (15, Some(1)));
    a.on_key(key('['));
    assert_eq!(at(&a), (5, Some(0)));
    a.on_key(key('['));
    assert_eq!(at(&a), (0, None));
    a.on_key(key('G'));
    assert_eq!(at(&a), (15, Some(1)));
    a.on_key(key('g'));
    a.on_key(key('/'));
    assert_eq!(a.top_layer(), Layer::DiffSearch);
    type_text(&mut a, "BACKOFF");
    a.on_key(code(KeyCode::Enter));
    assert_eq!(a.top_layer(), Layer::Diff);
    let v = a.diff().unwrap();
    assert_eq!(v.matches().len(), 1);
    let hit = v.matches()[0];
    assert!(v
        .row_text(v.rows()[hit])
        .contains("backoff doubles: 1s, 2s, 4s red"));
    // n wraps around to the one match; N too
    a.on_key(key('n'));
    a.on_key(key('N'));
    assert_eq!(a.diff().unwrap().matches(), [hit]);
    // esc while typing clears the search, then esc closes the view
    a.on_key(key('/'));
    type_text(&mut a, "nothing like this");
    a.on_key(code(KeyCode::Esc));
    assert!(a.diff().unwrap().query().is_empty());
    assert!(a.diff().is_some());
    a.on_key(code(KeyCode::Esc));
    assert!(a.diff().is_none());
}

#[test]
fn the_detail_of_an_issue_in_review_lists_its_files_once_per_version() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Column(4));
    update(&mut a, Action::Open);
    a.take_effects();
    a.on_store(StoreReply::Detail(Box::new(sample_detail())));
    let req = diff_requests(&mut a);
    assert_eq!(req.len(), 1);
    assert!(!req[0].full);
    // A reload of the same version asks nothing more.
    a.on_store(StoreReply::Detail(Box::new(sample_detail())));
    assert!(diff_requests(&mut a).is_empty());
    a.on_diff(DiffReply {
        gen: req[0].gen,
        issue_id: 8,
        result: Ok(DiffPayload::Stat(vec![
            FileStat {
                path: "src/webhook.rs".into(),
                old_path: None,
                lines: Some((3, 1)),
            },
            FileStat {
                path: "logo.png".into(),
                old_path: None,
                lines: None,
            },
        ])),
    });
    let screen = format!("{:?}", render(&a).backend());
    assert!(screen.contains("Files changed (2) +3 −1"), "{screen}");
    assert!(screen.contains("src/webhook.rs +3 −1"), "{screen}");
    assert!(screen.contains("logo.png bin"), "{screen}");
    // D in the detail opens the diff over it; esc comes back to the detail.
    a.on_key(key('D'));
    assert_eq!(a.top_layer(), Layer::Diff);
    a.on_key(code(KeyCode::Esc));
    assert_eq!(a.top_layer(), Layer::Detail);
}

#[test]
fn diff_80x24() {
    let a = opened(80, 24, SAMPLE);
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn diff_80x24_searching() {
    let mut a = opened(80, 24, SAMPLE);
    a.on_key(key('/'));
    type_text(&mut a, "retry");
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn a_300_column_frame_shows_whole_lines() {
    let a = opened(300, 30, SAMPLE);
    let screen = format!("{:?}", render(&a).backend());
    assert!(
        screen.contains("+    // backoff doubles: 1s, 2s, 4s red"),
        "{screen}"
    );
    assert!(screen.contains("   renamed from docs/old.md"), "{screen}");
    assert!(screen.contains("   mode 100644 → 100755"), "{screen}");
    assert!(screen.contains("   binary"), "{screen}");
    assert!(!screen.contains('\u{1b}'));
}

#[test]
fn a_50000_line_diff_opens_and_draws_its_end() {
    let mut text = String::from(
        "diff --git a/big.txt b/big.txt\nnew file mode 100644\n--- /dev/null\n+++ b/big.txt\n@@ -0,0 +1,50000 @@\n",
    );
    for i in 0..50_000 {
        text.push_str(&format!("+line {i}\n"));
    }
    text.push_str(SAMPLE);
    let mut a = opened(80, 24, &text);
    let v = a.diff().unwrap();
    assert_eq!(v.diff().unwrap().line_count(), 50_007);
    assert!(v.rows().len() > 50_000);
    render(&a);
    a.on_key(key('G'));
    let screen = format!("{:?}", render(&a).backend());
    assert!(
        screen.contains("Binary files") || screen.contains("binary"),
        "{screen}"
    );
    a.on_key(key('g'));
    a.on_key(key(']'));
    a.on_key(key(']'));
    let screen = format!("{:?}", render(&a).backend());
    assert!(screen.contains("src/webhook.rs"), "{screen}");
    a.on_key(key('/'));
    type_text(&mut a, "line 49999");
    a.on_key(code(KeyCode::Enter));
    let screen = format!("{:?}", render(&a).backend());
    assert!(screen.contains("+line 49999"), "{screen}");
}
