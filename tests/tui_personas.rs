//! The detail view's run list names each run's role, and a custom persona's run by its name.

#![allow(clippy::unwrap_used)]

mod tui_support;

use autopilot_tui::domain::RunRole;
use autopilot_tui::ui::app::update;
use autopilot_tui::ui::keymap::Action;
use autopilot_tui::ui::store_thread::StoreReply;
use tui_support::*;

#[test]
fn the_run_list_names_a_personas_run_by_its_persona() {
    let mut a = app(100, 30);
    load_board(&mut a, sample_cards());
    update(&mut a, Action::Column(4));
    update(&mut a, Action::Open);
    let mut d = sample_detail();
    let mut tester = d.runs[0].clone();
    tester.id = 21;
    tester.role = RunRole::Persona;
    tester.persona = Some("tester".into());
    let mut review = d.runs[0].clone();
    review.id = 22;
    review.role = RunRole::Review;
    d.runs.push(tester);
    d.runs.push(review);
    a.on_store(StoreReply::Detail(Box::new(d)));
    let t = render(&a);
    let buf = t.backend().buffer();
    let rows: Vec<String> = (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect()
        })
        .collect();
    let row = |id: &str| {
        rows.iter()
            .find(|r| r.contains(&format!("run {id}")))
            .cloned()
            .unwrap_or_else(|| panic!("no run {id} in\n{}", rows.join("\n")))
    };
    assert!(row("21 · tester ·").contains("box-1"), "{}", row("21"));
    assert!(!row("21").contains("persona"), "{}", row("21"));
    assert!(row("22 · review ·").contains("box-1"));
}
