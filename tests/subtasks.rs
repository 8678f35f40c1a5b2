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

#[test]
fn split_turns_the_planners_answer_into_backlog_subtasks() {
    let repo = TestRepo::new();
    let p = repo.add(&["Config loading", "--kind", "chore", "--ready"]);
    let out = repo.ok(&["split", &p.to_string()]);
    let ids: Vec<i64> = out.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(ids.len(), 3, "{out}");
    let parent = repo.show(p);
    assert_eq!(parent["children"], serde_json::json!(ids));
    assert_eq!(parent["status"], "ready", "the parent itself is not moved");
    let run = &parent["runs"][0];
    assert_eq!(
        (run["role"].as_str(), run["outcome"].as_str()),
        (Some("plan"), Some("planned"))
    );
    assert_eq!(run["cost_usd"], 0.02);
    let note = parent["comments"][0]["body"].as_str().unwrap();
    let list: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
    assert!(
        note.starts_with(&format!("Split into {} in backlog.", list.join(", "))),
        "{note}"
    );
    let kids: Vec<_> = ids.iter().map(|i| repo.show(*i)).collect();
    let titles: Vec<&str> = kids.iter().map(|k| k["title"].as_str().unwrap()).collect();
    assert_eq!(titles[..2], ["Add the parser", "Wire it in"]);
    assert!(
        !titles[2].contains('\u{1b}') && titles[2].contains("loudly"),
        "{titles:?}"
    );
    assert_eq!(kids[0]["body"], "read the config file");
    for k in &kids {
        assert_eq!(
            (k["status"].as_str(), k["kind"].as_str()),
            (Some("backlog"), Some("chore"))
        );
        assert_eq!(k["parent"], serde_json::json!(p));
    }
    // Nothing handed off: the runner has nothing to claim but nothing of the parent either.
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.show(p)["status"], "ready");
}

#[test]
fn a_split_without_subtask_lines_creates_nothing_and_keeps_the_run() {
    let repo = TestRepo::new();
    let p = repo.add(&["Vague", "--body", "[scenario:plan-garbage]"]);
    let err = repo.fails(&["split", &p.to_string()]);
    assert!(
        err.contains("no `SUBTASK: title — description` lines"),
        "{err}"
    );
    assert!(err.contains("(run 1)"), "{err}");
    let parent = repo.show(p);
    assert_eq!(parent["children"], serde_json::json!([]));
    assert_eq!(parent["runs"][0]["outcome"], "failed");
    assert_eq!(parent["runs"][0]["role"], "plan");
    let list: serde_json::Value = serde_json::from_str(&repo.ok(&["list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let q = repo.add(&["Broken", "--body", "[scenario:plan-fail]"]);
    let err = repo.fails(&["split", &q.to_string()]);
    assert!(err.contains("the planner failed"), "{err}");
    assert_eq!(repo.show(q)["children"], serde_json::json!([]));
    let err = repo.fails(&["split", "77"]);
    assert!(err.contains("#77 not found"), "{err}");
}
