//! The configuration's layers, checks and sample.

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

#[test]
fn layers_override_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        "[runner]\nslots = 2\npoll_seconds = 30\n[agent]\nmodel = \"user\"\n",
    )
    .unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join(REPO_FILE),
        "[runner]\nslots = 3\n[agent]\nmodel = \"repo\"\n",
    )
    .unwrap();
    let env = env_of(&[
        ("AUTOPILOT_CONFIG_HOME", home.to_str().unwrap()),
        ("AUTOPILOT_MODEL", "env"),
    ]);
    let cfg = Config::load(Paths::for_repo(&repo, None), &env).unwrap();
    assert_eq!(cfg.file.agent.model.as_deref(), Some("env"));
    let s = cfg.runner_settings(None);
    assert_eq!(s.slots, 3);
    assert_eq!(s.poll.as_secs(), 30);
    assert_eq!(cfg.runner_settings(Some(5)).slots, 5);
    assert_eq!(s.commit_name, "autopilot agent");
}

#[test]
fn bad_files_and_values_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(REPO_FILE), "[runner]\nslotz = 3\n").unwrap();
    let err = Config::load(Paths::for_repo(dir.path(), None), &env_of(&[])).unwrap_err();
    assert!(format!("{err:#}").contains("autopilot.toml"), "{err:#}");
    assert!(format!("{err:#}").contains("slotz"), "{err:#}");
    let err = FileConfig::from_env(&env_of(&[("AUTOPILOT_POLL_SECONDS", "soon")])).unwrap_err();
    assert!(err.to_string().contains("AUTOPILOT_POLL_SECONDS"));
}

#[test]
fn missing_agent_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&[("AUTOPILOT_CLAUDE_BIN", "/nonexistent/claude")]);
    let cfg = Config::load(Paths::for_repo(dir.path(), None), &env).unwrap();
    let err = cfg
        .adapter()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("AUTOPILOT_CLAUDE_BIN"), "{err}");
}

#[test]
fn kind_codex_builds_the_codex_adapter_or_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let load = |toml: &str| {
        std::fs::write(dir.path().join(REPO_FILE), toml).unwrap();
        Config::load(Paths::for_repo(dir.path(), None), &env_of(&[])).unwrap()
    };
    let sh = which::which("sh").unwrap();
    let cfg = load(&format!(
        "[agent]\nkind = \"codex\"\ncommand = {:?}\nmodel = \"gpt-5-codex\"\n",
        sh.to_str().unwrap()
    ));
    let adapter = cfg.adapter().unwrap();
    assert_eq!((adapter.name(), adapter.program()), ("codex", sh.as_path()));
    assert!(adapter.usage_is_session_total());
    assert_eq!(cfg.renderer().name(), "codex");
    let cfg = load("[agent]\nkind = \"codex\"\ncommand = \"/nonexistent/codex\"\n");
    let err = cfg
        .adapter()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("/nonexistent/codex") && err.contains("[agent] command"),
        "{err}"
    );
    let cfg = load("[agent]\nkind = \"gemini\"\n");
    let err = cfg
        .adapter()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("\"codex\""), "{err}");
}

#[test]
fn the_user_is_autopilot_user_then_user_then_human() {
    assert_eq!(
        user_name(&env_of(&[("AUTOPILOT_USER", "ana"), ("USER", "root")])),
        "ana"
    );
    assert_eq!(
        user_name(&env_of(&[("AUTOPILOT_USER", " "), ("USER", "root")])),
        "root"
    );
    assert_eq!(user_name(&env_of(&[])), "human");
}

