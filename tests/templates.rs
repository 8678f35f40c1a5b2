//! Prompt templates through the real binary: the repository's and the user's directories,
//! `[templates]` per kind and default, an issue's own, the prompt the fake agent read, and
//! what `show` and `templates` say.

#![allow(clippy::unwrap_used)]

mod support;

use support::TestRepo;

/// Writes template `name` into `dir` (created).
fn template(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("{name}.md")), text).unwrap();
}

fn repo_dir(repo: &TestRepo) -> std::path::PathBuf {
    repo.root.join(".autopilot/templates")
}

fn user_dir(repo: &TestRepo) -> std::path::PathBuf {
    repo.dir.path().join("config/templates")
}

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

#[test]
fn the_issue_then_kind_then_default_template_reaches_the_prompt_as_guidelines() {
    let repo = TestRepo::with_config("[templates]\ndefault = \"general\"\nbug = \"bugfix\"\n");
    template(
        &repo_dir(&repo),
        "bugfix",
        "# Bugfix\nWrite a failing test first: REPO-BUGFIX.\n",
    );
    template(
        &user_dir(&repo),
        "bugfix",
        "USER-BUGFIX loses to the repository's\n",
    );
    template(
        &user_dir(&repo),
        "general",
        "GENERAL-RULES from the user's directory\n",
    );
    template(&repo_dir(&repo), "careful", "CAREFUL-RULES\n");
    let bug = repo.add(&["Crash on start", "--kind", "bug", "--ready"]);
    let feature = repo.add(&["Add dark mode", "--kind", "feature", "--ready"]);
    let own = repo.add(&[
        "Fix the parser",
        "--kind",
        "bug",
        "--template",
        "careful",
        "--ready",
    ]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let p = prompt_of(&repo, "Crash on start");
    assert!(p.starts_with("Guidelines (template `bugfix`"), "{p}");
    assert!(
        p.contains("REPO-BUGFIX") && !p.contains("USER-BUGFIX"),
        "{p}"
    );
    assert!(p.find("REPO-BUGFIX").unwrap() < p.find("Title: Crash on start").unwrap());
    assert!(p.contains("BLOCKED: "), "the rules stay: {p}");
    let p = prompt_of(&repo, "Add dark mode");
    assert!(p.starts_with("Guidelines (template `general`") && p.contains("GENERAL-RULES"));
    let p = prompt_of(&repo, "Fix the parser");
    assert!(
        p.contains("CAREFUL-RULES") && !p.contains("REPO-BUGFIX"),
        "{p}"
    );

    for (id, issue_template, run_template) in [
        (bug, None, "bugfix"),
        (feature, None, "general"),
        (own, Some("careful"), "careful"),
    ] {
        let shown = repo.show(id);
        assert_eq!(shown["status"], "in_review", "{shown}");
        assert_eq!(shown["template"].as_str(), issue_template);
        assert_eq!(shown["runs"][0]["template"], run_template);
    }
}

#[test]
fn without_templates_the_prompt_has_no_guidelines_and_the_run_records_none() {
    let repo = TestRepo::new();
    let id = repo.add(&["Plain", "--ready"]);
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = prompt_of(&repo, "Plain");
    assert!(!p.contains("Guidelines"), "{p}");
    assert!(repo.show(id)["runs"][0]["template"].is_null());
}

#[test]
fn an_unknown_or_malformed_template_is_refused_naming_the_known_ones() {
    let repo = TestRepo::new();
    template(&repo_dir(&repo), "bugfix", "x\n");
    template(&user_dir(&repo), "docs", "y\n");
    let err = repo.fails(&["add", "Typo", "--template", "nope"]);
    assert!(err.contains("there is no template \"nope\""), "{err}");
    assert!(
        err.contains("known: bugfix, docs") && err.contains("nothing was added"),
        "{err}"
    );
    assert_eq!(
        repo.ok(&["list", "--json"]).trim(),
        "[]",
        "nothing was added"
    );
    let err = repo.fails(&["add", "Typo", "--template", "../../etc/passwd"]);
    assert!(err.contains("is not a template name"), "{err}");

    let id = repo.add(&["Typo", "--template", "docs"]);
    assert_eq!(repo.show(id)["template"], "docs");
    let err = repo.fails(&["edit", &id.to_string(), "--template", "nope"]);
    assert!(
        err.contains("known: bugfix, docs") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(repo.show(id)["template"], "docs");
    repo.ok(&["edit", &id.to_string(), "--template", "bugfix"]);
    assert_eq!(repo.show(id)["template"], "bugfix");
    repo.ok(&["edit", &id.to_string(), "--template", ""]);
    assert!(repo.show(id)["template"].is_null());
}

#[test]
fn a_template_deleted_after_it_was_chosen_runs_without_it_and_the_thread_says_so() {
    let repo = TestRepo::new();
    template(&repo_dir(&repo), "gone", "GONE-RULES\n");
    let id = repo.add(&["Later", "--template", "gone", "--ready"]);
    std::fs::remove_file(repo_dir(&repo).join("gone.md")).unwrap();
    let out = repo.run(&["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = prompt_of(&repo, "Later");
    assert!(
        !p.contains("Guidelines") && !p.contains("GONE-RULES"),
        "{p}"
    );
    let shown = repo.show(id);
    assert_eq!(shown["status"], "in_review", "the run went on: {shown}");
    assert!(shown["runs"][0]["template"].is_null());
    let note = shown["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["author_kind"] == "system")
        .map(|c| c["body"].as_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        note.contains("Template \"gone\" could not be used") && note.contains("--template"),
        "{shown}"
    );
}

#[test]
fn templates_lists_name_source_size_and_first_line() {
    let repo = TestRepo::with_config("[templates]\nbug = \"bugfix\"\n");
    let out = repo.ok(&["templates"]);
    assert!(out.contains("no templates: add NAME.md files to"), "{out}");
    template(
        &repo_dir(&repo),
        "bugfix",
        "\n# Fix bugs \u{1b}[2J well\nmore\n",
    );
    template(&user_dir(&repo), "bugfix", "# hidden by the repository's\n");
    template(&user_dir(&repo), "docs", "# Docs\n");
    template(&user_dir(&repo), "not a name", "skipped\n");
    let out = repo.ok(&["templates"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("bugfix") && lines[0].contains("repo"),
        "{out}"
    );
    assert!(
        lines[0].contains("# Fix bugs") && !out.contains('\u{1b}'),
        "{out}"
    );
    assert!(
        lines[1].starts_with("docs") && lines[1].contains("user"),
        "{out}"
    );
    assert_eq!(lines[2], "[templates] bug = bugfix");
    let json: serde_json::Value = serde_json::from_str(&repo.ok(&["templates", "--json"])).unwrap();
    let list = json.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "bugfix");
    assert_eq!(list[0]["source"], "repo");
    assert_eq!(list[0]["bytes"], 27);
    assert_eq!(list[1]["name"], "docs");
    assert_eq!(list[1]["first_line"], "# Docs");
}

#[test]
fn a_templates_section_with_an_unknown_key_or_a_path_is_refused() {
    let repo = TestRepo::with_config("[templates]\nbugs = \"bugfix\"\n");
    let err = repo.fails(&["list"]);
    assert!(
        err.contains("\"bugs\" is neither `default` nor a kind"),
        "{err}"
    );
    let repo = TestRepo::with_config("[templates]\ndefault = \"../x\"\n");
    let err = repo.fails(&["list"]);
    assert!(
        err.contains("[templates] default") && err.contains("is not a template name"),
        "{err}"
    );
}

/// The mean of `key` over `runs`.
fn mean(runs: &[serde_json::Value], key: &str) -> f64 {
    runs.iter().map(|r| r[key].as_f64().unwrap()).sum::<f64>() / runs.len() as f64
}

#[test]
fn stats_by_template_counts_runs_first_tries_without_a_human_answer_and_means() {
    let repo = TestRepo::with_config("[templates]\nbug = \"bugfix\"\n").with_env("TZ", "UTC");
    template(
        &repo_dir(&repo),
        "bugfix",
        "# Bugfix\nReproduce it first.\n",
    );
    let done = repo.add(&["Crash", "--kind", "bug", "--ready"]);
    let asks = repo.add(&["Which fix [scenario:ask]", "--kind", "bug", "--ready"]);
    let plain = repo.add(&["Plain", "--kind", "feature", "--ready"]);
    let fails = repo.add(&["Breaks [scenario:fail]", "--kind", "chore", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(asks), "blocked");
    // The answer makes the second run reach review, but not on the first try.
    repo.ok(&["comment", &asks.to_string(), "ANSWER: the small one"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(asks), "in_review");

    let s: serde_json::Value = serde_json::from_str(&repo.ok(&["stats", "--json"])).unwrap();
    let by = &s["by_template"];
    let runs = |ids: &[i64]| -> Vec<serde_json::Value> {
        ids.iter()
            .flat_map(|id| repo.show(*id)["runs"].as_array().unwrap().clone())
            .collect()
    };
    let bugfix = runs(&[done, asks]);
    assert!(
        bugfix.iter().all(|r| r["template"] == "bugfix"),
        "{bugfix:?}"
    );
    let t = &by["bugfix"];
    assert_eq!(t["runs"], 3, "{s}");
    assert_eq!(
        (t["first_runs"].as_i64(), t["first_try_reviews"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(t["success_rate"], 0.5);
    let close = |a: &serde_json::Value, b: f64| (a.as_f64().unwrap() - b).abs() < 1e-9;
    assert!(close(&t["mean_cost_usd"], mean(&bugfix, "cost_usd")), "{t}");
    assert!(close(&t["mean_turns"], mean(&bugfix, "turns")), "{t}");
    assert!(t["mean_duration_secs"].as_f64().unwrap() >= 0.0);
    let models = t["by_model"].as_object().unwrap();
    let model_runs: i64 = models.values().map(|m| m["runs"].as_i64().unwrap()).sum();
    assert_eq!(model_runs, 3, "{t}");
    let none = &by["none"];
    assert_eq!(none["runs"], runs(&[plain, fails]).len() as i64, "{s}");
    assert_eq!(
        (
            none["first_runs"].as_i64(),
            none["first_try_reviews"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(by.as_object().unwrap().len(), 2, "{s}");

    let text = repo.ok(&["stats"]);
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("bugfix"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        text.contains("TEMPLATE") && row.contains("1/2 50%"),
        "{text}"
    );
}
