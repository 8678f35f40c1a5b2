use super::*;
use crate::runner::review::diff::parse;

fn view(text: &str) -> DiffView {
    let mut v = DiffView::new(3, "t".into(), 7);
    let reply = |gen| DiffReply {
        gen,
        issue_id: 3,
        result: Ok(DiffPayload::Full(Box::new(parse(text.as_bytes())))),
    };
    assert!(!v.set_reply(reply(6)), "a stale reply is dropped");
    assert!(v.diff().is_none());
    assert!(v.set_reply(reply(7)));
    v
}

const TWO: &str = "diff --git a/a b/a\n--- a/a\n+++ b/a\n@@ -1 +1 @@\n-x\n+y\ndiff --git a/b b/b\nnew file mode 100644\n--- /dev/null\n+++ b/b\n@@ -0,0 +1,2 @@\n+Needle\n+z\n";

#[test]
fn rows_list_the_files_then_the_diff() {
    let v = view(TWO);
    assert_eq!(
        v.rows(),
        [
            Row::Stat(0),
            Row::Stat(1),
            Row::Totals,
            Row::Blank,
            Row::File(0),
            Row::Hunk(0, 0),
            Row::Line(0, 0, 0),
            Row::Line(0, 0, 1),
            Row::Blank,
            Row::File(1),
            Row::Note(1, 0),
            Row::Hunk(1, 0),
            Row::Line(1, 0, 0),
            Row::Line(1, 0, 1),
        ]
    );
    assert_eq!(v.row_text(Row::Note(1, 0)), "added");
    assert_eq!(v.row_text(Row::Line(1, 0, 0)), "Needle");
}

#[test]
fn files_jump_and_scrolling_stops_at_the_end() {
    let mut v = view(TWO);
    v.on_action(Action::NextFile, 5);
    assert_eq!((v.scroll(), v.current_file()), (4, Some(0)));
    v.on_action(Action::NextFile, 5);
    assert_eq!((v.scroll(), v.current_file()), (9, Some(1)));
    v.on_action(Action::NextFile, 5);
    assert_eq!(v.scroll(), 9);
    v.on_action(Action::PrevFile, 5);
    assert_eq!(v.scroll(), 4);
    v.on_action(Action::Bottom, 5);
    assert_eq!(v.scroll(), 9);
    v.on_action(Action::Down, 5);
    assert_eq!(v.scroll(), 9);
    assert_eq!(v.on_action(Action::Close, 5), DiffStep::Close);
    assert_eq!(v.on_action(Action::Quit, 5), DiffStep::Step(Step::Pass));
}

#[test]
fn the_cursor_walks_the_last_page_and_quotes_file_and_line() {
    const HUNKS: &str = "diff --git a/src/x.rs b/src/x.rs\n--- a/src/x.rs\n+++ b/src/x.rs\n@@ -40,3 +40,3 @@ fn f()\n ctx\n-old `tick`\n+new line\n tail\n";
    let mut v = view(HUNKS);
    // rows: stat, totals, blank, file, hunk, ctx, -old, +new, tail
    assert_eq!(v.rows().len(), 9);
    assert_eq!(v.quote().as_deref(), Some("> src/x.rs"));
    v.on_action(Action::Down, 5);
    assert_eq!((v.scroll(), v.cursor()), (1, 1));
    assert_eq!(v.quote(), None, "the totals quote nothing");
    for _ in 0..3 {
        v.on_action(Action::Down, 5);
    }
    assert_eq!((v.scroll(), v.cursor()), (4, 4), "the end stops the scroll");
    assert_eq!(v.quote().as_deref(), Some("> src/x.rs:40"));
    v.on_action(Action::Down, 5);
    assert_eq!((v.scroll(), v.cursor()), (4, 5), "then the cursor walks on");
    assert_eq!(v.quote().as_deref(), Some("> src/x.rs:40 `ctx`"));
    v.on_action(Action::Down, 5);
    assert_eq!(
        v.quote().as_deref(),
        Some("> src/x.rs:41 (removed) `` old `tick` ``")
    );
    v.on_action(Action::Down, 5);
    assert_eq!(v.quote().as_deref(), Some("> src/x.rs:41 `new line`"));
    v.on_action(Action::Down, 5);
    v.on_action(Action::Down, 5);
    assert_eq!(
        (v.cursor(), v.quote().as_deref()),
        (8, Some("> src/x.rs:42 `tail`"))
    );
    v.on_action(Action::Up, 5);
    assert_eq!((v.scroll(), v.cursor()), (4, 7), "up walks back first");
    v.on_action(Action::Top, 5);
    assert_eq!((v.scroll(), v.cursor()), (0, 0));
    v.on_action(Action::Bottom, 5);
    assert_eq!((v.scroll(), v.cursor()), (4, 8), "G: the last line");
    assert_eq!(hunk_starts("@@ -0,0 +1,2 @@"), Some((1, 1)));
    assert_eq!(hunk_starts("@@ -7 +9 @@ x"), Some((7, 9)));
    assert_eq!(hunk_starts("garbage"), None);
}

#[test]
fn search_finds_any_case_and_n_cycles() {
    let mut v = view(TWO);
    assert_eq!(v.on_action(Action::NextMatch, 5), DiffStep::NoSearch);
    v.on_action(Action::Filter, 5);
    assert!(v.is_typing());
    let none = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE);
    for c in "needle".chars() {
        v.type_key(None, KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), 5);
    }
    assert_eq!(v.matches(), [12]);
    assert_eq!(v.scroll(), 9, "as far as the end allows");
    assert_eq!(
        v.type_key(Some(Action::Done), none, 5),
        DiffStep::Step(Step::Done)
    );
    assert!(!v.is_typing());
    v.on_action(Action::Top, 5);
    v.on_action(Action::NextMatch, 5);
    assert_eq!(v.scroll(), 9);
    v.on_action(Action::Filter, 5);
    v.type_key(None, none, 5);
    v.type_key(None, none, 5);
    assert_eq!(v.type_key(Some(Action::Done), none, 5), DiffStep::NoMatch);
}
