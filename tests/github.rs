//! GitHub through a stand-in `gh` on PATH: importing issues, the pull request a push opens,
//! and merging it on accept. The stand-in records its arguments and prints canned answers.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use support::{git, last_comment, TestRepo};

/// The stand-in `gh`: each call's arguments, one a line, then `--`, appended to `$GH_LOG`;
/// `issue list` prints `$GH_ISSUES` (or `$GH_FAIL` on stderr, exiting 1); `pr create` prints
/// a pull request's address; `pr merge` fails when `$GH_MERGE_FAIL` is set.
const GH: &str = r#"#!/bin/sh
for a in "$@"; do printf '%s\n' "$a" >> "$GH_LOG"; done
echo -- >> "$GH_LOG"
case "$1 $2" in
  "issue list")
    if [ -n "$GH_FAIL" ]; then printf '%s\n' "$GH_FAIL" >&2; exit 1; fi
    cat "$GH_ISSUES" ;;
  "pr create") echo "Creating pull request"; echo "https://github.com/o/r/pull/7" ;;
  "pr merge")
    if [ -n "$GH_MERGE_FAIL" ]; then echo "Pull request is not mergeable" >&2; exit 1; fi ;;
  *) echo "unexpected gh call: $*" >&2; exit 2 ;;
esac
"#;

/// A repo whose PATH starts with the stand-in `gh`, which serves `issues` to `issue list`.
fn with_gh(repo: TestRepo, issues: &str) -> (TestRepo, PathBuf) {
    let bin = repo.dir.path().join("gh-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let gh = bin.join("gh");
    std::fs::write(&gh, GH).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let list = repo.dir.path().join("issues.json");
    std::fs::write(&list, issues).unwrap();
    let log = repo.dir.path().join("gh.log");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let repo = repo
        .with_env("PATH", &path)
        .with_env("GH_ISSUES", &list.display().to_string())
        .with_env("GH_LOG", &log.display().to_string());
    (repo, list)
}

/// The stand-in's calls so far, each as its argument list.
fn gh_calls(repo: &TestRepo) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(repo.dir.path().join("gh.log")).unwrap_or_default();
    text.split("--\n")
        .filter(|c| !c.is_empty())
        .map(|c| c.lines().map(String::from).collect())
        .collect()
}

