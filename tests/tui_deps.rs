//! Dependencies on screen: a ready card held by an unfinished dependency says what it waits on
//! (dimmed, unlike one waiting for a free slot), and the detail lists the chain both ways.

mod tui_support;

use autopilot_tui::domain::{DepLink, Kind, Status};
use autopilot_tui::ui::app::update;
use autopilot_tui::ui::keymap::Action;
use autopilot_tui::ui::store_thread::StoreReply;
use tui_support::*;

fn cards() -> Vec<autopilot_tui::ui::store_thread::Card> {
    let free = card(issue(2, "Free to run", Status::Ready, Kind::Feature));
    let mut held = card(issue(
        3,
        "Held by two dependencies",
        Status::Ready,
        Kind::Bug,
    ));
    held.waits_on = vec![1, 7];
    let mut many = card(issue(4, "Held by many", Status::Backlog, Kind::Chore));
    many.waits_on = vec![1, 7, 12, 140, 1500];
    vec![
        card(issue(1, "Schema first", Status::InProgress, Kind::Chore)),
        free,
        held,
        many,
    ]
}

#[test]
fn board_marks_cards_that_wait_on_dependencies() {
    let mut a = app(80, 24);
    load_board(&mut a, cards());
    let screen = render(&a);
    insta::assert_snapshot!(screen.backend());
}

#[test]
fn a_held_ready_card_is_drawn_in_the_waiting_style_and_a_free_one_is_not() {
    let mut a = app(120, 24);
    load_board(&mut a, cards());
    let t = render(&a);
    let buf = t.backend().buffer();
    let row_of = |text: &str| {
        (0..buf.area.height).find_map(|y| {
            let line: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            line.find(text).map(|_| y)
        })
    };
    let held_title = row_of("Held by two").expect("held card");
    let free_title = row_of("Free to run").expect("free card");
    let x_of = |y: u16, text: &str| {
        let line: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        line.chars()
            .take_while(|_| true)
            .collect::<String>()
            .find(text)
            .map(|b| line[..b].chars().count() as u16)
    };
    let theme = a.theme();
    let hx = x_of(held_title, "Held").unwrap();
    let fx = x_of(free_title, "Free").unwrap();
    assert_eq!(
        buf[(hx, held_title)].style().add_modifier,
        theme.title.patch(theme.waiting).add_modifier
    );
    assert_ne!(buf[(hx, held_title)].style(), buf[(fx, free_title)].style());
}

#[test]
fn detail_shows_the_chain_both_ways() {
    let mut a = app(80, 30);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Column(4));
    update(&mut a, Action::Open);
    let mut d = sample_detail();
    d.depends_on = vec![
        DepLink {
            id: 3,
            title: "Add the schema".into(),
            status: Status::Done,
        },
        DepLink {
            id: 5,
            title: "Wire the queue".into(),
            status: Status::InReview,
        },
    ];
    d.blocks = vec![DepLink {
        id: 9,
        title: "Ship retries".into(),
        status: Status::Ready,
    }];
    a.on_store(StoreReply::Detail(Box::new(d)));
    insta::assert_snapshot!(render(&a).backend());
}

#[test]
fn the_header_says_when_the_review_limit_holds_claims() {
    let header = |limit: Option<u32>| {
        let mut a = app(120, 24);
        a.set_max_in_review(limit);
        let review: Vec<_> = (10..13)
            .map(|id| card(issue(id, "In review", Status::InReview, Kind::Bug)))
            .collect();
        load_board(&mut a, review);
        let t = render(&a);
        let buf = t.backend().buffer();
        (0..buf.area.width)
            .map(|x| buf[(x, 0)].symbol().to_string())
            .collect::<String>()
    };
    assert!(
        header(Some(3)).contains("review full: 3/3 waiting for you"),
        "{}",
        header(Some(3))
    );
    assert!(!header(Some(4)).contains("review full"));
    assert!(!header(Some(0)).contains("review full"));
    assert!(!header(None).contains("review full"));
}

#[test]
fn the_editor_edits_dependencies_and_a_refusal_stays_in_it_with_nothing_lost() {
    use autopilot_tui::ui::app::Effect;
    use autopilot_tui::ui::store_thread::StoreRequest;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut a = app(100, 30);
    let mut held = card(issue(3, "Held", Status::Ready, Kind::Bug));
    held.waits_on = vec![1];
    load_board(&mut a, vec![held]);
    update(&mut a, Action::Column(1));
    a.on_key(key('e'));
    let ed = a.editor().expect("editor open");
    assert_eq!(ed.deps().lines().join(""), "1");
    // tab to the dependency field: body, kind, priority, model, effort, budget, depends on
    for _ in 0..7 {
        a.on_key(code(KeyCode::Tab));
    }
    a.on_key(code(KeyCode::Backspace));
    type_text(&mut a, "2, #5");
    a.take_effects();
    a.on_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
    let sent: Vec<_> = a
        .take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Store(StoreRequest::UpdateWithDeps { add, remove, .. }) => Some((add, remove)),
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec![(vec![2, 5], vec![1])]);
    assert!(a.editor().is_some_and(|e| e.is_pending()), "kept open");

    let refusal = "#3 cannot depend on #5: that would close the cycle #3 → #5 → #3";
    a.on_store(StoreReply::Failed(refusal.into()));
    let ed = a.editor().expect("still open");
    assert_eq!(ed.error(), Some(refusal));
    assert_eq!(ed.deps().lines().join(""), "2, #5", "nothing typed is lost");
    let screen = render(&a);
    let text: String = screen
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(text.contains("would close the cycle #3 → #5 → #3"));

    // a bad id is refused in the editor before anything is sent
    type_text(&mut a, ", x");
    a.take_effects();
    a.on_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
    assert!(a.take_effects().is_empty());
    assert!(a
        .editor()
        .unwrap()
        .error()
        .unwrap()
        .contains("\"x\" is not an issue id"));
}