#[test]
fn redact_patterns_of_both_files_add_up_and_a_bad_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        "[redact]\npatterns = ['mine-[0-9]+']\n",
    )
    .unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join(REPO_FILE),
        "[redact]\npatterns = ['team-[0-9]+', 'mine-[0-9]+']\n",
    )
    .unwrap();
    let env = env_of(&[("AUTOPILOT_CONFIG_HOME", home.to_str().unwrap())]);
    let cfg = Config::load(Paths::for_repo(&repo, None), &env).unwrap();
    assert_eq!(
        cfg.file.redact.patterns.as_deref(),
        Some(&["mine-[0-9]+".to_string(), "team-[0-9]+".to_string()][..])
    );
    assert_eq!(
        cfg.redactor.text("mine-1 team-2"),
        "[REDACTED:custom] [REDACTED:custom]"
    );
    std::fs::write(repo.join(REPO_FILE), "[redact]\npatterns = ['ok', '[a-']\n").unwrap();
    let err = format!(
        "{:#}",
        Config::load(Paths::for_repo(&repo, None), &env).unwrap_err()
    );
    assert!(
        err.contains("autopilot.toml") && err.contains("\"[a-\""),
        "{err}"
    );
}

#[test]
fn names_and_ids_are_printable_single_lines() {
    let env = env_of(&[("AUTOPILOT_USER", "\u{1b}]0;pwned\u{7}ana\nroot")]);
    assert_eq!(user_name(&env), "ana root");
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&[("AUTOPILOT_AGENT_ID", "bot\u{1b}[2J\u{202e}-1")]);
    let cfg = Config::load(Paths::for_repo(dir.path(), None), &env).unwrap();
    assert_eq!(cfg.agent_id(), "bot-1");
}

#[test]
fn the_sample_parses() {
    let parsed: FileConfig = toml::from_str(SAMPLE).unwrap();
    assert_eq!(parsed.runner.slots, Some(1));
    assert_eq!(parsed.checks.fix_attempts, Some(2));
}

#[test]
fn merge_settings_default_to_a_merge_commit_and_a_bad_policy_is_named() {
    let parsed: FileConfig = toml::from_str(SAMPLE).unwrap();
    assert_eq!(parsed.merge.policy, Some(MergePolicy::Merge));
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::load(Paths::for_repo(dir.path(), None), &env_of(&[])).unwrap();
    let a = cfg.accept_settings();
    assert_eq!(a.policy, MergePolicy::Merge);
    assert!(a.delete_branch && !a.push);
    std::fs::write(
        dir.path().join(REPO_FILE),
        "[merge]\npolicy = \"ff-only\"\ndelete_branch = false\n",
    )
    .unwrap();
    let cfg = Config::load(Paths::for_repo(dir.path(), None), &env_of(&[])).unwrap();
    assert_eq!(cfg.accept_settings().policy, MergePolicy::FfOnly);
    assert!(!cfg.accept_settings().delete_branch);
    let env = env_of(&[("AUTOPILOT_MERGE_POLICY", "squash")]);
    let cfg = Config::load(Paths::for_repo(dir.path(), None), &env).unwrap();
    assert_eq!(cfg.accept_settings().policy, MergePolicy::Squash);
    std::fs::write(
        dir.path().join(REPO_FILE),
        "[merge]\npolicy = \"octopus\"\n",
    )
    .unwrap();
    let err = format!(
        "{:#}",
        Config::load(Paths::for_repo(dir.path(), None), &env_of(&[])).unwrap_err()
    );
    assert!(err.contains("octopus") && err.contains("ff-only"), "{err}");
    let err = FileConfig::from_env(&env_of(&[("AUTOPILOT_MERGE_POLICY", "yolo")])).unwrap_err();
    assert!(err.to_string().contains("AUTOPILOT_MERGE_POLICY"), "{err}");
}

