//! Subtasks through the real binary: `add --parent`, `edit --parent`, the JSON, a parent that
//! waits for its children, and its move when the last one is accepted.

#![allow(clippy::unwrap_used)]

mod support;

use support::TestRepo;

#[test]
fn add_parent_shows_in_the_json_and_bad_parents_add_nothing() {
    let repo = TestRepo::new();
    let p = repo.add(&["Big job"]);
    let a = repo.add(&["Part one", "--parent", &p.to_string()]);
    let b = repo.add(&["Part two", "--parent", &p.to_string()]);
    let show = repo.show(p);
    assert_eq!(show["children"], serde_json::json!([a, b]));
    assert_eq!(show["parent"], serde_json::Value::Null);
    assert_eq!(repo.show(a)["parent"], serde_json::json!(p));
    let list: serde_json::Value = serde_json::from_str(&repo.ok(&["list", "--json"])).unwrap();
    let parents: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["parent"].clone())
        .collect();
    assert_eq!(parents, vec![serde_json::Value::Null, p.into(), p.into()]);

    let err = repo.fails(&["add", "Orphan", "--parent", "42"]);
    assert!(
        err.contains("no issue #42") && err.contains("nothing was added"),
        "{err}"
    );
    let err = repo.fails(&["edit", &p.to_string(), "--parent", &a.to_string()]);
    assert!(
        err.contains(&format!("(#{p} → #{a})")) && err.contains("circle"),
        "{err}"
    );
    let err = repo.fails(&["edit", &p.to_string(), "--parent", "soon"]);
    assert!(err.contains("--parent \"soon\""), "{err}");
    let list: serde_json::Value = serde_json::from_str(&repo.ok(&["list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(repo.show(p)["parent"], serde_json::Value::Null);

    repo.ok(&["edit", &b.to_string(), "--parent", "none"]);
    assert_eq!(repo.show(b)["parent"], serde_json::Value::Null);
    assert_eq!(repo.show(p)["children"], serde_json::json!([a]));
}

#[test]
fn a_parent_waits_for_its_children_then_is_done_with_their_summary() {
    let repo = TestRepo::new();
    let p = repo.add(&["Say hello twice", "--ready"]);
    let c = repo.add(&["Say hello", "--ready", "--parent", &p.to_string()]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.show(p)["status"], "ready", "the parent is not claimed");
    assert_eq!(repo.show(c)["status"], "in_review");
    repo.ok(&["accept", &c.to_string()]);
    let parent = repo.show(p);
    assert_eq!(parent["status"], "done");
    let comments = parent["comments"].as_array().unwrap();
    let note = comments.last().unwrap()["body"].as_str().unwrap();
    assert!(
        note.starts_with("All 1 subtasks are done. It moves to done"),
        "{note}"
    );
    assert!(
        note.contains(&format!("- #{c} Say hello [done]: Implemented hello.txt.")),
        "{note}"
    );
}
