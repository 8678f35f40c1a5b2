//! Secrets and terminal escapes, end to end: the real binary, real git, a real SQLite file and
//! the fake agent's `secrets` and `escapes` scenarios.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::{git, last_comment, TestRepo};

/// The fake secrets `tests/support/fake-claude` prints in its `secrets` scenario, joined from
/// the same pieces.
fn secrets() -> Vec<String> {
    [
        ["sk-ant-", "api03-FAKEsecretAAAA0123456789bbbb"],
        ["AKIA", "FAKE7EXAMPLE1234"],
        ["ghp_", "FAKEghpBBBB0123456789abcdefghijklmnop"],
        ["github_pat_", "11FAKEFINE0123456789_abcdefghijklmnopqrst"],
        ["xoxb-", "1111111111-2222222222-FAKEslackCCCC"],
        ["b3BlbnNzaC1rZXktdjEAAAAA", "FAKEKEYBODYDDDD"],
        ["hunter2", "FAKEpw"],
        ["FAKEtoken", "EEEE"],
        ["FAKEsecret", "FFFF"],
        ["corp-", "424242"],
    ]
    .iter()
    .map(|parts| parts.concat())
    .collect()
}

fn assert_no_secret(what: &str, text: &[u8]) {
    for s in secrets() {
        assert!(
            memchr::memmem::find(text, s.as_bytes()).is_none(),
            "{what} holds {s}:\n{}",
            String::from_utf8_lossy(text)
        );
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn secrets_an_agent_prints_are_stored_shown_and_committed_only_as_markers() {
    let repo = TestRepo::new();
    // a pattern of the team's own, on top of the built-in ones
    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[redact]\npatterns = ['corp-[0-9]{6}']\n",
    )
    .unwrap();
    let id = repo.add(&["Rotate the keys [scenario:secrets]", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let id = id.to_string();

    let raw = repo.ok(&["log", &id, "--raw"]);
    assert_no_secret("log --raw", raw.as_bytes());
    for kind in [
        "anthropic-api-key",
        "aws-access-key-id",
        "github-token",
        "slack-token",
        "private-key",
        "secret",
        "custom",
    ] {
        assert!(raw.contains(&format!("[REDACTED:{kind}]")), "{kind}: {raw}");
    }
    for line in raw.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("a stored line stopped being JSON ({e}): {line}"));
    }
    assert!(raw.contains(r"ANTHROPIC_API_KEY=[REDACTED:anthropic-api-key]\nGH_TOKEN="));

    let log = repo.ok(&["log", &id]);
    assert_no_secret("log", log.as_bytes());
    assert!(log.contains("DB_PASSWORD=[REDACTED:secret]"), "{log}");

    let show = repo.ok(&["show", &id, "--json"]);
    assert_no_secret("show --json", show.as_bytes());
    let summary = &issue["comments"][0]["body"];
    assert_eq!(
        summary,
        "Rotated the keys. The new token is [REDACTED:github-token] and \
         APP_SECRET=[REDACTED:secret]; the AWS key [REDACTED:aws-access-key-id] is gone."
    );
    assert_no_secret("show", repo.ok(&["show", &id]).as_bytes());

    let branch = issue["branch"].as_str().unwrap();
    let message = git(
        &repo.root,
        &["log", "--format=%B", &format!("main..{branch}")],
    );
    assert_no_secret("the commit message", message.as_bytes());
    assert!(message.contains("[REDACTED:github-token]"), "{message}");
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:secrets.txt")]),
        "rotated"
    );

    // nothing anywhere in the database: the stderr tail, events and all
    for file in ["autopilot.db", "autopilot.db-wal"] {
        if let Ok(bytes) = std::fs::read(repo.root.join(".autopilot").join(file)) {
            assert_no_secret(file, &bytes);
        }
    }
}

#[test]
fn escape_sequences_in_the_summary_and_title_do_not_reach_the_commit() {
    let repo = TestRepo::new().with_env("AUTOPILOT_COMMIT_NAME", "bot\u{1b}]0;x\u{7}");
    let id = repo.add(&[
        "Tidy \u{1b}]0;title\u{7}up \u{202e}txt.exe [scenario:escapes]",
        "--ready",
    ]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    let branch = issue["branch"].as_str().unwrap();
    let range = format!("main..{branch}");
    let message = git(&repo.root, &["log", "--format=%B%an%cn", &range]);
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{202c}'] {
        assert!(!message.contains(bad), "{bad:?} in {message:?}");
    }
    assert!(
        message.contains("Done") && message.contains("alt") && message.contains("ok evil"),
        "{message:?}"
    );
    assert!(message.contains("Tidy up txt.exe"), "{message:?}");
    assert!(message.ends_with("botbot"), "{message:?}");
    assert!(!repo.ok(&["show", &id.to_string()]).contains('\u{1b}'));
}

