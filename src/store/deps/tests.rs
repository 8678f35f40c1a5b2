use super::super::sql::{vals, Exec};
use super::super::{NewIssue, Store, StoreError};
use crate::domain::{EventKind, Status};

fn temp_store() -> (tempfile::TempDir, Store) {
    crate::store::test_db::temp_store()
}

fn add(store: &mut Store, title: &str) -> i64 {
    let new = NewIssue {
        title: title.into(),
        ready: true,
        ..NewIssue::default()
    };
    store.create_issue(&new, "t").expect("create").id
}

fn deps(store: &Store, id: i64) -> Vec<i64> {
    store
        .dependencies_of(&[id])
        .expect("deps")
        .remove(&id)
        .unwrap_or_default()
}

fn event_count(store: &Store) -> i64 {
    store
        .db()
        .query_row("SELECT count(*) FROM events", &[], |r| r.get(0))
        .expect("count")
}

fn refusal(r: super::super::Result<bool>) -> String {
    match r {
        Err(StoreError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_dependency_is_stored_once_with_its_event_and_removed_once() {
    let (_d, mut store) = temp_store();
    let (a, b) = (add(&mut store, "a"), add(&mut store, "b"));
    assert!(store.add_dependency(a, b, "ana").unwrap());
    let before = event_count(&store);
    assert!(
        !store.add_dependency(a, b, "ana").unwrap(),
        "a duplicate is a no-op"
    );
    assert_eq!(event_count(&store), before, "and writes no event");
    assert_eq!(deps(&store, a), vec![b]);
    let last = store.events_since(0, 1000).unwrap();
    assert!(last
        .iter()
        .any(|e| e.issue_id == Some(a) && e.kind == EventKind::DependencyAdded { on: b }));

    assert!(store.remove_dependency(a, b, "ana").unwrap());
    assert!(
        !store.remove_dependency(a, b, "ana").unwrap(),
        "already gone"
    );
    assert!(deps(&store, a).is_empty());
    let last = store.events_since(0, 1000).unwrap();
    assert!(last
        .iter()
        .any(|e| e.issue_id == Some(a) && e.kind == EventKind::DependencyRemoved { on: b }));
}

#[test]
fn self_missing_and_cycles_are_refused_naming_the_cycle_and_nothing_is_stored() {
    let (_d, mut store) = temp_store();
    let (a, b, c) = (
        add(&mut store, "a"),
        add(&mut store, "b"),
        add(&mut store, "c"),
    );
    let m = refusal(store.add_dependency(a, a, "t"));
    assert!(m.contains(&format!("#{a} cannot depend on itself")), "{m}");
    let m = refusal(store.add_dependency(a, 99, "t"));
    assert!(m.contains("there is no issue #99"), "{m}");

    store.add_dependency(a, b, "t").unwrap();
    let m = refusal(store.add_dependency(b, a, "t"));
    assert!(m.contains(&format!("cycle #{b} → #{a} → #{b}")), "{m}");

    // a 3-cycle: a → b → c, then c → a
    store.add_dependency(b, c, "t").unwrap();
    let before = event_count(&store);
    let m = refusal(store.add_dependency(c, a, "t"));
    assert!(
        m.contains(&format!("cycle #{c} → #{a} → #{b} → #{c}"))
            && m.contains("nothing was changed"),
        "{m}"
    );
    assert!(deps(&store, c).is_empty(), "nothing stored");
    assert_eq!(event_count(&store), before, "no event either");

    // set_dependencies refuses the whole set when one edge would close the cycle
    let d = add(&mut store, "d");
    let m = match store.set_dependencies(c, &[d, a], "t") {
        Err(StoreError::Invalid(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(m.contains("cycle"), "{m}");
    assert!(deps(&store, c).is_empty(), "not even the good edge");
}

#[test]
fn blocks_is_the_reverse_and_the_board_reads_only_unfinished_dependencies_in_one_query() {
    let (_d, mut store) = temp_store();
    let (a, b, c) = (
        add(&mut store, "a"),
        add(&mut store, "b"),
        add(&mut store, "c"),
    );
    store.set_dependencies(c, &[a, b], "t").unwrap();
    let detail = store.issue_detail(a).unwrap();
    assert_eq!(
        detail.blocks.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![c]
    );
    let detail = store.issue_detail(c).unwrap();
    let waits: Vec<_> = detail.depends_on.iter().map(|l| (l.id, l.status)).collect();
    assert_eq!(waits, vec![(a, Status::Ready), (b, Status::Ready)]);

    // a done dependency no longer holds the card
    store
        .db()
        .execute("UPDATE issues SET status = 'done' WHERE id = ?1", vals![a])
        .unwrap();
    let open = store.open_dependencies_of(&[a, b, c]).unwrap();
    assert_eq!(open.get(&c), Some(&vec![b]));
    assert_eq!(open.len(), 1);
    assert_eq!(store.dependencies_of(&[c]).unwrap()[&c], vec![a, b]);

    // the editor's replacement: drop b, keep a, events for the one change
    store.set_dependencies(c, &[a], "t").unwrap();
    assert_eq!(deps(&store, c), vec![a]);
}

#[test]
fn the_cycle_check_walks_a_long_chain_quickly() {
    let (_d, mut store) = temp_store();
    let ids: Vec<i64> = (0..400)
        .map(|i| add(&mut store, &format!("n{i}")))
        .collect();
    for w in ids.windows(2) {
        store.add_dependency(w[1], w[0], "t").unwrap();
    }
    let started = std::time::Instant::now();
    let m = refusal(store.add_dependency(ids[0], ids[399], "t"));
    assert!(m.contains("cycle"), "{m}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
