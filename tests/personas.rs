//! Personas and pipelines through the real binary: a real git repo, the fake agent as the
//! implementer and as each persona (a persona's prompt starts `You are the `NAME` persona`),
//! `[personas.*]` and `[pipeline]` in autopilot.toml.

#![allow(clippy::unwrap_used)]

mod support;

use support::{git, last_comment, pairs, run_roles, TestRepo};

/// Where a flag's value is in one agent call.
fn flag<'a>(call: &'a [String], name: &str) -> Option<&'a str> {
    let at = call.iter().position(|a| a == name)?;
    call.get(at + 1).map(String::as_str)
}

fn is_persona(prompt: &str, name: &str) -> bool {
    prompt.starts_with(&format!("You are the `{name}` persona"))
}

const TESTER: &str = "\
[personas.tester]
prompt_file = \"personas/tester.md\"
model = \"tester-model\"
effort = \"low\"

[pipeline]
feature = [\"implement\", \"tester\"]
";

fn repo_with_tester(instructions: &str) -> TestRepo {
    let repo = TestRepo::with_config(TESTER);
    std::fs::create_dir_all(repo.root.join("personas")).unwrap();
    std::fs::write(repo.root.join("personas/tester.md"), instructions).unwrap();
    repo
}

#[test]
fn the_tester_runs_after_the_implementer_with_its_prompt_model_and_commit() {
    let repo = repo_with_tester("Write a test for the change. PERSONA-WRITES: tests/added.txt\n");
    let id = repo.add(&["Greet the world", "--kind", "feature", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        run_roles(&issue),
        pairs(&[("implement", "implemented"), ("persona", "implemented")])
    );
    // each run says which persona it was, with its own cost
    assert_eq!(issue["runs"][0]["persona"], serde_json::Value::Null);
    assert_eq!(issue["runs"][1]["persona"], "tester");
    let cost = |n: usize| issue["runs"][n]["cost_usd"].as_f64().unwrap();
    assert!(cost(1) > 0.0);
    let total = issue["cost_usd"].as_f64().unwrap();
    assert!((total - cost(0) - cost(1)).abs() < 1e-9, "{total}");
    // the tester's prompt carried its instructions, and its model and effort were passed;
    // the implementer kept the defaults
    let (calls, prompts) = (repo.agent_calls(), repo.agent_prompts());
    assert_eq!(calls.len(), 2);
    assert!(!is_persona(&prompts[0], "tester"), "{}", prompts[0]);
    assert!(is_persona(&prompts[1], "tester"), "{}", prompts[1]);
    assert!(prompts[1].contains("Write a test for the change."));
    assert!(prompts[1].contains("Title: Greet the world"));
    assert_eq!(flag(&calls[1], "--model"), Some("tester-model"));
    assert_eq!(flag(&calls[1], "--effort"), Some("low"));
    assert_eq!(flag(&calls[0], "--model"), None);
    // its own session: it never resumes the implementer's, and the issue keeps the implementer's
    assert!(!calls[1].iter().any(|a| a == "--resume"));
    assert_eq!(issue["session_id"], issue["runs"][0]["session_id"]);
    // both changes are committed on the branch, the tester's last
    let branch = issue["branch"].as_str().unwrap();
    let files = git(&repo.root, &["ls-tree", "-r", "--name-only", branch]);
    assert!(
        files.contains("hello.txt") && files.contains("tests/added.txt"),
        "{files}"
    );
    let log = git(
        &repo.root,
        &["log", "--format=%s", &format!("main..{branch}")],
    );
    assert_eq!(log.lines().count(), 2, "{log}");
    // the card's size of the change counts both
    assert_eq!(issue["diff"]["files"], 2, "{}", issue["diff"]);
    // the persona's words are its own in the thread
    let authors: Vec<&str> = issue["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["author"].as_str())
        .collect();
    assert!(
        authors.iter().any(|a| a.starts_with("tester:")),
        "{authors:?}"
    );
}

#[test]
fn a_failing_persona_blocks_the_issue_with_a_failure_class() {
    let repo = repo_with_tester("PERSONA-FAILS\n");
    let id = repo.add(&["Greet the world", "--kind", "feature", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked", "{}", last_comment(&issue));
    assert_eq!(
        run_roles(&issue),
        pairs(&[("implement", "implemented"), ("persona", "failed")])
    );
    assert!(
        issue["runs"][1]["failure"].is_string(),
        "{}",
        issue["runs"][1]
    );
    assert_eq!(issue["runs"][0]["failure"], serde_json::Value::Null);
}

#[test]
fn a_persona_that_changes_nothing_passes_and_other_kinds_skip_the_pipeline() {
    let repo = repo_with_tester("Look the change over.\n");
    let feature = repo.add(&["Greet the world", "--kind", "feature", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(feature);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        run_roles(&issue),
        pairs(&[("implement", "implemented"), ("persona", "passed")])
    );
    assert!(last_comment(&issue).starts_with("The `tester` persona changed nothing."));
    // the size of the change survives a persona that added nothing
    assert_eq!(issue["diff"]["files"], 1, "{}", issue["diff"]);
    // a bug has no pipeline: the implementer alone, as without personas
    let bug = repo.add(&["Fix the greeting", "--kind", "bug", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(bug);
    assert_eq!(issue["status"], "in_review");
    assert_eq!(run_roles(&issue), pairs(&[("implement", "implemented")]));
}

#[test]
fn review_in_the_pipeline_runs_the_reviewer_after_the_persona() {
    let repo = TestRepo::with_config(
        "[personas.tester]\nprompt_file = \"tester.md\"\n\n[personas.review]\nmodel = \"judge\"\n\n\
         [pipeline]\nfeature = [\"implement\", \"tester\", \"review\"]\n",
    );
    std::fs::write(repo.root.join("tester.md"), "PERSONA-WRITES: state.txt\n").unwrap();
    let id = repo.add(&["Set the state [scenario:review-fix]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    let roles = run_roles(&issue);
    assert_eq!(
        roles[..3],
        pairs(&[
            ("implement", "implemented"),
            ("persona", "implemented"),
            ("review", "changes_requested"),
        ])[..],
        "{roles:?}"
    );
    // the reviewer ran with the review persona's model
    let calls = repo.agent_calls();
    let prompts = repo.agent_prompts();
    let at = prompts
        .iter()
        .position(|p| p.starts_with("You are a code reviewer."))
        .unwrap();
    assert_eq!(flag(&calls[at], "--model"), Some("judge"));
}

#[test]
fn an_implement_persona_prefixes_its_instructions_and_sets_the_model() {
    let repo = TestRepo::with_config(
        "[personas.implement]\nprompt_file = \"impl.md\"\nmodel = \"builder\"\neffort = \"high\"\n",
    );
    std::fs::write(
        repo.root.join("impl.md"),
        "IMPLEMENTER-RULES: small commits.\n",
    )
    .unwrap();
    let id = repo.add(&["Greet the world", "--ready"]);
    let own = repo.add(&["Greet again", "--ready", "--model", "mine"]);
    repo.ok(&["run", "--once"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    assert_eq!(repo.status(own), "in_review");
    let (calls, prompts) = (repo.agent_calls(), repo.agent_prompts());
    assert!(
        prompts[0].starts_with("Your role: implement. ")
            && prompts[0].contains("IMPLEMENTER-RULES: small commits.")
            && prompts[0].contains("Title: Greet the world"),
        "{}",
        prompts[0]
    );
    assert_eq!(flag(&calls[0], "--model"), Some("builder"));
    assert_eq!(flag(&calls[0], "--effort"), Some("high"));
    // an issue's own model wins over the persona's
    assert_eq!(flag(&calls[1], "--model"), Some("mine"));
}

#[test]
fn a_missing_prompt_file_is_refused_at_start_up_with_its_path() {
    let repo = TestRepo::with_config(TESTER);
    let err = repo.fails(&["list"]);
    assert!(err.contains("[personas.tester] prompt_file"), "{err}");
    assert!(err.contains("personas/tester.md"), "{err}");
}

#[test]
fn a_plan_persona_sets_the_planners_model_and_effort() {
    let repo = TestRepo::with_config("[personas.plan]\nmodel = \"planner\"\neffort = \"max\"\n");
    let id = repo.add(&["Config loading"]);
    repo.ok(&["split", &id.to_string()]);
    let calls = repo.agent_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(flag(&calls[0], "--model"), Some("planner"));
    assert_eq!(flag(&calls[0], "--effort"), Some("max"));
    assert_eq!(repo.show(id)["children"].as_array().unwrap().len(), 3);
}
