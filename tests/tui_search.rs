//! The search overlay (`ctrl-f`) driven by keys and store replies, without a terminal: the
//! debounced query and its generations, what enter opens, and snapshots at 80×24.

mod tui_support;

use autopilot_tui::runner::{LineKind, PaneLine};
use autopilot_tui::store::{SearchHit, SearchSource};
use autopilot_tui::ui::app::{App, Effect};
use autopilot_tui::ui::router::Layer;
use autopilot_tui::ui::store_thread::{SearchRow, StoreReply, StoreRequest};
use crossterm::event::KeyCode;
use tui_support::*;

fn stores(a: &mut App) -> Vec<StoreRequest> {
    a.take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Store(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// A hit as the store thread hands it over (made printable on the way).
fn row(
    issue_id: i64,
    source: SearchSource,
    run_id: Option<i64>,
    parts: &[(&str, bool)],
) -> SearchRow {
    SearchRow::from(SearchHit {
        issue_id,
        source,
        run_id,
        snippet: String::new(),
        parts: parts.iter().map(|(t, m)| ((*t).to_string(), *m)).collect(),
    })
}

fn hits() -> Vec<SearchRow> {
    vec![
        row(
            8,
            SearchSource::Transcript,
            Some(4),
            &[
                // Agent output: an OSC title, a clear-screen and a bidi override around the match.
                ("grep found \u{1b}]0;pwned\u{7}\u{1b}[2J", false),
                ("zanzibar", true),
                (" in src/lib.rs\u{202e}evil\n next", false),
            ],
        ),
        row(
            3,
            SearchSource::Title,
            None,
            &[
                ("Retry the ", false),
                ("zanzibar", true),
                (" uploads", false),
            ],
        ),
        row(
            12,
            SearchSource::Comment,
            None,
            &[
                ("…as the ", false),
                ("Zanzibar", true),
                (" logs said…", false),
            ],
        ),
    ]
}

/// Opens the overlay and types `text` at `at`, returning what was asked of the store.
fn search_for(a: &mut App, text: &str, at: i64) -> Vec<StoreRequest> {
    a.set_now(at);
    a.on_key(ctrl('f'));
    assert_eq!(a.top_layer(), Layer::Search);
    type_text(a, text);
    stores(a)
}

/// Sends the typed query (the debounce ran out) and answers it with `result`.
fn answer(a: &mut App, at: i64, result: Result<Vec<SearchRow>, String>) -> u64 {
    a.fire_search(at);
    let asked = stores(a);
    let Some(StoreRequest::Search { gen, .. }) = asked.first() else {
        panic!("no search sent: {asked:?}");
    };
    let gen = *gen;
    a.on_store(StoreReply::Search { gen, result });
    gen
}

#[test]
fn typing_sends_one_query_after_the_pause_and_older_answers_are_dropped() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    assert!(
        search_for(&mut a, "zanz", NOW).is_empty(),
        "nothing while typing"
    );
    assert_eq!(a.search_due(), Some(NOW + 150));
    a.fire_search(NOW + 100);
    assert!(stores(&mut a).is_empty(), "not yet");
    a.fire_search(NOW + 150);
    let asked = stores(&mut a);
    let [StoreRequest::Search { gen, query, .. }] = asked.as_slice() else {
        panic!("one search: {asked:?}");
    };
    assert_eq!(query, "zanz");
    let old = *gen;
    assert_eq!(a.search_due(), None, "nothing waits: the loop sleeps");
    // More typing before the answer: the answer to "zanz" is not shown.
    a.set_now(NOW + 200);
    type_text(&mut a, "ibar");
    a.on_store(StoreReply::Search {
        gen: old,
        result: Ok(vec![hits()[1].clone()]),
    });
    assert!(a.search().and_then(|v| v.result()).is_none());
    let gen = answer(&mut a, NOW + 400, Ok(hits()));
    assert!(gen > old);
    assert_eq!(
        a.search()
            .and_then(|v| v.result())
            .map(|r| r.as_ref().map(Vec::len)),
        Some(Ok(3))
    );
    // esc closes it.
    a.on_key(code(KeyCode::Esc));
    assert!(a.search().is_none());
    assert_eq!(a.top_layer(), Layer::Focus);
}

#[test]
fn an_answer_meant_for_a_closed_overlay_is_not_taken_by_the_next() {
    let mut a = app(80, 24);
    search_for(&mut a, "a", NOW);
    a.fire_search(NOW + 150);
    let asked = stores(&mut a);
    let [StoreRequest::Search { gen: old, .. }] = asked.as_slice() else {
        panic!("one search: {asked:?}");
    };
    let old = *old;
    a.on_key(code(KeyCode::Esc));
    // Reopened, and as many keys typed: the old answer still is not this query's.
    search_for(&mut a, "b", NOW + 200);
    a.on_store(StoreReply::Search {
        gen: old,
        result: Ok(hits()),
    });
    assert!(a.search().and_then(|v| v.result()).is_none());
    answer(&mut a, NOW + 400, Ok(vec![hits()[1].clone()]));
    assert_eq!(
        a.search()
            .and_then(|v| v.result())
            .map(|r| r.as_ref().map(Vec::len)),
        Some(Ok(1))
    );
}

#[test]
fn enter_on_a_title_hit_opens_the_issue() {
    let mut a = app(80, 24);
    search_for(&mut a, "zanzibar", NOW);
    answer(&mut a, NOW + 150, Ok(hits()));
    a.on_key(code(KeyCode::Down));
    a.on_key(code(KeyCode::Enter));
    assert!(a.search().is_none());
    assert_eq!(a.detail().map(|d| d.id()), Some(3));
    assert!(a.detail().and_then(|d| d.transcript()).is_none());
    let asked = stores(&mut a);
    assert!(
        matches!(asked.as_slice(), [StoreRequest::Detail(3)]),
        "{asked:?}"
    );
}

#[test]
fn enter_on_a_transcript_hit_opens_the_run_at_the_matched_line() {
    let mut a = app(80, 24);
    search_for(&mut a, "zanzibar", NOW);
    answer(&mut a, NOW + 150, Ok(hits()));
    a.on_key(code(KeyCode::Enter));
    assert_eq!(a.top_layer(), Layer::Transcript);
    let asked = stores(&mut a);
    assert!(
        asked.iter().any(|r| matches!(r, StoreRequest::Detail(8))),
        "{asked:?}"
    );
    assert!(
        asked.iter().any(|r| matches!(
            r,
            StoreRequest::TranscriptAt { run_id: 4, term } if term == "zanzibar"
        )),
        "{asked:?}"
    );
    a.on_store(StoreReply::Detail(Box::new(sample_detail())));
    let lines: Vec<PaneLine> = (0..60)
        .map(|i| PaneLine {
            kind: LineKind::Text,
            text: if i == 40 {
                "grep found zanzibar in src/lib.rs".into()
            } else {
                format!("line {i}")
            },
        })
        .collect();
    a.on_store(StoreReply::TranscriptAt {
        run_id: 4,
        lines,
        at: Some(40),
    });
    let tv = a.detail().and_then(|d| d.transcript()).expect("transcript");
    assert_eq!(tv.scroll(), 40);
    assert_eq!(tv.mark(), Some(40));
    let screen = format!("{:?}", render(&a).backend());
    assert!(
        screen.contains("grep found zanzibar in src/lib.rs"),
        "{screen}"
    );
    assert!(!screen.contains("line 39"), "{screen}");
    // Back to the issue, as from any transcript.
    a.on_key(code(KeyCode::Esc));
    assert_eq!(a.top_layer(), Layer::Detail);
}

#[test]
fn hits_80x24() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    search_for(&mut a, "zanzibar", NOW);
    answer(&mut a, NOW + 150, Ok(hits()));
    a.on_key(code(KeyCode::Down));
    let backend = render(&a);
    let screen = format!("{:?}", backend.backend());
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{202e}'),
        "{screen}"
    );
    insta::assert_snapshot!(backend.backend());
}

#[test]
fn empty_query_shows_the_hint_80x24() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    search_for(&mut a, "", NOW);
    assert_eq!(a.search_due(), None);
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn a_malformed_query_shows_the_stores_error_inline_80x24() {
    let mut a = app(80, 24);
    load_board(&mut a, sample_cards());
    search_for(&mut a, "\"unbalanced", NOW);
    let e = "cannot read the search query \"\\\"unbalanced\": fts5: syntax error near \"\". Words match words; use \"quotes\" for a phrase, prefix* for a prefix, AND / OR / NOT between terms, and quote words with punctuation (\"foo-bar\")";
    answer(&mut a, NOW + 150, Err(e.into()));
    assert!(a.toasts().is_empty(), "no toast");
    assert_eq!(a.top_layer(), Layer::Search);
    insta::assert_snapshot!(render(&a).backend());
}
