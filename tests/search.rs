//! `search` end to end: the real binary, a real run of the fake agent, its transcript found.

mod support;

use support::TestRepo;

fn hits(repo: &TestRepo, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["search", "--json"];
    all.extend_from_slice(args);
    let out = repo.ok(&all);
    serde_json::from_str::<serde_json::Value>(&out)
        .expect("search --json is JSON")
        .as_array()
        .expect("an array")
        .clone()
}

#[test]
fn a_word_from_a_tool_result_is_found_with_its_run() {
    let repo = TestRepo::new();
    let id = repo.add(&["Look around [scenario:search-word]", "--ready"]);
    let other = repo.add(&["Unrelated", "--body", "the zanzibar notes"]);
    repo.ok(&["comment", &other.to_string(), "about zanzibarquux too"]);
    repo.ok(&["run", "--once"]);
    let run = repo.show(id)["runs"][0]["id"].as_i64().expect("a run");

    let found = hits(&repo, &["zanzibarquux"]);
    let transcript = found
        .iter()
        .find(|h| h["where"] == "transcript")
        .unwrap_or_else(|| panic!("no transcript hit: {found:?}"));
    assert_eq!(transcript["issue_id"], id);
    assert_eq!(transcript["run_id"], run);
    let snippet = transcript["snippet"].as_str().expect("a snippet");
    assert!(
        snippet.contains("[zanzibarquux] in src/lib.rs"),
        "{snippet}"
    );
    assert!(
        !snippet.contains('\u{1b}') && !snippet.contains('\u{7}'),
        "{snippet:?}"
    );
    let comment = found
        .iter()
        .find(|h| h["where"] == "comment")
        .unwrap_or_else(|| panic!("no comment hit: {found:?}"));
    assert_eq!(comment["issue_id"], other);
    assert_eq!(comment["run_id"], serde_json::Value::Null);
    assert_eq!(found.len(), 2, "{found:?}");

    // FTS5 syntax: a prefix, a phrase, and a limit.
    assert_eq!(hits(&repo, &["zanzibar*"]).len(), 3);
    assert_eq!(hits(&repo, &["\"zanzibar notes\""])[0]["where"], "body");
    assert_eq!(hits(&repo, &["zanzibar*", "--limit", "1"]).len(), 1);
    // Only the rendered text is indexed, not the JSON around it.
    assert!(hits(&repo, &["toolu_search01"]).is_empty());

    // Not a terminal: matches in brackets, nothing raw.
    let out = repo.ok(&["search", "zanzibarquux"]);
    // The snippet's window around the match depends on what else the run printed.
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("#{id} transcript of run {run}: ")))
        .unwrap_or_else(|| panic!("no transcript hit line: {out}"));
    assert!(
        line.contains("grep found [zanzibarquux] in src/lib.rs"),
        "{out}"
    );
    assert!(!out.contains('\u{1b}'), "{out:?}");
    assert_eq!(repo.ok(&["search", "nothinglikethis"]), "no matches\n");
}

#[test]
fn a_malformed_query_is_a_clear_error_not_a_crash() {
    let repo = TestRepo::new();
    repo.add(&["Something"]);
    for q in ["\"unbalanced", "AND", "*", ""] {
        let out = repo.run(&["search", q]);
        assert_eq!(out.status.code(), Some(1), "{q:?}");
        assert!(out.stdout.is_empty(), "{q:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot read the search query"), "{q:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A limit of no hits, or of more snippets than anyone reads, is a usage error.
    for limit in ["0", "1001", "-5", "many"] {
        let out = repo.run(&["search", "something", "--limit", limit]);
        assert_eq!(out.status.code(), Some(2), "--limit {limit}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(limit),
            "{limit}"
        );
    }
}