#[test]
fn checks_default_to_none_with_two_fix_attempts_and_are_read_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::load(Paths::for_repo(dir.path(), None), &env_of(&[])).unwrap();
    let checks = cfg.runner_settings(None).checks;
    assert!(checks.commands.is_empty());
    assert_eq!(checks.fix_attempts, 2);
    assert_eq!(checks.timeout, Some(std::time::Duration::from_secs(900)));
    std::fs::write(
        dir.path().join(REPO_FILE),
        "[checks]\ncommands = ['make test']\ntimeout_minutes = 0\nfix_attempts = 0\n",
    )
    .unwrap();
    let cfg = Config::load(Paths::for_repo(dir.path(), None), &env_of(&[])).unwrap();
    let checks = cfg.runner_settings(None).checks;
    assert_eq!(checks.commands, ["make test"]);
    assert_eq!((checks.timeout, checks.fix_attempts), (None, 0));
}

#[test]
fn budget_caps_must_be_positive_dollars_and_on_exceed_a_known_word() {
    let dir = tempfile::tempdir().unwrap();
    let load = |text: &str| {
        std::fs::write(dir.path().join(REPO_FILE), text).unwrap();
        Config::load(Paths::for_repo(dir.path(), None), &env_of(&[]))
    };
    let cfg =
        load("[budget]\ndaily_usd = 20.0\nper_issue_usd = 5\non_exceed = \"stop\"\n").unwrap();
    assert_eq!(cfg.file.budget.daily_usd, Some(20.0));
    assert_eq!(cfg.file.budget.per_issue_usd, Some(5.0));
    assert_eq!(cfg.file.budget.on_exceed, Some(OnExceed::Stop));
    for (text, named) in [
        ("[budget]\ndaily_usd = -1.0\n", "[budget] daily_usd"),
        ("[budget]\nper_run_usd = 0\n", "[budget] per_run_usd"),
        ("[budget]\nper_issue_usd = nan\n", "[budget] per_issue_usd"),
        ("[budget]\non_exceed = \"panic\"\n", "on_exceed"),
        ("[budget]\nmonthly_usd = 3.0\n", "monthly_usd"),
    ] {
        let err = format!("{:#}", load(text).unwrap_err());
        assert!(err.contains(named), "{text}: {err}");
    }
}

#[test]
fn prices_extend_the_table_layer_by_model_and_refuse_nonsense_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        "[prices.\"claude-sonnet-4-5\"]\ninput = 2.0\noutput = 10.0\n\
         [prices.mock]\ninput = 1.0\noutput = 1.0\n",
    )
    .unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let env = env_of(&[("AUTOPILOT_CONFIG_HOME", home.to_str().unwrap())]);
    let load = |text: &str| {
        std::fs::write(repo.join(REPO_FILE), text).unwrap();
        Config::load(Paths::for_repo(&repo, None), &env)
    };
    let cfg = load("[prices.mock]\ninput = 4.0\noutput = 8.0\ncache_read = 0.5\n").unwrap();
    let table = cfg.runner_settings(None).prices;
    let sonnet = table.price("claude-sonnet-4-5-20250929").unwrap();
    assert_eq!(
        (sonnet.input, sonnet.output),
        (2.0, 10.0),
        "the user's file"
    );
    assert!((sonnet.cache_write - 2.5).abs() < 1e-12, "1.25 times input");
    let mock = table.price("mock-model").unwrap();
    assert_eq!((mock.input, mock.output, mock.cache_read), (4.0, 8.0, 0.5));
    assert_eq!(table.price("claude-haiku-4-5").map(|p| p.input), Some(1.0));
    for (text, named) in [
        (
            "[prices.m]\ninput = -1.0\noutput = 1.0\n",
            "[prices.\"m\"] input",
        ),
        (
            "[prices.m]\ninput = 1.0\noutput = inf\n",
            "[prices.\"m\"] output",
        ),
        (
            "[prices.m]\ninput = 1\noutput = 1\ncache_write = nan\n",
            "cache_write",
        ),
        (
            "[prices.m]\ninput = 1.0\noutput = 1.0\nbatch = 0.5\n",
            "batch",
        ),
        ("[prices.m]\ninput = 1.0\n", "output"),
        (
            "[prices.\" \"]\ninput = 1.0\noutput = 1.0\n",
            "model id or prefix",
        ),
    ] {
        let err = format!("{:#}", load(text).unwrap_err());
        assert!(err.contains(named), "{text}: {err}");
        assert!(err.contains(REPO_FILE), "names the file: {err}");
    }
}

