//! Archive and delete through the real binary: `archive` / `unarchive` / `delete`, what they
//! refuse, and where archived issues still show (`show`, `list --archived`) and do not (`list`).

#![allow(clippy::unwrap_used)]

mod support;

use support::TestRepo;

fn listed(repo: &TestRepo, args: &[&str]) -> Vec<i64> {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(args);
    let list: serde_json::Value = serde_json::from_str(&repo.ok(&all)).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

/// An issue the fake agent implemented, accepted without a merge.
fn done(repo: &TestRepo, title: &str) -> i64 {
    let id = repo.add(&[title, "--ready"]);
    repo.ok(&["run", "--once"]);
    repo.ok(&["accept", &id.to_string(), "--no-merge"]);
    assert_eq!(repo.status(id), "done");
    id
}

#[test]
fn an_archived_issue_leaves_list_and_stays_reachable_by_id() {
    let repo = TestRepo::new();
    let id = done(&repo, "Say hello");
    let other = repo.add(&["Still open"]);
    let n = id.to_string();

    let out = repo.fails(&["archive", &other.to_string()]);
    assert!(out.contains("is backlog, not done"), "{out}");
    assert!(out.contains("nothing was changed"), "{out}");

    let out = repo.ok(&["archive", &n]);
    assert_eq!(
        out.trim(),
        format!("#{id} archived (`autopilot-tui show {id}` still shows it)")
    );
    assert!(repo
        .ok(&["archive", &n])
        .contains("archived already (nothing changed)"));

    assert_eq!(listed(&repo, &[]), vec![other]);
    assert_eq!(listed(&repo, &["--status", "done"]), Vec::<i64>::new());
    assert_eq!(listed(&repo, &["--archived"]), vec![id]);
    let table = repo.ok(&["list", "--archived"]);
    assert!(
        table.contains("Say hello") && !table.contains("Still open"),
        "{table}"
    );
    assert!(!repo.ok(&["list"]).contains("Say hello"));

    let shown = repo.show(id);
    assert_eq!(shown["archived"], true);
    assert_eq!(
        shown["runs"].as_array().unwrap().len(),
        1,
        "its runs are kept"
    );
    let text = repo.ok(&["show", &n]);
    assert!(text.contains("archived: "), "{text}");
    assert!(text.contains(&format!("unarchive {id}")), "{text}");
    let out = repo.fails(&["move", &n, "backlog"]);
    assert!(out.contains("unarchive it first"), "{out}");

    assert_eq!(
        repo.ok(&["unarchive", &n]).trim(),
        format!("#{id} is back in done")
    );
    assert!(repo
        .ok(&["unarchive", &n])
        .contains("not archived (nothing changed)"));
    assert_eq!(repo.show(id)["archived"], false);
    assert_eq!(listed(&repo, &["--status", "done"]), vec![id]);
    assert!(listed(&repo, &["--archived"]).is_empty());
}

#[test]
fn delete_takes_only_a_backlog_issue_that_never_ran() {
    let repo = TestRepo::new();
    let typo = repo.add(&["Typo", "--body", "oops"]);
    repo.ok(&["comment", &typo.to_string(), "never mind"]);
    let out = repo.ok(&["delete", &typo.to_string()]);
    assert_eq!(out.trim(), format!("#{typo} deleted: Typo"));
    let out = repo.fails(&["show", &typo.to_string()]);
    assert!(out.contains(&format!("issue #{typo} not found")), "{out}");

    let shipped = done(&repo, "Shipped");
    let out = repo.fails(&["delete", &shipped.to_string()]);
    assert!(out.contains("archive it instead"), "{out}");
    assert!(
        out.contains(&format!("autopilot-tui archive {shipped}")),
        "{out}"
    );

    // ran, then sent back to backlog: kept
    let ran = repo.add(&["Ran [scenario:blocked]", "--ready"]);
    repo.ok(&["run", "--once"]);
    repo.ok(&["move", &ran.to_string(), "backlog"]);
    assert_eq!(repo.status(ran), "backlog");
    let out = repo.fails(&["delete", &ran.to_string()]);
    assert!(out.contains("it has run"), "{out}");

    let ready = repo.add(&["Handed off", "--ready", "--depends-on", &ran.to_string()]);
    let out = repo.fails(&["delete", &ready.to_string()]);
    assert!(out.contains("it is ready"), "{out}");

    let base = repo.add(&["Base"]);
    let waiting = repo.add(&["Waits", "--depends-on", &base.to_string()]);
    let out = repo.fails(&["delete", &base.to_string()]);
    assert!(out.contains(&format!("#{waiting} waits on it")), "{out}");
    assert!(out.contains("nothing was deleted"), "{out}");
    assert_eq!(repo.status(base), "backlog");

    let out = repo.fails(&["delete", "999"]);
    assert!(out.contains("issue #999 not found"), "{out}");
}