#[test]
fn authors_and_agent_ids_with_escape_sequences_are_shown_clean() {
    let repo = TestRepo::new()
        .with_env("AUTOPILOT_AGENT_ID", "agent\u{1b}]0;x\u{7}-a")
        .with_env("AUTOPILOT_USER", "\u{1b}[2Jtes\nter");
    let id = repo.add(&["Say hello", "--ready"]);
    repo.ok(&["run", "--once"]);
    let sid = id.to_string();
    repo.ok(&[
        "comment",
        &sid,
        "looks good",
        "--author",
        "ana\u{1b}]0;x\u{7}",
    ]);
    repo.ok(&["comment", &sid, "and from me"]);
    // a database written before names were cleaned holds them raw: show cleans them too
    {
        let mut store = autopilot_tui::store::Store::open(&repo.db()).unwrap();
        store
            .add_comment(
                id,
                "old\u{1b}]52;c;ZXZpbA==\u{7}name",
                autopilot_tui::domain::AuthorKind::Human,
                "raw author",
            )
            .unwrap();
    }
    let show = repo.ok(&["show", &sid]);
    for bad in ['\u{1b}', '\u{7}'] {
        assert!(!show.contains(bad), "{bad:?} in {show}");
    }
    assert!(show.contains("run 1 · agent-a-1 ·"), "{show}");
    assert!(show.contains("ana (human)"), "{show}");
    assert!(show.contains("tes ter (human)"), "{show}");
    assert!(show.contains("oldname (human)"), "{show}");
    let json = repo.show(id);
    assert_eq!(json["runs"][0]["agent_id"], "agent-a-1");
    assert_eq!(json["comments"][2]["author"], "ana");
}

#[test]
fn list_titles_lose_bidi_overrides_and_newlines_and_stay_one_row() {
    let repo = TestRepo::new();
    let spoof = repo.add(&["Fix \u{202e}gnp.exe\u{202c} now\nsecond \u{2066}line\u{2069}"]);
    let plain = repo.add(&["Plain title"]);
    let list = repo.ok(&["list"]);
    let rows: Vec<&str> = list.lines().collect();
    assert_eq!(rows.len(), 3, "a header and one row per issue:\n{list}");
    for bad in ['\u{202e}', '\u{202c}', '\u{2066}', '\u{2069}'] {
        assert!(!list.contains(bad), "{bad:?} in {list}");
    }
    let row = |id: i64| {
        rows.iter()
            .find(|r| r.trim_start().starts_with(&format!("{id} ")))
            .unwrap()
            .to_string()
    };
    assert!(
        row(spoof).ends_with("Fix gnp.exe now second line"),
        "{list}"
    );
    assert!(row(plain).ends_with("Plain title"), "{list}");
    let show = repo.ok(&["show", &spoof.to_string()]);
    assert!(
        show.starts_with(&format!("#{spoof} Fix gnp.exe now second line\n")),
        "{show}"
    );
}

#[test]
fn user_patterns_redact_what_people_write_and_an_invalid_one_is_named() {
    let repo = TestRepo::new();
    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[redact]\npatterns = ['corp-[0-9]{6}', 'session=(?P<secret>[a-z0-9]+)']\n",
    )
    .unwrap();
    let id = repo.add(&[
        "Renew corp-123456",
        "--body",
        "TOKEN=abc and session=s3cr3t",
    ]);
    repo.ok(&["comment", &id.to_string(), "the new one is corp-654321"]);
    let issue = repo.show(id);
    assert_eq!(issue["title"], "Renew [REDACTED:custom]");
    assert_eq!(
        issue["body"],
        "TOKEN=[REDACTED:secret] and session=[REDACTED:custom]"
    );
    assert_eq!(last_comment(&issue), "the new one is [REDACTED:custom]");

    std::fs::write(
        repo.root.join("autopilot.toml"),
        "[redact]\npatterns = ['fine', '(unclosed']\n",
    )
    .unwrap();
    let err = repo.fails(&["list"]);
    assert!(
        err.contains("autopilot.toml") && err.contains("\"(unclosed\""),
        "{err}"
    );
}

#[test]
fn the_state_dir_and_a_new_database_are_private_to_the_user() {
    let repo = TestRepo::new();
    repo.add(&["Anything"]);
    let state = repo.root.join(".autopilot");
    assert_eq!(format!("{:o}", mode(&state)), "700");
    assert_eq!(format!("{:o}", mode(&repo.db())), "600");
    // a database elsewhere (--db) gets the same, directories on the way included
    let elsewhere = repo.dir.path().join("shared/dbs/team.db");
    repo.ok(&["--db", elsewhere.to_str().unwrap(), "add", "There"]);
    assert_eq!(format!("{:o}", mode(&elsewhere)), "600");
    assert_eq!(format!("{:o}", mode(elsewhere.parent().unwrap())), "700");
}