#[test]
fn the_per_run_cap_reaches_claude_and_the_runner() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(REPO_FILE), "[budget]\nper_run_usd = 2.5\n").unwrap();
    let cfg = Config::load(Paths::for_repo(dir.path(), None), &env_of(&[])).unwrap();
    assert_eq!(cfg.runner_settings(None).per_run_usd, Some(2.5));
}

#[test]
fn max_in_review_is_a_count_and_zero_means_no_limit() {
    let dir = tempfile::tempdir().unwrap();
    let load = |text: &str| {
        std::fs::write(dir.path().join(REPO_FILE), text).unwrap();
        Config::load(Paths::for_repo(dir.path(), None), &env_of(&[]))
    };
    let cfg = load("[runner]\nmax_in_review = 3\n").unwrap();
    assert_eq!(cfg.runner_settings(None).budget.max_in_review, Some(3));
    let cfg = load("[runner]\nmax_in_review = 0\n").unwrap();
    assert_eq!(cfg.runner_settings(None).budget.max_in_review, None);
    let cfg = load("").unwrap();
    assert_eq!(cfg.runner_settings(None).budget.max_in_review, None);
    let err = format!("{:#}", load("[runner]\nmax_in_review = -2\n").unwrap_err());
    assert!(err.contains("max_in_review"), "{err}");
}

/// Loads `toml` as the repository's file in a fresh directory (with `files` beside it).
fn load_repo(toml: &str, files: &[&str]) -> (tempfile::TempDir, anyhow::Result<Config>) {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let path = dir.path().join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "instructions\n").unwrap();
    }
    std::fs::write(dir.path().join(REPO_FILE), toml).unwrap();
    let cfg = Config::load(Paths::for_repo(dir.path(), None), &env_of(&[]));
    (dir, cfg)
}

fn persona_error(toml: &str, files: &[&str]) -> String {
    match load_repo(toml, files).1 {
        Ok(_) => panic!("accepted: {toml}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn personas_resolve_against_the_files_directory_and_reach_the_runner() {
    let (dir, cfg) = load_repo(
        "[personas.tester]\nprompt_file = \"p/tester.md\"\nmodel = \"m\"\neffort = \"low\"\n\
         [personas.review]\nprompt_file = \"p/review.md\"\n\
         [personas.analyze]\nmodel = \"cheap\"\n\
         [pipeline]\nfeature = [\"implement\", \"tester\", \"review\"]\n",
        &["p/tester.md", "p/review.md"],
    );
    let s = cfg.unwrap().runner_settings(None);
    let tester = &s.personas.by_name["tester"];
    assert_eq!(
        tester.prompt_file.as_deref(),
        Some(dir.path().join("p/tester.md").as_path())
    );
    assert_eq!(tester.model.as_deref(), Some("m"));
    assert_eq!(tester.effort, Some(crate::domain::Effort::Low));
    assert_eq!(
        s.personas.pipeline[&crate::domain::Kind::Feature],
        ["implement", "tester", "review"]
    );
    // the reviewer persona's instructions are the reviewer's, the analyst's model the analyst's
    assert_eq!(
        s.review.prompt_file.as_deref(),
        Some(dir.path().join("p/review.md").as_path())
    );
    assert_eq!(s.retry.analyze_model, "cheap");
}

#[test]
fn personas_from_the_user_file_resolve_against_its_directory_and_merge_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("personas")).unwrap();
    std::fs::write(home.join("personas/tester.md"), "t\n").unwrap();
    std::fs::write(
        home.join("config.toml"),
        "[personas.tester]\nprompt_file = \"personas/tester.md\"\nmodel = \"user\"\n",
    )
    .unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join(REPO_FILE),
        "[personas.tester]\nmodel = \"repo\"\n",
    )
    .unwrap();
    let env = env_of(&[("AUTOPILOT_CONFIG_HOME", home.to_str().unwrap())]);
    let cfg = Config::load(Paths::for_repo(&repo, None), &env).unwrap();
    let tester = &cfg.file.personas["tester"];
    assert_eq!(tester.model.as_deref(), Some("repo"));
    assert_eq!(
        tester.prompt_file.as_deref(),
        Some(home.join("personas/tester.md").as_path())
    );
}

