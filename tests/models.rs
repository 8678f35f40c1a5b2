//! Model and effort per issue: `add`/`edit --model/--effort`, `[agent.models]`, `[agent] effort`
//! and `fallback_models`, as the agent's command line shows them.

#![allow(clippy::unwrap_used)]

mod support;

use support::TestRepo;

#[test]
fn add_and_edit_set_and_clear_the_model_and_effort() {
    let repo = TestRepo::new();
    let id = repo.add(&["Tune", "--model", "opus", "--effort", "xhigh"]);
    let issue = repo.show(id);
    assert_eq!(
        (issue["model"].as_str(), issue["effort"].as_str()),
        (Some("opus"), Some("xhigh"))
    );

    let sid = id.to_string();
    assert!(repo
        .ok(&["show", &sid])
        .contains("model: opus  effort: xhigh"));
    repo.ok(&["edit", &sid, "--model", "haiku", "--effort", "LOW"]);
    let issue = repo.show(id);
    assert_eq!(
        (issue["model"].as_str(), issue["effort"].as_str()),
        (Some("haiku"), Some("low"))
    );

    // Editing something else keeps them; an empty value goes back to the configured one.
    repo.ok(&["edit", &sid, "--title", "Tuned"]);
    assert_eq!(repo.show(id)["model"].as_str(), Some("haiku"));
    repo.ok(&["edit", &sid, "--model", "", "--effort", ""]);
    let issue = repo.show(id);
    assert!(
        issue["model"].is_null() && issue["effort"].is_null(),
        "{issue}"
    );
}

#[test]
fn bad_models_and_efforts_are_refused_naming_what_is_allowed() {
    let repo = TestRepo::new();
    let err = repo.fails(&["add", "X", "--effort", "extreme"]);
    assert!(
        err.contains("extreme") && err.contains("low, medium, high, xhigh, max"),
        "{err}"
    );
    let id = repo.add(&["Y", "--model", "sonnet"]);
    let sid = id.to_string();
    let err = repo.fails(&["edit", &sid, "--effort", "huge"]);
    assert!(err.contains("low, medium, high, xhigh, max"), "{err}");
    let err = repo.fails(&["edit", &sid, "--model", "two words"]);
    assert!(err.contains("not a model name"), "{err}");
    let err = repo.fails(&["edit", &sid, "--model=--dangerous"]);
    assert!(err.contains("not a model name"), "{err}");
    // Nothing was lost: the issue keeps its model.
    assert_eq!(repo.show(id)["model"].as_str(), Some("sonnet"));
    assert!(repo
        .fails(&["add", "Z", "--model", "a\u{1b}[31m"])
        .contains("not a model name"));

    for (toml, allowed) in [
        ("[agent]\neffort = \"huge\"\n", "`xhigh`"),
        ("[agent.models]\nbugs = \"sonnet\"\n", "`feedback`"),
    ] {
        let repo = TestRepo::with_config(toml);
        let err = repo.fails(&["list"]);
        assert!(
            err.contains("autopilot.toml") && err.contains(allowed),
            "{err}"
        );
    }
}

/// The model and effort of each agent call, by the issue title its prompt carries.
fn flags_by_title(repo: &TestRepo, titles: &[&str]) -> Vec<(String, Vec<String>)> {
    let calls = repo.agent_calls();
    let prompts = repo.agent_prompts();
    assert_eq!(calls.len(), prompts.len());
    let mut out: Vec<(String, Vec<String>)> = titles
        .iter()
        .map(|t| {
            let i = prompts.iter().position(|p| p.contains(t)).unwrap();
            let args = &calls[i];
            let mut flags = Vec::new();
            for (j, a) in args.iter().enumerate() {
                if a == "--model" || a == "--effort" {
                    flags.push(format!("{a} {}", args[j + 1]));
                } else if a.starts_with("--fallback-model") {
                    flags.push(a.clone());
                }
            }
            (t.to_string(), flags)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn runs_take_the_issue_model_then_the_kind_model_then_the_default() {
    let repo = TestRepo::with_config(
        "[agent]\nmodel = \"opus\"\neffort = \"medium\"\nfallback_models = [\"sonnet\", \"haiku\"]\n\
         [agent.models]\nbug = \"sonnet\"\nchore = \"haiku\"\n",
    );
    repo.add(&[
        "Own choice",
        "--kind",
        "bug",
        "--model",
        "fable",
        "--effort",
        "max",
        "--ready",
    ]);
    repo.add(&["Plain bug", "--kind", "bug", "--ready"]);
    repo.add(&["Plain feature", "--ready"]);
    repo.ok(&["run", "--once"]);
    let fallback = "--fallback-model=sonnet,haiku";
    let want = |model: &str, effort: &str| {
        vec![
            format!("--model {model}"),
            fallback.to_string(),
            format!("--effort {effort}"),
        ]
    };
    assert_eq!(
        flags_by_title(&repo, &["Own choice", "Plain bug", "Plain feature"]),
        vec![
            ("Own choice".to_string(), want("fable", "max")),
            ("Plain bug".to_string(), want("sonnet", "medium")),
            ("Plain feature".to_string(), want("opus", "medium")),
        ]
    );
}

#[test]
fn without_settings_no_model_flags_are_passed() {
    let repo = TestRepo::new();
    repo.add(&["Bare", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(
        flags_by_title(&repo, &["Bare"]),
        vec![("Bare".to_string(), vec![])]
    );
}

#[test]
fn the_tui_editor_sets_and_clears_the_model_and_effort() {
    use support::tmux::{Tmux, LIMIT};
    let repo = TestRepo::new();
    let Some(t) = Tmux::start(&repo, "--no-runner") else {
        return;
    };
    t.wait_screen("backlog 0");
    t.keys(&["n"]);
    t.wait_screen("Effort  default");
    t.text("Pick me");
    for _ in 0..4 {
        t.keys(&["Tab"]);
    }
    t.text("haiku");
    t.keys(&["Enter", "Right", "Right", "Right", "C-s"]);
    let issue = support::wait_for("the new issue", LIMIT, || {
        let list: serde_json::Value = serde_json::from_str(&repo.ok(&["list", "--json"])).unwrap();
        list.as_array().and_then(|l| l.first()).cloned()
    });
    assert_eq!(
        (issue["model"].as_str(), issue["effort"].as_str()),
        (Some("haiku"), Some("high"))
    );
    t.wait_screen("Pick me");
    // Editing it: the fields hold its values; emptied, they go back to the configured ones.
    t.keys(&["e"]);
    t.wait_screen("Edit #1");
    for _ in 0..4 {
        t.keys(&["Tab"]);
    }
    t.keys(&["BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "Tab"]);
    t.keys(&["Left", "Left", "Left", "C-s"]);
    support::wait_for("the cleared model", LIMIT, || {
        let issue = repo.show(1);
        (issue["model"].is_null() && issue["effort"].is_null()).then_some(())
    });
    t.quit();
}
