//! Dependencies and the review limit through the real binary: `depend` / `undepend`, their
//! refusals, the JSON fields, and `[runner] max_in_review` holding claims.

#![allow(clippy::unwrap_used)]

mod support;

use support::TestRepo;

fn ids(v: &serde_json::Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn depend_and_undepend_store_edges_and_show_them_both_ways() {
    let repo = TestRepo::new();
    let (a, b) = (repo.add(&["A", "--ready"]), repo.add(&["B", "--ready"]));
    let out = repo.ok(&["depend", &b.to_string(), "--on", &a.to_string()]);
    assert_eq!(out.trim(), format!("#{b} now waits on #{a}"));
    let out = repo.ok(&["depend", &b.to_string(), "--on", &a.to_string()]);
    assert!(
        out.contains("already waits on") && out.contains("nothing changed"),
        "{out}"
    );

    assert_eq!(ids(&repo.show(b)["depends_on"]), vec![a]);
    assert_eq!(ids(&repo.show(a)["blocks"]), vec![b]);
    assert!(ids(&repo.show(a)["depends_on"]).is_empty());
    let list: serde_json::Value = serde_json::from_str(&repo.ok(&["list", "--json"])).unwrap();
    let listed: Vec<(i64, Vec<i64>)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_i64().unwrap(), ids(&i["depends_on"])))
        .collect();
    assert_eq!(listed, vec![(a, vec![]), (b, vec![a])]);
    let text = repo.ok(&["show", &b.to_string()]);
    assert!(text.contains(&format!("waits on: #{a} (ready)")), "{text}");

    let out = repo.ok(&["undepend", &b.to_string(), "--on", &a.to_string()]);
    assert_eq!(out.trim(), format!("#{b} no longer waits on #{a}"));
    let out = repo.ok(&["undepend", &b.to_string(), "--on", &a.to_string()]);
    assert!(
        out.contains("does not wait on") && out.contains("nothing changed"),
        "{out}"
    );
    assert!(ids(&repo.show(b)["depends_on"]).is_empty());
}

#[test]
fn cycles_self_and_missing_issues_are_refused_with_a_usage_error_and_nothing_stored() {
    let repo = TestRepo::new();
    let (a, b, c) = (repo.add(&["A"]), repo.add(&["B"]), repo.add(&["C"]));
    repo.ok(&["depend", &a.to_string(), "--on", &b.to_string()]);
    repo.ok(&["depend", &b.to_string(), "--on", &c.to_string()]);
    let out = repo.run(&["depend", &c.to_string(), "--on", &a.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cycle #{c} → #{a} → #{b} → #{c}"))
            && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(ids(&repo.show(c)["depends_on"]).is_empty());

    let err = repo.fails(&["depend", &a.to_string(), "--on", &a.to_string()]);
    assert!(err.contains("cannot depend on itself"), "{err}");
    let err = repo.fails(&["depend", &a.to_string(), "--on", "99"]);
    assert!(err.contains("there is no issue #99"), "{err}");
    let err = repo.fails(&["depend", "99", "--on", &a.to_string()]);
    assert!(err.contains("99"), "{err}");
    assert_eq!(ids(&repo.show(a)["depends_on"]), vec![b]);
}

#[test]
fn max_in_review_holds_claims_until_one_is_accepted_and_doctor_says_so() {
    let repo = TestRepo::with_config("[runner]\nmax_in_review = 1\n");
    let (a, b) = (
        repo.add(&["First", "--ready"]),
        repo.add(&["Second", "--ready"]),
    );
    let out = repo.run(&["run", "--once"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nothing more claimed: review full: 1/1 waiting for you"),
        "{err}"
    );
    assert_eq!(repo.status(a), "in_review");
    assert_eq!(repo.status(b), "ready", "held by the limit");
    let doctor = String::from_utf8_lossy(&repo.run(&["doctor"]).stdout).into_owned();
    assert!(doctor.contains("review full: 1/1"), "{doctor}");

    // the config file is untracked in the checkout: land the issue without a merge
    repo.ok(&["accept", &a.to_string(), "--no-merge"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(
        repo.status(b),
        "in_review",
        "accepting one let the next run"
    );
}

#[test]
fn a_ready_issue_waits_for_its_dependency_and_runs_once_it_is_done() {
    let repo = TestRepo::new();
    let (a, b) = (repo.add(&["First"]), repo.add(&["Second", "--ready"]));
    repo.ok(&["depend", &b.to_string(), "--on", &a.to_string()]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(b), "ready", "its dependency is not done");
    repo.ok(&["move", &a.to_string(), "ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(a), "in_review");
    assert_eq!(repo.status(b), "ready", "in review is not done");
    repo.ok(&["accept", &a.to_string()]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(b), "in_review");
}
