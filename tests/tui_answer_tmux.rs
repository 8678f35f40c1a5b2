//! The inbox's answer form in a real terminal: a blocked issue asking for one ordinary and
//! one secret field is answered through the form; the ordinary value reaches the thread, the
//! secret only the next run's environment — never the screen, the terminal's bytes or the
//! database files.

#![allow(clippy::unwrap_used)]

mod support;

use support::tmux::{Tmux, LIMIT};
use support::{last_comment, wait_for, TestRepo};

const SECRET: &str = "walrus-Secret-5521-quill";

/// Without `$DB_PASS` it asks for the database; with it, it records what it got outside the
/// worktree, echoes it (redaction must hide it) and does the work.
const AGENT: &str = r#"#!/bin/sh
if [ -z "${DB_PASS:-}" ]; then
  echo "BLOCKED: Which database should I use?"
  echo "NEEDS: DB_URL — the staging database URL"
  echo "NEEDS: DB_PASS (secret) — its password"
  exit 0
fi
printf '%s' "$DB_PASS" > "$AGENT_DIR/seen-pass"
echo "connecting with $DB_PASS"
echo connected > db.txt
echo "Connected"
"#;

fn holds(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Whether the database, its WAL or its shared memory holds the secret, as they are on disk.
fn db_holds(repo: &TestRepo) -> bool {
    let db = repo.db();
    let files: Vec<u8> = ["", "-wal", "-shm"]
        .iter()
        .flat_map(|s| std::fs::read(format!("{}{s}", db.display())).unwrap_or_default())
        .collect();
    assert!(!files.is_empty());
    holds(&files, SECRET)
}

#[test]
fn a_blocked_issue_is_answered_through_the_inbox_form() {
    let base = TestRepo::new();
    let dir = base.dir.path().join("agent-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let script = base.dir.path().join("agent.sh");
    std::fs::write(&script, AGENT).unwrap();
    let repo = base
        .with_env("AUTOPILOT_CLAUDE_BIN", "")
        .with_env(
            "AUTOPILOT_AGENT_COMMAND",
            &format!("sh '{}'", script.display()),
        )
        .with_env("AGENT_DIR", &dir.display().to_string());
    let Some(t) = Tmux::start(&repo, "") else {
        return;
    };
    let bytes = repo.dir.path().join("terminal-bytes");
    t.pipe_output(&bytes);
    t.wait_screen("backlog 0");
    let id = repo.add(&["Connect the database", "--ready"]);
    wait_for("blocked", LIMIT, || {
        (repo.status(id) == "blocked").then_some(())
    });
    let issue = repo.show(id);
    assert_eq!(issue["needs"][1]["name"], "DB_PASS", "{issue}");
    t.wait_screen("inbox 1");
    t.keys(&["i"]);
    t.wait_screen("Inbox");
    t.keys(&["Enter"]);
    t.wait_screen(&format!("Answer #{id}: the agent's fields"));
    t.wait_screen("DB_PASS (secret) — its password");
    t.text("pg://staging/app");
    // Sending with a field empty names it and keeps what was typed.
    t.keys(&["C-s"]);
    t.wait_screen("DB_PASS is empty");
    // The empty field has the focus now.
    t.text(SECRET);
    let screen = t.wait_screen(&"•".repeat(12));
    assert!(screen.contains("pg://staging/app"), "{screen}");
    assert!(!screen.contains(SECRET), "{screen}");
    t.keys(&["Enter"]);
    wait_for("the rerun to reach review", LIMIT, || {
        (repo.status(id) == "in_review").then_some(())
    });
    assert_eq!(
        std::fs::read_to_string(dir.join("seen-pass")).unwrap(),
        SECRET,
        "the run got the secret in its environment"
    );
    let issue = repo.show(id);
    assert_eq!(
        issue["needs"],
        serde_json::json!([]),
        "answered: no open fields"
    );
    let thread: Vec<&str> = issue["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["body"].as_str())
        .collect();
    let answer = thread
        .iter()
        .find(|b| b.starts_with("Answers to the agent's fields"))
        .unwrap_or_else(|| panic!("no answer in the thread: {}", last_comment(&issue)));
    assert!(answer.contains("- DB_URL: pg://staging/app"), "{answer}");
    assert!(answer.contains("- DB_PASS: provided (secret"), "{answer}");
    let shown = repo.ok(&["show", &id.to_string(), "--json"]);
    assert!(!shown.contains(SECRET), "{shown}");
    // While the TUI still runs, too: the claim that took the secret emptied the WAL, whose
    // frames held it (secure_delete zeroes only the database's own pages).
    assert!(!db_holds(&repo), "the database files hold the secret");
    let screen = t.screen();
    assert!(!screen.contains(SECRET), "{screen}");
    t.quit();
    assert!(
        !db_holds(&repo),
        "after the TUI exits, the database files hold the secret"
    );
    let written = std::fs::read(&bytes).unwrap_or_default();
    assert!(!written.is_empty(), "the terminal's bytes were recorded");
    assert!(
        !holds(&written, SECRET),
        "the secret reached the terminal at some point"
    );
}
