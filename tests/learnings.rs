//! Learnings through the real binary: a run's `LEARNED:` lines are stored (redacted, made
//! printable), the next issue's prompt carries the relevant ones, and `learnings` lists,
//! edits and deletes them.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::process::Stdio;

use support::TestRepo;

/// The prompt the fake agent read for the issue titled `title`.
fn prompt_of(repo: &TestRepo, title: &str) -> String {
    let prompts = repo.agent_prompts();
    let found: Vec<&String> = prompts
        .iter()
        .filter(|p| p.contains(&format!("Title: {title}\n")))
        .collect();
    assert_eq!(found.len(), 1, "one prompt for {title:?} in {prompts:#?}");
    found[0].clone()
}

fn run_once(repo: &TestRepo) {
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn learnings_json(repo: &TestRepo) -> Vec<serde_json::Value> {
    serde_json::from_str(&repo.ok(&["learnings", "--json"])).expect("JSON")
}

/// The first issue's run states two lessons; they are stored and carried to the related issue.
fn learned(repo: &TestRepo) -> i64 {
    let first = repo.add(&["Widget layer [scenario:learn]", "--ready"]);
    run_once(repo);
    assert_eq!(repo.status(first), "in_review");
    first
}

#[test]
fn a_runs_lessons_are_stored_and_reach_the_next_related_issues_prompt() {
    let repo = TestRepo::new();
    let first = learned(&repo);
    let p = prompt_of(&repo, "Widget layer [scenario:learn]");
    assert!(!p.contains("What earlier runs learned"), "none yet: {p}");
    assert!(
        p.contains("starting with `LEARNED: `"),
        "the rules say how: {p}"
    );

    let stored = learnings_json(&repo);
    let texts: Vec<&str> = stored.iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        [
            "the widget tests need TZ=UTC set",
            "the staging key is [REDACTED:anthropic-api-key]"
        ]
    );
    let run_id = repo.show(first)["runs"][0]["id"].as_i64().unwrap();
    for l in &stored {
        assert_eq!(l["issue_id"], first);
        assert_eq!(l["run_id"], run_id);
        assert!(l["created_at"].as_str().unwrap().ends_with('Z'), "{l}");
    }
    for file in [repo.db(), repo.db().with_extension("db-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("FAKElearnAAAA"),
            "the secret is not in {}",
            file.display()
        );
    }

    let related = repo.add(&[
        "Widget flicker",
        "--body",
        "The widget tests fail at midnight.",
        "--ready",
    ]);
    let unrelated = repo.add(&["Rename the docs folder", "--ready"]);
    run_once(&repo);
    assert_eq!(repo.status(related), "in_review");
    let p = prompt_of(&repo, "Widget flicker");
    let at = p.find("What earlier runs learned").expect("the section");
    assert!(at < p.find("Title: Widget flicker").unwrap(), "{p}");
    assert!(p.contains("\n- the widget tests need TZ=UTC set\n"), "{p}");
    assert!(!p.contains("FAKElearn"), "{p}");
    let p = prompt_of(&repo, "Rename the docs folder");
    assert!(
        !p.contains("What earlier runs learned"),
        "nothing relevant: {p}"
    );
    assert_eq!(repo.status(unrelated), "in_review");
    // the implement scenario states no lessons: still the same two
    assert_eq!(learnings_json(&repo).len(), 2);
}

#[test]
fn learnings_lists_edits_and_deletes_with_clear_errors() {
    let repo = TestRepo::new();
    let none = repo.ok(&["learnings"]);
    assert!(none.contains("no learnings yet"), "{none}");
    assert_eq!(repo.ok(&["learnings", "--json"]).trim(), "[]");
    let first = learned(&repo);
    let table = repo.ok(&["learnings"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].contains("ID") && lines[0].contains("TEXT"));
    assert!(
        lines[1].contains(&format!("#{first}"))
            && lines[1].ends_with("the widget tests need TZ=UTC set"),
        "{table}"
    );
    let ids: Vec<i64> = learnings_json(&repo)
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();

    let out = repo.ok(&[
        "learnings",
        "edit",
        &ids[0].to_string(),
        "widget tests need TZ=UTC \u{1b}[2J and PGPASSWORD=swordfish1",
    ]);
    assert!(out.contains(&format!("learning #{}", ids[0])), "{out}");
    let text = learnings_json(&repo)[0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        text,
        "widget tests need TZ=UTC and PGPASSWORD=[REDACTED:secret]"
    );

    // `-` reads the text from stdin
    let mut child = repo
        .cmd(&["learnings", "edit", &format!("#{}", ids[1]), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(learnings_json(&repo)[1]["text"], "from stdin");

    let out = repo.ok(&["learnings", "rm", &ids[1].to_string()]);
    assert!(
        out.contains(&format!("learning #{} deleted", ids[1])),
        "{out}"
    );
    assert_eq!(learnings_json(&repo).len(), 1);

    let err = repo.fails(&["learnings", "rm", &ids[1].to_string()]);
    assert!(err.contains(&format!("no learning #{}", ids[1])), "{err}");
    let err = repo.fails(&["learnings", "edit", "999", "x"]);
    assert!(
        err.contains("no learning #999") && err.contains("nothing was changed"),
        "{err}"
    );
    let err = repo.fails(&["learnings", "rm", "abc"]);
    assert!(err.contains("\"abc\" is not a learning id"), "{err}");
    let err = repo.fails(&["learnings", "rm", "0"]);
    assert!(err.contains("is not a learning id"), "{err}");
    let err = repo.fails(&["learnings", "edit", &ids[0].to_string(), "  "]);
    assert!(err.contains("needs some text"), "{err}");
    assert_eq!(
        learnings_json(&repo)[0]["text"],
        text.as_str(),
        "nothing changed"
    );
}
