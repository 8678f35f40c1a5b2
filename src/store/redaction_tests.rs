//! The store is where people's and agents' words enter the database: every text written goes
//! through the redactor it was opened with.

use super::*;
use crate::domain::{Actor, AuthorKind, Kind, RunOutcome, Status};

#[test]
fn every_text_written_is_redacted_with_the_stores_patterns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("autopilot.db");
    let redactor = Arc::new(Redactor::with_patterns(&["corp-[0-9]{6}".into()]).unwrap());
    let mut store = Store::open_with(&path, redactor).unwrap();
    let issue = store
        .create_issue(
            &NewIssue {
                title: "rotate corp-111111".into(),
                body: "the old one was TOKEN=abc123".into(),
                kind: Kind::Chore,
                ready: true,
                ..NewIssue::default()
            },
            "me",
        )
        .unwrap();
    assert_eq!(issue.title, "rotate [REDACTED:custom]");
    assert_eq!(issue.body, "the old one was TOKEN=[REDACTED:secret]");
    let edited = store
        .update_issue(
            issue.id,
            &IssueEdit {
                title: Some("rotate corp-222222".into()),
                body: Some("SECRET=s3".into()),
                ..IssueEdit::default()
            },
            "me",
        )
        .unwrap();
    assert_eq!(
        (edited.title.as_str(), edited.body.as_str()),
        ("rotate [REDACTED:custom]", "SECRET=[REDACTED:secret]")
    );
    store
        .add_comment(issue.id, "me", AuthorKind::Human, "use corp-333333")
        .unwrap();
    store.claim_next("agent-1", 60_000).unwrap().unwrap();
    let run = store.start_run(issue.id, "agent-1", 0, "host").unwrap();
    let end = RunEnd {
        outcome: Some(RunOutcome::Failed),
        error: Some("exit 1 after PASSWORD=pw".into()),
        stderr_tail: Some("AUTH_TOKEN=tok\ncorp-444444".into()),
        move_to: Some((Status::Blocked, Actor::System)),
        comments: vec![(
            "autopilot".into(),
            AuthorKind::System,
            "stderr: AUTH_TOKEN=tok".into(),
        )],
        ..RunEnd::default()
    };
    store.finish_run(run, "agent-1", &end).unwrap();
    let bodies: Vec<String> = store
        .comments(issue.id)
        .unwrap()
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(
        bodies,
        [
            "use [REDACTED:custom]",
            "stderr: AUTH_TOKEN=[REDACTED:secret]"
        ]
    );
    assert_eq!(
        store.run(run).unwrap().error.as_deref(),
        Some("exit 1 after PASSWORD=[REDACTED:secret]")
    );
    assert_eq!(
        store.run_stderr(run).unwrap().as_deref(),
        Some("AUTH_TOKEN=[REDACTED:secret]\n[REDACTED:custom]")
    );
    // and nothing of it anywhere in the file, events included
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    for secret in [
        "corp-1", "corp-2", "corp-3", "corp-4", "abc123", "=s3", "=pw", "=tok",
    ] {
        assert!(
            memchr::memmem::find(&bytes, secret.as_bytes()).is_none(),
            "{secret} is in the database file"
        );
    }
}

#[test]
fn a_new_database_and_its_directory_are_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new/dir/autopilot.db");
    let store = Store::open(&path).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(format!("{:o}", mode(&path)), "600");
    assert_eq!(format!("{:o}", mode(&dir.path().join("new"))), "700");
    assert_eq!(format!("{:o}", mode(&dir.path().join("new/dir"))), "700");
    // SQLite creates these while the connection is open, with the database's mode
    for side in ["autopilot.db-wal", "autopilot.db-shm"] {
        let p = dir.path().join("new/dir").join(side);
        assert!(p.exists(), "{side}");
        assert_eq!(format!("{:o}", mode(&p)), "600", "{side}");
    }
    drop(store);
}