#[test]
fn bad_personas_and_pipelines_are_refused_naming_what_is_wrong() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        // unknown key
        (
            "[personas.tester]\nprompt_file = \"t.md\"\nmodle = \"x\"\n",
            &["t.md"],
            &["modle"],
        ),
        // empty name
        (
            "[personas.\"\"]\nmodel = \"x\"\n",
            &[],
            &["\"\" is not a persona name"],
        ),
        (
            "[personas.\"Bad Name\"]\nmodel = \"x\"\n",
            &[],
            &["not a persona name"],
        ),
        (
            "[personas.check]\nmodel = \"x\"\n",
            &[],
            &["keeps for its own runs"],
        ),
        // a prompt file that does not exist: said with its path
        (
            "[personas.tester]\nprompt_file = \"nope/tester.md\"\n",
            &[],
            &["[personas.tester] prompt_file", "nope/tester.md"],
        ),
        (
            "[personas.review]\nprompt_file = \"\"\n",
            &[],
            &["the path is empty"],
        ),
        // bad effort
        (
            "[personas.plan]\neffort = \"extreme\"\n",
            &[],
            &["extreme", "effort"],
        ),
        (
            "[personas.plan]\nmodel = \" \"\n",
            &[],
            &["[personas.plan] model", "empty"],
        ),
        // a custom persona needs its instructions
        (
            "[personas.tester]\nmodel = \"x\"\n",
            &[],
            &["[personas.tester] needs a prompt_file"],
        ),
        // pipelines
        (
            "[pipeline]\nfeatur = [\"implement\"]\n",
            &[],
            &["\"featur\" is not a kind"],
        ),
        ("[pipeline]\nbug = []\n", &[], &["[pipeline] bug", "empty"]),
        (
            "[pipeline]\nbug = [\"implement\", \"ghost\"]\n",
            &[],
            &["\"ghost\" is not defined"],
        ),
        (
            "[pipeline]\nbug = [\"review\", \"implement\"]\n",
            &[],
            &["\"review\" can only come last"],
        ),
        (
            "[pipeline]\nbug = [\"plan\"]\n",
            &[],
            &["\"plan\" is not a step"],
        ),
        (
            "[personas.t]\nprompt_file = \"t.md\"\n[pipeline]\nbug = [\"t\", \"implement\"]\n",
            &["t.md"],
            &["\"implement\" can only come first"],
        ),
        (
            "[personas.t]\nprompt_file = \"t.md\"\n[pipeline]\nbug = [\"t\", \"t\"]\n",
            &["t.md"],
            &["listed twice"],
        ),
    ];
    for (toml, files, wants) in cases {
        let err = persona_error(toml, files);
        assert!(
            err.contains(REPO_FILE) || err.contains("[personas"),
            "{toml}: {err}"
        );
        for want in *wants {
            assert!(err.contains(want), "{toml}: {err}");
        }
    }
}

#[test]
fn no_personas_leave_every_role_as_it_was() {
    let (_dir, cfg) = load_repo("", &[]);
    let s = cfg.unwrap().runner_settings(None);
    assert!(s.personas.by_name.is_empty() && s.personas.pipeline.is_empty());
    assert!(!s.personas.after_checks(crate::domain::Kind::Feature, false));
    assert!(s.personas.reviews(crate::domain::Kind::Feature, true));
    assert_eq!(
        s.retry.analyze_model,
        crate::runner::failure::RetryPolicy::default().analyze_model
    );
}