fn issues_json(items: &[(u64, &str, &str, &[&str])]) -> String {
    let list: Vec<serde_json::Value> = items
        .iter()
        .map(|(n, title, body, labels)| {
            serde_json::json!({
                "number": n,
                "title": title,
                "body": body,
                "url": format!("https://github.com/o/r/issues/{n}"),
                "labels": labels.iter().map(|l| serde_json::json!({"name": l, "id": "x"})).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_string(&list).unwrap()
}

fn list_ids(repo: &TestRepo) -> Vec<i64> {
    let list: serde_json::Value = serde_json::from_str(&repo.ok(&["list", "--json"])).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn import_adds_open_issues_once_and_updates_only_those_still_in_backlog() {
    let first = issues_json(&[
        (1, "Crash on start", "steps", &["bug"]),
        (2, "Dark mode", "please", &[]),
    ]);
    let (repo, list) = with_gh(TestRepo::new(), &first);
    let out = repo.ok(&[
        "import", "github", "--label", "triaged", "--repo", "o/r", "--limit", "5",
    ]);
    assert_eq!(
        out.trim(),
        "added 2, updated 0, unchanged 0, skipped 0",
        "{out}"
    );
    let call = &gh_calls(&repo)[0];
    for want in [
        "issue", "list", "--json", "--label", "triaged", "--repo", "o/r", "--limit", "5",
    ] {
        assert!(call.iter().any(|a| a == want), "{want} in {call:?}");
    }
    let json = repo.show(1);
    assert_eq!(json["source_url"], "https://github.com/o/r/issues/1");
    assert_eq!(
        (json["kind"].as_str(), json["status"].as_str()),
        (Some("bug"), Some("backlog"))
    );
    assert!(repo
        .ok(&["show", "1"])
        .contains("source: https://github.com/o/r/issues/1"));

    let again = repo.ok(&["import", "github"]);
    assert_eq!(again.trim(), "added 0, updated 0, unchanged 2, skipped 0");
    assert_eq!(list_ids(&repo), [1, 2]);

    // Both change on GitHub; #2 was handed off meanwhile, so only #1 takes the change.
    repo.ok(&["move", "2", "ready"]);
    std::fs::write(
        &list,
        issues_json(&[
            (1, "Crash on start (macOS)", "steps", &["bug"]),
            (2, "Dark mode everywhere", "please", &[]),
            (3, "New one", "", &[]),
        ]),
    )
    .unwrap();
    let third = repo.ok(&["import", "github"]);
    assert!(
        third.starts_with("added 1, updated 1, unchanged 0, skipped 1"),
        "{third}"
    );
    assert!(
        third.contains("#2 changed on GitHub but is ready here"),
        "{third}"
    );
    assert_eq!(repo.show(1)["title"], "Crash on start (macOS)");
    assert_eq!(repo.show(2)["title"], "Dark mode");
}

#[test]
fn hostile_titles_and_bodies_are_cleaned_capped_and_redacted_like_add() {
    let secret = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
    let long_title = "x".repeat(5000);
    let body = format!(
        "token {secret}\n\u{1b}]52;c;cGFzdGU=\u{7}{}",
        "y".repeat(200_000)
    );
    let items = issues_json(&[
        (1, "evil \u{1b}[2J\u{1b}[31mtitle\nsecond line", &body, &[]),
        (2, &long_title, "", &[]),
    ]);
    let (repo, _) = with_gh(TestRepo::new(), &items);
    repo.ok(&["import", "github"]);
    let shown = repo.ok(&["show", "1"]);
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
    let one = repo.show(1);
    assert!(!one["title"].as_str().unwrap().contains('\n'));
    let stored = one["body"].as_str().unwrap();
    assert!(!stored.contains(secret), "redacted as add redacts");
    assert!(
        stored.len() < 70 * 1024,
        "the body is capped: {}",
        stored.len()
    );
    assert!(stored.contains("more bytes are on GitHub: https://github.com/o/r/issues/1"));
    assert_eq!(repo.show(2)["title"].as_str().unwrap().chars().count(), 200);
    // The same hostile input imported again is the same issue, unchanged.
    assert_eq!(
        repo.ok(&["import", "github"]).trim(),
        "added 0, updated 0, unchanged 2, skipped 0"
    );
}

#[test]
fn gh_failures_are_clear_errors_and_import_nothing() {
    let (repo, _) = with_gh(TestRepo::new(), &issues_json(&[(1, "a", "", &[])]));
    let cases = [
        (
            "To get started with GitHub CLI, please run:  gh auth login",
            "not logged in: run `gh auth login`",
        ),
        (
            "GraphQL: Could not resolve to a Repository with the name 'o/nope'. (repository)",
            "cannot find that repository",
        ),
    ];
    for (said, want) in cases {
        let failing = TestRepo {
            env: repo.env.clone(),
            ..TestRepo::new()
        }
        .with_env("GH_FAIL", said);
        let err = failing.fails(&["import", "github", "--repo", "o/nope"]);
        assert!(err.contains(want) && err.contains(said), "{err}");
        assert!(list_ids(&failing).is_empty(), "nothing half-imported");
    }
    // Not JSON at all.
    let (garbled, list) = with_gh(TestRepo::new(), "");
    std::fs::write(&list, "<html>").unwrap();
    assert!(garbled
        .fails(&["import", "github"])
        .contains("not its JSON"));
    // No gh on PATH: only git is there.
    let bare = TestRepo::new();
    let only_git = bare.dir.path().join("only-git");
    std::fs::create_dir_all(&only_git).unwrap();
    std::os::unix::fs::symlink(which("git"), only_git.join("git")).unwrap();
    let bare = bare.with_env("PATH", &only_git.display().to_string());
    let err = bare.fails(&["import", "github"]);
    assert!(err.contains("the GitHub CLI is not installed"), "{err}");
}

fn which(name: &str) -> PathBuf {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap()
}

/// A repo that pushes to a bare origin, with the stand-in `gh` and `config` as autopilot.toml.
fn pushing(config: &str) -> TestRepo {
    let (repo, _) = with_gh(TestRepo::with_config(config), "[]");
    let repo = repo.with_env("AUTOPILOT_PUSH", "1");
    let origin = repo.dir.path().join("origin.git");
    git(
        repo.dir.path(),
        &["init", "-q", "--bare", origin.to_str().unwrap()],
    );
    git(
        &repo.root,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    repo
}

#[test]
fn a_pushed_branch_keeps_its_pull_request_and_accept_merges_it_with_merge_pr() {
    let repo = pushing("[merge]\npolicy = \"none\"\n[github]\nmerge_pr = true\n");
    let id = repo.add(&["Push me", "--ready"]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(issue["pr_url"], "https://github.com/o/r/pull/7");
    assert!(repo
        .ok(&["show", &id.to_string()])
        .contains("pull request: https://github.com/o/r/pull/7"));
    let create = gh_calls(&repo).pop().unwrap();
    assert_eq!(&create[..2], ["pr", "create"]);

    let out = repo.ok(&["accept", &id.to_string()]);
    assert!(
        out.contains("merged the pull request https://github.com/o/r/pull/7"),
        "{out}"
    );
    let merge = gh_calls(&repo).pop().unwrap();
    assert_eq!(
        merge,
        ["pr", "merge", "https://github.com/o/r/pull/7", "--merge"]
    );
    assert_eq!(repo.status(id), "done");
}

#[test]
fn a_failed_pr_merge_is_a_comment_and_the_branch_stays() {
    let repo = pushing("[merge]\npolicy = \"none\"\n[github]\nmerge_pr = true\n")
        .with_env("GH_MERGE_FAIL", "1");
    let id = repo.add(&["Push me", "--ready"]);
    repo.ok(&["run", "--once"]);
    repo.ok(&["accept", &id.to_string()]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "done");
    let note = last_comment(&issue);
    assert!(
        note.contains("merging the pull request https://github.com/o/r/pull/7 failed")
            && note.contains("Pull request is not mergeable"),
        "{note}"
    );
}

#[test]
fn without_merge_pr_accept_leaves_the_pull_request_alone() {
    let repo = pushing("[merge]\npolicy = \"none\"\n");
    let id = repo.add(&["Push me", "--ready"]);
    repo.ok(&["run", "--once"]);
    repo.ok(&["accept", &id.to_string()]);
    assert!(gh_calls(&repo).iter().all(|c| c[..2] != ["pr", "merge"]));
    assert!(last_comment(&repo.show(id)).contains("Accepted without merging"));
}
