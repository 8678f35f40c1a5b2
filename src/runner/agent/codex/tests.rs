use super::*;
use crate::domain::Tokens;
use crate::runner::agent::render::{LineKind, PaneLine};
use crate::runner::agent::AgentResult;
use crate::runner::outcome::{decide, Observed, Verdict};

const THREAD: &str = "01a22ef1-15d3-72f3-8601-26b4aae2307a";

fn codex(model: Option<&str>) -> Codex {
    Codex {
        program: "codex".into(),
        model: model.map(String::from),
        models: Default::default(),
        effort: None,
        permission_mode: "bypassPermissions".into(),
        extra_args: Vec::new(),
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/codex-exec-json/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn events(name: &str) -> Vec<AgentEvent> {
    let c = codex(None);
    fixture(name)
        .split(|b| *b == b'\n')
        .flat_map(|l| c.parse_line(l))
        .collect()
}

fn observe(name: &str) -> Observed {
    let mut obs = Observed::default();
    for ev in events(name) {
        obs.observe(ev);
    }
    obs
}

fn pane(name: &str) -> Vec<PaneLine> {
    let c = codex(None);
    fixture(name)
        .split(|b| *b == b'\n')
        .flat_map(|l| c.render_line(l))
        .collect()
}

fn result(events: &[AgentEvent]) -> &AgentResult {
    match events.last() {
        Some(AgentEvent::Result(r)) => r,
        other => panic!("last event is not a result: {other:?}"),
    }
}

#[test]
fn implement_transcript_gives_session_tools_answer_and_usage() {
    let ev = events("implement.jsonl");
    assert_eq!(
        ev[0],
        AgentEvent::Init {
            session_id: THREAD.into(),
            model: None,
            permission_mode: None
        }
    );
    assert!(ev.contains(&AgentEvent::ToolUse {
        message_id: None,
        name: "Bash".into(),
        summary: "/bin/bash -lc \"printf 'Hello from the real Codex CLI' > hello.txt\"".into()
    }));
    assert!(ev.contains(&AgentEvent::ToolResult {
        text: String::new(),
        is_error: false
    }));
    assert!(ev
        .iter()
        .any(|e| matches!(e, AgentEvent::ToolUse { name, summary, .. }
        if name == "Patch" && summary.starts_with("add /") && summary.ends_with("/NOTES.md"))));
    let r = result(&ev);
    assert!(!r.is_error);
    assert_eq!(r.subtype, "success");
    assert!(!ev
        .iter()
        .any(|e| matches!(e, AgentEvent::Raw(t) if !t.starts_with('⚠'))));

    let obs = observe("implement.jsonl");
    assert_eq!(obs.session_id.as_deref(), Some(THREAD));
    assert_eq!(obs.final_text(), "Implemented hello.txt.");
    assert_eq!(obs.blocked_question(), None);
    // Codex's input count includes the cached part; ours does not.
    let tokens = Tokens {
        input: 2400,
        output: 150,
        cache_read: 600,
        cache_write: 0,
    };
    assert_eq!(obs.tokens(), Some(tokens));
    assert_eq!(
        decide(&obs, Some(0), None, true, true),
        Verdict::Implemented("Implemented hello.txt.".into())
    );
}

#[test]
fn implement_transcript_renders_as_pane_lines() {
    let lines = pane("implement.jsonl");
    let texts: Vec<(LineKind, &str)> = lines.iter().map(|l| (l.kind, l.text.as_str())).collect();
    assert_eq!(texts[0], (LineKind::Meta, &*format!("● session {THREAD}")));
    assert!(texts.contains(&(
        LineKind::Tool,
        "▸ Bash /bin/bash -lc \"printf 'Hello from the real Codex CLI' > hello.txt\""
    )));
    assert!(texts
        .iter()
        .any(|(k, t)| *k == LineKind::Tool && t.starts_with("▸ Patch add /")));
    assert!(texts.contains(&(LineKind::Text, "Implemented hello.txt.")));
    assert!(texts.contains(&(LineKind::Meta, "✓ finished (success)")));
    // Codex's own warnings (an unknown model here) show as such, not as the answer.
    assert!(texts
        .iter()
        .any(|(k, t)| *k == LineKind::Raw && t.starts_with("⚠ Model metadata")));
}

#[test]
fn blocked_transcript_asks_its_question() {
    let obs = observe("blocked.jsonl");
    assert_eq!(
        decide(&obs, Some(0), None, false, true),
        Verdict::Blocked("Which database should the cache use, Redis or Postgres?".into())
    );
    assert_eq!(
        obs.session_id.as_deref(),
        Some("01a22ef1-1a8c-75a3-ac78-987d45ae7297")
    );
}

#[test]
fn resumed_transcript_keeps_the_thread_id() {
    let blocked = observe("blocked.jsonl");
    let resumed = observe("resume.jsonl");
    assert_eq!(resumed.session_id, blocked.session_id);
    assert_eq!(resumed.final_text(), "Implemented hello.txt.");
}

#[test]
fn a_server_error_fails_the_run_with_codexs_message() {
    let obs = observe("server-error.jsonl");
    let Verdict::Failed(why) = decide(&obs, Some(1), None, false, true) else {
        panic!("not failed: {obs:?}");
    };
    assert!(
        why.contains("turn_failed") && why.contains("high demand"),
        "{why}"
    );
    assert!(pane("server-error.jsonl")
        .iter()
        .any(|l| l.kind == LineKind::Error && l.text.contains("high demand")));
}

#[test]
fn a_rate_limit_holds_the_queue() {
    let obs = observe("rate-limit.jsonl");
    assert_eq!(
        obs.result.as_ref().and_then(|r| r.api_error_status),
        Some(429)
    );
    assert!(matches!(
        decide(&obs, Some(1), None, false, true),
        Verdict::RateLimited { message, .. } if message.contains("429 Too Many Requests")
    ));
}

#[test]
fn a_configured_model_is_reported_for_pricing() {
    let c = codex(Some("gpt-5-codex"));
    let line = fixture("implement.jsonl");
    let first = line.split(|b| *b == b'\n').next().unwrap_or_default();
    assert!(matches!(&c.parse_line(first)[0],
        AgentEvent::Init { model: Some(m), .. } if m == "gpt-5-codex"));
}

#[test]
fn hostile_and_odd_lines_never_reach_the_pane_raw() {
    let c = codex(None);
    let hostile = br#"{"type":"item.completed","item":{"id":"i","type":"agent_message","text":"hi \u001b]52;c;aGk=\u0007\u001b[2Jthere"}}"#;
    let lines = c.render_line(hostile);
    assert_eq!(lines.len(), 1);
    assert!(!lines[0].text.contains('\u{1b}') && lines[0].text.contains("hi"));
    let cmd = br#"{"type":"item.started","item":{"id":"i","type":"command_execution","command":"echo \u001b[31mred\nsecond line","status":"in_progress"}}"#;
    let lines = c.render_line(cmd);
    assert_eq!(lines.len(), 1);
    assert!(!lines[0].text.contains('\u{1b}'), "{:?}", lines[0].text);
    // Not JSON: kept as text; unknown types and shapes: skipped.
    assert_eq!(c.parse_line(b"plain"), [AgentEvent::Raw("plain".into())]);
    assert_eq!(
        c.parse_line(br#"{"type":"future.event","x":1}"#),
        [AgentEvent::Ignored]
    );
    assert_eq!(
        c.parse_line(br#"{"type":"item.completed","item":7}"#),
        [AgentEvent::Ignored]
    );
    assert_eq!(c.parse_line(b"  "), []);
}

#[test]
fn other_items_render_as_tools() {
    let c = codex(None);
    let text = |line: &[u8]| {
        c.render_line(line)
            .into_iter()
            .map(|l| l.text)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        text(br#"{"type":"item.completed","item":{"id":"i","type":"web_search","query":"rust sqlite"}}"#),
        ["▸ WebSearch rust sqlite"]
    );
    assert_eq!(
        text(br#"{"type":"item.started","item":{"id":"i","type":"todo_list","items":[{"text":"a","completed":true},{"text":"b","completed":false}]}}"#),
        ["▸ Plan 1/2 done: b"]
    );
    assert_eq!(
        text(br#"{"type":"item.started","item":{"id":"i","type":"mcp_tool_call","server":"gh","tool":"search","arguments":{"q":"x"},"status":"in_progress"}}"#),
        ["▸ gh.search {\"q\":\"x\"}"]
    );
    assert_eq!(
        text(br#"{"type":"item.completed","item":{"id":"i","type":"mcp_tool_call","server":"gh","tool":"search","error":{"message":"denied"},"status":"failed"}}"#),
        ["  denied"]
    );
    assert_eq!(
        text(br#"{"type":"item.completed","item":{"id":"i","type":"command_execution","command":"false","aggregated_output":"boom\n","exit_code":1,"status":"failed"}}"#),
        ["  boom"]
    );
    assert_eq!(
        c.parse_line(
            br#"{"type":"item.completed","item":{"id":"i","type":"reasoning","text":"hmm"}}"#
        ),
        [AgentEvent::Ignored]
    );
}

#[test]
fn args_take_the_prompt_on_stdin_and_resume_the_thread() {
    let mut c = codex(Some("gpt-5-codex"));
    c.models = [(Kind::Bug, "o3".to_string())].into();
    c.effort = Some(Effort::Max);
    c.extra_args = vec!["-c".into(), "x=1".into()];
    let req = AgentRequest {
        prompt: "do it".into(),
        cwd: "/w".into(),
        resume: None,
        issue_id: 1,
        prompt_file: None,
        choice: Default::default(),
        read_only: false,
    };
    let head = "exec --json --color never --skip-git-repo-check --cd /w";
    assert_eq!(
        c.args(&req).join(" "),
        format!("{head} --dangerously-bypass-approvals-and-sandbox --model gpt-5-codex -c model_reasoning_effort=\"xhigh\" -c x=1 -")
    );
    let resumed = AgentRequest {
        resume: Some("t-1".into()),
        choice: ModelChoice {
            model: None,
            effort: Some(Effort::Low),
            kind: Some(Kind::Bug),
        },
        ..req.clone()
    };
    assert_eq!(
        c.args(&resumed).join(" "),
        format!("{head} --dangerously-bypass-approvals-and-sandbox --model o3 -c model_reasoning_effort=\"low\" -c x=1 resume t-1 -")
    );
    let planner = AgentRequest {
        read_only: true,
        ..req.clone()
    };
    assert!(c
        .args(&planner)
        .join(" ")
        .contains("--sandbox read-only --model"));
    c.permission_mode = "workspace-write".into();
    assert!(c
        .args(&req)
        .join(" ")
        .contains("--sandbox workspace-write --model"));
    assert_eq!(
        c.interactive_args("t-1", &ModelChoice::default())
            .unwrap_or_default()
            .join(" "),
        "resume t-1 --sandbox workspace-write --model gpt-5-codex -c model_reasoning_effort=\"xhigh\" -c x=1"
    );
    assert!(c.reports_result() && c.answers_version());
    // What codex 0.171.0 prints for a thread it does not know.
    let gone = "Error: thread/resume: thread/resume failed: no rollout found for thread id 00000000-0000-0000-0000-000000000000 (code -32600)";
    assert!(c.resume_failed(gone, false));
    assert!(!c.resume_failed(gone, true) && !c.resume_failed("other", false));
}
