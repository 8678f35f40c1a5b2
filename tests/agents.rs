//! Agents other than Claude Code, through the real binary and real git repos: the command agent
//! end to end, and each issue's own `--agent`.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::{git, last_comment, TestRepo};

/// A command agent: records its stdin, its prompt file and `$AUTOPILOT_RESUME` per run in
/// `$AGENT_DIR`; without a session to resume it names one and asks a question, with one it
/// writes `colour.txt` (from the answer in its prompt) and is done.
const AGENT: &str = r#"#!/bin/sh
n=$(cat "$AGENT_DIR/count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$AGENT_DIR/count"
cat > "$AGENT_DIR/stdin-$n"
cp "$AUTOPILOT_PROMPT_FILE" "$AGENT_DIR/file-$n"
printf '%s' "${AUTOPILOT_RESUME-none}" > "$AGENT_DIR/resume-$n"
if [ -z "$AUTOPILOT_RESUME" ]; then
  echo "SESSION: sess-42"
  echo "Looking at the button"
  echo "BLOCKED: Which colour should the button be?"
  exit 0
fi
grep -o 'colour is [a-z]*' "$AUTOPILOT_PROMPT_FILE" | tail -1 | cut -d' ' -f3 > colour.txt
echo "Painted the button"
"#;

/// Writes the agent script into the repo's temp dir; returns the command line running it.
fn agent_script(repo: &TestRepo) -> String {
    let dir = repo.dir.path().join("agent-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let script = repo.dir.path().join("agent.sh");
    std::fs::write(&script, AGENT).unwrap();
    format!("sh '{}'", script.display())
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn a_command_agent_asks_is_answered_resumes_its_session_and_its_work_is_committed() {
    let base = TestRepo::new();
    let command = agent_script(&base);
    let dir = base.dir.path().join("agent-dir");
    let repo = base
        .with_env("AUTOPILOT_CLAUDE_BIN", "")
        .with_env("AUTOPILOT_AGENT_COMMAND", &command)
        .with_env("AGENT_DIR", &dir.display().to_string());
    let id = repo.add(&["Paint the button", "--ready", "--body", "It is grey now."]);
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "blocked", "{}", last_comment(&issue));
    assert!(
        last_comment(&issue).contains("Which colour should the button be?"),
        "{}",
        last_comment(&issue)
    );
    assert_eq!(issue["session_id"], "sess-42");
    let (stdin, file) = (read(&dir, "stdin-1"), read(&dir, "file-1"));
    assert_eq!(stdin, file, "the same prompt on stdin and in the file");
    assert!(stdin.contains("Paint the button") && stdin.contains("It is grey now."));
    assert_eq!(read(&dir, "resume-1"), "none");

    repo.ok(&["comment", &id.to_string(), "The colour is blue."]);
    assert_eq!(repo.status(id), "ready", "an answer hands it back");
    repo.ok(&["run", "--once"]);
    let issue = repo.show(id);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert_eq!(read(&dir, "resume-2"), "sess-42");
    assert!(read(&dir, "file-2").contains("The colour is blue."));
    let branch = issue["branch"].as_str().unwrap();
    assert_eq!(
        git(&repo.root, &["show", &format!("{branch}:colour.txt")]),
        "blue"
    );
}

#[test]
fn each_issue_runs_the_agent_it_names_and_one_not_available_is_blocked_saying_so() {
    let base = TestRepo::new();
    let command = agent_script(&base);
    std::fs::write(
        base.root.join("autopilot.toml"),
        format!("[agent]\ncommand_agent = {command:?}\n"),
    )
    .unwrap();
    let dir = base.dir.path().join("agent-dir");
    let repo = base.with_env("AGENT_DIR", &dir.display().to_string());
    let by_command = repo.add(&["By the command agent", "--ready", "--agent", "command"]);
    let by_default = repo.add(&["By the default", "--ready"]);
    let by_codex = repo.add(&["By codex", "--ready", "--agent", "codex"]);
    assert_eq!(repo.show(by_command)["agent"], "command");
    assert_eq!(repo.show(by_default)["agent"], serde_json::Value::Null);
    repo.ok(&["run", "--once"]);

    let issue = repo.show(by_command);
    assert_eq!(issue["status"], "blocked", "{}", last_comment(&issue));
    assert!(
        last_comment(&issue).contains("Which colour"),
        "the script ran"
    );
    assert!(read(&dir, "stdin-1").contains("By the command agent"));
    assert_eq!(read(&dir, "count").trim(), "1", "only its own issue");

    let issue = repo.show(by_default);
    assert_eq!(issue["status"], "in_review", "{}", last_comment(&issue));
    assert!(repo
        .agent_prompts()
        .iter()
        .any(|p| p.contains("By the default")));

    let issue = repo.show(by_codex);
    assert_eq!(issue["status"], "blocked");
    let note = last_comment(&issue);
    assert!(
        note.contains("asks for the codex agent, which is not available here")
            && note.contains("--agent \"\""),
        "{note}"
    );

    // Back to the configured agent: it runs once handed back.
    repo.ok(&["edit", &by_codex.to_string(), "--agent", ""]);
    assert_eq!(repo.show(by_codex)["agent"], serde_json::Value::Null);
    repo.ok(&["comment", &by_codex.to_string(), "use the default"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(by_codex), "in_review");
}

#[test]
fn the_command_agent_unconfigured_blocks_and_bad_names_are_refused() {
    let repo = TestRepo::new();
    let id = repo.add(&["Needs a command", "--ready", "--agent", "command"]);
    repo.ok(&["run", "--once"]);
    let note = last_comment(&repo.show(id));
    assert!(
        note.contains("[agent] command_agent"),
        "says what to set: {note}"
    );
    let err = repo.fails(&["add", "x", "--agent", "gpt"]);
    assert!(err.contains("claude, codex, command"), "{err}");
    let err = repo.fails(&["edit", &id.to_string(), "--agent", "gpt"]);
    assert!(err.contains("claude, codex, command"), "{err}");
    assert_eq!(repo.show(id)["agent"], "command", "nothing changed");
    repo.ok(&["edit", &id.to_string(), "--agent", "Claude"]);
    assert_eq!(repo.show(id)["agent"], "claude");
    assert!(repo
        .ok(&["show", &id.to_string()])
        .contains("agent: claude"));
}
