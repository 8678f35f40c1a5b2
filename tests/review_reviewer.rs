//! The reviewer pass through the real binary: a real git repo, the fake agent as both the
//! implementer and the reviewer (its `review-*` scenarios), and `[review] agent = true`.

#![allow(clippy::unwrap_used)]

mod support;

use autopilot_tui::domain::RunOutcome;
use autopilot_tui::store::{ReviewMarks, Store};
use serde_json::Value;
use support::{git, last_comment, pairs, run_roles, TestRepo};

/// The thread as (author, kind, body).
fn thread(issue: &Value) -> Vec<(String, String, String)> {
    issue["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("author"), s("author_kind"), s("body"))
        })
        .collect()
}

fn has_comment(issue: &Value, body: &str) -> bool {
    thread(issue).iter().any(|(_, _, b)| b == body)
}

/// Which agent calls were the reviewer's (its prompt says so on its first line).
fn is_reviewer(prompt: &str) -> bool {
    prompt.starts_with("You are a code reviewer.")
}

fn marks(repo: &TestRepo, id: i64) -> Option<ReviewMarks> {
    let store = Store::open(&repo.db()).unwrap();
    store.review_marks(&[id]).unwrap().remove(&id)
}

#[test]
fn the_reviewer_asks_for_changes_then_approves_and_the_card_says_so() {
    let repo = TestRepo::with_config(
        "[checks]\ncommands = ['test -f state.txt']\n\n[review]\nagent = true\n",
    );
    let id = repo.add(&["Set the state [scenario:review-fix]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    // checks first, then the reviewer; its changes go back to the implementer, whose change
    // is checked and reviewed again
    assert_eq!(
        run_roles(&issue),
        pairs(&[
            ("implement", "implemented"),
            ("check", "passed"),
            ("review", "changes_requested"),
            ("implement", "implemented"),
            ("check", "passed"),
            ("review", "approved"),
        ])
    );
    // the reviewer's words are its own comment, marked as the reviewer's
    let t = thread(&issue);
    let asked = t
        .iter()
        .find(|(_, _, b)| b.contains("CHANGES: REVIEW-SAYS write addressed"))
        .unwrap();
    assert_eq!(
        (asked.0.as_str(), asked.1.as_str()),
        ("reviewer:test-agent-1", "agent")
    );
    assert!(has_comment(
        &issue,
        "The reviewer asked for changes: sent back to the agent (review cycle 1 of 2)."
    ));
    assert_eq!(
        last_comment(&issue),
        "The reviewer approved the change; it is ready for your review."
    );
    // four agent processes: implementer, reviewer, implementer, reviewer
    let (calls, prompts) = (repo.agent_calls(), repo.agent_prompts());
    assert_eq!(calls.len(), 4);
    let roles: Vec<bool> = prompts.iter().map(|p| is_reviewer(p)).collect();
    assert_eq!(roles, [false, true, false, true]);
    // the reviewer never resumes a session; the implementer resumes its own, not the reviewer's
    for n in [1, 3] {
        assert!(!calls[n].iter().any(|a| a == "--resume"), "{:?}", calls[n]);
    }
    let implementer = issue["runs"][0]["session_id"].as_str().unwrap();
    let reviewer = issue["runs"][2]["session_id"].as_str().unwrap();
    assert_ne!(implementer, reviewer);
    assert_eq!(issue["session_id"], implementer);
    let at = calls[2].iter().position(|a| a == "--resume").unwrap();
    assert_eq!(calls[2][at + 1], implementer);
    // its own cost, recorded on its run
    assert_eq!(issue["runs"][2]["cost_usd"], 0.02);
    // the reviewer read the issue, the thread and the diff; the implementer got the changes
    // as its newest message
    let first_review = &prompts[1];
    assert!(
        first_review.contains("Title: Set the state [scenario:review-fix]")
            && first_review.contains("\n+first\n")
            && first_review.contains("Checks passed: `test -f state.txt`.")
            && first_review.contains("exactly `APPROVE`"),
        "{first_review}"
    );
    let fix = &prompts[2];
    let newest = fix.find("Newest message, from autopilot:").unwrap();
    assert!(
        fix[newest..].contains("(review cycle 1 of 2).\n\nREVIEW-SAYS write addressed"),
        "{fix}"
    );
    assert!(prompts[3].contains("\n+addressed\n"));
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:state.txt")]),
        "addressed"
    );
    // the card's size of the change survived the checks and the reviewer
    assert_eq!(issue["diff"]["files"], 2, "{}", issue["diff"]);
    assert_eq!(
        marks(&repo, id),
        Some(ReviewMarks {
            checks: Some(RunOutcome::Passed),
            review: Some(RunOutcome::Approved),
        })
    );
}

#[test]
fn a_reviewer_never_satisfied_hands_over_to_a_person_after_max_cycles() {
    let repo = TestRepo::with_config("[review]\nagent = true\nmax_cycles = 1\n");
    let id = repo.add(&["Never enough [scenario:review-never]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        run_roles(&issue),
        pairs(&[
            ("implement", "implemented"),
            ("review", "changes_requested"),
            ("implement", "implemented"),
            ("review", "changes_requested"),
        ])
    );
    assert_eq!(repo.agent_calls().len(), 4);
    assert_eq!(
        last_comment(&issue),
        "The reviewer still asks for changes, and its changes went back to the agent 1 time(s) \
         ([review] max_cycles = 1): the change goes to review for a person to decide. Its last \
         verdict:\n\nREVIEW-SAYS never good enough"
    );
    assert!(issue["diff"]["files"].as_i64().unwrap() > 0);
    assert_eq!(
        marks(&repo, id),
        Some(ReviewMarks {
            checks: None,
            review: Some(RunOutcome::ChangesRequested),
        })
    );
}

#[test]
fn an_answer_that_is_neither_approve_nor_changes_goes_back_as_changes() {
    let repo = TestRepo::with_config("[review]\nagent = true\n");
    let id = repo.add(&["Unclear [scenario:review-unclear]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(
        run_roles(&issue),
        pairs(&[
            ("implement", "implemented"),
            ("review", "changes_requested"),
            ("implement", "implemented"),
            ("review", "approved"),
        ])
    );
    assert!(has_comment(
        &issue,
        "The reviewer answered neither APPROVE nor CHANGES; its answer is treated as changes: \
         sent back to the agent (review cycle 1 of 2)."
    ));
    // the implementer got the whole answer
    let fix = &repo.agent_prompts()[2];
    assert!(
        fix.contains("answered neither APPROVE nor CHANGES")
            && fix.contains(
                "I am not sure about this. REVIEW-SAYS write addressed to state.txt, I think."
            ),
        "{fix}"
    );
    assert_eq!(issue["status"], "in_review");
}

#[test]
fn without_review_settings_nothing_reviews() {
    let repo = TestRepo::new();
    let id = repo.add(&["Set the state [scenario:review-fix]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review");
    assert_eq!(run_roles(&issue), pairs(&[("implement", "implemented")]));
    assert_eq!(repo.agent_calls().len(), 1);
    assert!(!thread(&issue)
        .iter()
        .any(|(a, _, _)| a.starts_with("reviewer:")));
    assert_eq!(marks(&repo, id), None);
    // `[review] agent = false` said out loud is the same
    let repo = TestRepo::with_config("[review]\nagent = false\nmax_cycles = 5\n");
    let id = repo.add(&["Set the state [scenario:review-fix]", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(
        run_roles(&repo.show(id)),
        pairs(&[("implement", "implemented")])
    );
}

#[test]
fn a_failing_reviewer_leaves_the_change_for_a_person() {
    let repo = TestRepo::with_config("[review]\nagent = true\n");
    let id = repo.add(&["Reviewer down [scenario:review-fail]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(
        run_roles(&issue),
        pairs(&[("implement", "implemented"), ("review", "failed")])
    );
    let last = last_comment(&issue);
    assert!(
        last.starts_with("The reviewer run failed: the agent reported an error")
            && last.contains("The change goes to review without a reviewer's verdict.")
            && last.contains("the reviewer fell over"),
        "{last}"
    );
    assert_eq!(
        marks(&repo, id).and_then(|m| m.review),
        Some(RunOutcome::Failed)
    );
}

#[test]
fn a_prompt_file_replaces_the_instructions_and_a_missing_one_is_refused_at_load() {
    let repo =
        TestRepo::with_config("[review]\nagent = true\nprompt_file = \"docs/reviewer.md\"\n");
    std::fs::create_dir_all(repo.root.join("docs")).unwrap();
    // a missing file: every command says which setting and which file
    let err = repo.fails(&["list"]);
    assert!(
        err.contains("[review] prompt_file = \"docs/reviewer.md\": cannot read")
            && err.contains("docs/reviewer.md"),
        "{err}"
    );
    std::fs::write(
        repo.root.join("docs/reviewer.md"),
        "OUR-HOUSE-RULES: check the spelling.\n",
    )
    .unwrap();
    let id = repo.add(&["Set the state [scenario:review-fix]", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(id), "in_review");
    let prompts = repo.agent_prompts();
    let review = prompts.iter().find(|p| is_reviewer(p)).unwrap();
    assert!(
        review.contains("OUR-HOUSE-RULES: check the spelling.")
            && !review.contains("careful senior engineer")
            && review.contains("exactly `APPROVE`"),
        "{review}"
    );
    // a file that is not text is refused too
    std::fs::write(repo.root.join("docs/reviewer.md"), [0xff, 0xfe, 0x00]).unwrap();
    let err = repo.fails(&["list"]);
    assert!(err.contains("is not UTF-8 text"), "{err}");
}
