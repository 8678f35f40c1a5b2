//! A mock Anthropic Messages API on 127.0.0.1 for driving the real Claude Code CLI offline.
//!
//! `POST /v1/messages` answers with Server-Sent Events (message_start, content_block_start,
//! content_block_delta with text_delta / input_json_delta, content_block_stop, message_delta,
//! message_stop) and realistic usage, or with plain JSON when the CLI retries without streaming.
//! The scenario is chosen by a `[scenario:NAME]` marker anywhere in the request (the issue title
//! reaches the prompt): implement, ask, slow, bash, sleeper, overloaded, overloaded-once,
//! rate-limit, secrets, checks-fix, review-fix, learn.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// The usage every answer reports: input, output, cache-read and cache-write tokens.
pub const USAGE: [i64; 4] = [1200, 60, 300, 40];

/// A running mock server.
pub struct MockApi {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl MockApi {
    /// Starts the server on a free port; it lives as long as the test process.
    pub fn start() -> MockApi {
        let requests: Arc<Mutex<Vec<Value>>> = Arc::default();
        let log = Arc::clone(&requests);
        let addr = super::mock_http::listen(move |reader, out| serve(reader, out, &log));
        MockApi {
            url: format!("http://{addr}"),
            requests,
        }
    }

    /// Every request body received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

fn serve(mut reader: BufReader<TcpStream>, mut out: TcpStream, log: &Mutex<Vec<Value>>) {
    while let Some(request) = super::mock_http::read_request(&mut reader) {
        if !request.line.starts_with("POST /v1/messages") {
            let _ = write_json(
                &mut out,
                404,
                &json!({"type":"error","error":{"type":"not_found_error","message":"not here"}}),
                &[],
            );
            continue;
        }
        let req: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if let Ok(mut l) = log.lock() {
            l.push(req.clone());
        }
        if respond(&mut out, &req).is_err() || request.wants_close() {
            return;
        }
    }
}

fn write_json(
    out: &mut TcpStream,
    status: u16,
    body: &Value,
    headers: &[(&str, String)],
) -> std::io::Result<()> {
    let text = body.to_string();
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        429 => "Too Many Requests",
        529 => "Overloaded",
        _ => "Error",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nrequest-id: req_mock\r\n", text.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// One content block of a scripted answer.
enum Block {
    Text(String),
    Tool(&'static str, Value),
}

/// The fake secrets of the `secrets` scenario (an Anthropic key, a GitHub token, a
/// fine-grained GitHub token, a password), joined here so that no file holds one whole.
pub fn fake_secrets() -> [String; 4] {
    [
        ["sk-ant-", "api03-MOCKsecretAAAA0123456789bbbb"].concat(),
        ["ghp_", "MOCKghpBBBB0123456789abcdefghijklmnop"].concat(),
        ["github_pat_", "11MOCKFINE0123456789_abcdefghijklmnopqrst"].concat(),
        ["hunter2", "MOCKpw"].concat(),
    ]
}

fn scenario(req: &Value) -> String {
    let text = req.to_string();
    text.find("[scenario:")
        .and_then(|i| text[i + 10..].split(']').next().map(str::to_string))
        .unwrap_or_else(|| "implement".into())
}

fn working_dir(req: &Value) -> String {
    let text = req.to_string();
    let marker = "Primary working directory: ";
    text.find(marker)
        .map(|i| {
            text[i + marker.len()..]
                .split("\\n")
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_else(|| ".".into())
}

fn after_tool_result(req: &Value) -> bool {
    req["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_array())
        .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"))
}

fn answer_in(req: &Value) -> Option<String> {
    let text = req.to_string();
    text.find("ANSWER: ").map(|i| {
        text[i + 8..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    })
}

fn respond(out: &mut TcpStream, req: &Value) -> std::io::Result<()> {
    let name = scenario(req);
    let cwd = working_dir(req);
    let done = after_tool_result(req);
    let mut delay = Duration::ZERO;
    let blocks = match name.as_str() {
        // An analyst (`[runner] retry = "analyze"`) diagnoses, whatever the scenario.
        _ if req.to_string().contains("You are diagnosing a failed run") => {
            vec![Block::Text(
                "DIAGNOSIS-SAYS the API was overloaded; just try again.".into(),
            )]
        }
        "overloaded" => {
            return write_json(
                out,
                529,
                &json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
                &[("x-should-retry", "true".into())],
            );
        }
        // Overloaded until the runner's retry note is in the thread the prompt carries: the
        // first run fails however often the CLI retries by itself, its retry succeeds.
        "overloaded-once" if !req.to_string().contains("Retry 1/") => {
            return write_json(
                out,
                529,
                &json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
                &[("x-should-retry", "true".into())],
            );
        }
        "rate-limit" => {
            return write_json(
                out,
                429,
                &json!({"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your rate limit."}}),
                &[
                    ("retry-after", "1".into()),
                    ("anthropic-ratelimit-requests-remaining", "0".into()),
                ],
            );
        }
        // A planner that tries to write first (`plan-write`), then answers as any planner.
        "plan-write"
            if !done
                && req
                    .to_string()
                    .contains("You are planning, not implementing.") =>
        {
            vec![Block::Tool(
                "Write",
                json!({"file_path": format!("{cwd}/planner-wrote.txt"), "content": "changed\n"}),
            )]
        }
        // A planner (`split`) answers with subtask lines, whatever the scenario.
        _ if req
            .to_string()
            .contains("You are planning, not implementing.") =>
        {
            vec![Block::Text(
                "I read the issue.\n\nSUBTASK: Add the parser — read the config file\n\
             SUBTASK: Wire it in - call it at startup"
                    .into(),
            )]
        }
        "secrets" if done => {
            let [_, _, pat, password] = fake_secrets();
            vec![Block::Text(format!(
                "Rotated the keys: the new token is {pat}, APP_PASSWORD={password}."
            ))]
        }
        // Ends its answer with lessons, one holding a secret.
        "learn" if done => {
            let [ant, _, _, _] = fake_secrets();
            vec![Block::Text(format!(
                "Implemented the change.\n\nLEARNED: the gizmo build needs GIZMO_MODE=fast before the tests\nLEARNED: the staging key is {ant}"
            ))]
        }
        _ if done => vec![Block::Text(match name.as_str() {
            "bash" => "Ran the command. Output:\nbash-ok".into(),
            _ => "Implemented the change.".into(),
        })],
        "secrets" => {
            let [ant, ghp, _, _] = fake_secrets();
            vec![
                Block::Text(format!(
                    "I was given ANTHROPIC_API_KEY={ant}\nso let me look at the environment."
                )),
                Block::Tool(
                    "Bash",
                    json!({"command": format!("echo ANTHROPIC_API_KEY={ant}; echo GH_TOKEN={ghp}; echo rotated > secrets.txt"),
                           "description": "Print the keys and rotate them"}),
                ),
            ]
        }
        "ask" => match answer_in(req) {
            Some(answer) => vec![
                Block::Text("Thanks, writing it down.".into()),
                Block::Tool(
                    "Write",
                    json!({"file_path": format!("{cwd}/answer.txt"), "content": format!("ANSWER: {answer}\n")}),
                ),
            ],
            None => vec![Block::Text(
                "BLOCKED: Which database should the cache use, Redis or Postgres?".into(),
            )],
        },
        // Asks for a secret field; once the thread says it was provided, prints it from the
        // environment into a file and to the tool's output.
        "needs" if req.to_string().contains("DB_PASS: provided") => vec![Block::Tool(
            "Bash",
            json!({"command": "printf %s \"$DB_PASS\" > needs_env.txt; echo \"pass is $DB_PASS\"", "description": "Use the password"}),
        )],
        "needs" => vec![Block::Text(
            "BLOCKED: Which password does the staging database take?\nNEEDS: DB_PASS (secret) — the staging password".into(),
        )],
        "slow" => {
            delay = Duration::from_millis(400);
            vec![
                Block::Text("line 1".into()),
                Block::Text("line 2".into()),
                Block::Text("line 3".into()),
                Block::Text("line 4".into()),
                Block::Tool(
                    "Write",
                    json!({"file_path": format!("{cwd}/slow.txt"), "content": "slow\n"}),
                ),
            ]
        }
        "bash" => vec![Block::Tool(
            "Bash",
            json!({"command": "echo bash-ok > bash_out.txt && cat bash_out.txt", "description": "Run the requested command"}),
        )],
        // Breaks a completion check, and fixes it once the prompt carries what the check printed.
        "checks-fix" => {
            let fixed = req.to_string().contains("CHECK-SAYS: state must be fixed");
            let state = if fixed { "fixed" } else { "broken" };
            vec![Block::Tool(
                "Bash",
                json!({"command": format!("echo {state} > state.txt"), "description": "Write the state"}),
            )]
        }
        // A reviewer (its prompt starts `You are a code reviewer.`) asks for changes until the
        // diff it reads shows `addressed`; the implementer writes `first`, then `addressed` once
        // the reviewer's words reach it.
        "review-fix" => {
            let text = req.to_string();
            if text.contains("You are a code reviewer.") {
                vec![Block::Text(if text.contains("\\n+addressed\\n") {
                    "The state is addressed.\n\nAPPROVE".into()
                } else {
                    "The state is wrong.\n\nCHANGES: REVIEW-SAYS write addressed to state.txt"
                        .into()
                })]
            } else {
                let state = if text.contains("REVIEW-SAYS") {
                    "addressed"
                } else {
                    "first"
                };
                vec![Block::Tool(
                    "Bash",
                    json!({"command": format!("echo {state} > state.txt"), "description": "Write the state"}),
                )]
            }
        }
        "sleeper" => vec![Block::Tool(
            "Bash",
            json!({"command": "echo $$ > sleeper.pid && sleep 300", "description": "Wait a long time"}),
        )],
        _ => vec![
            Block::Text("I'll create hello.txt.".into()),
            Block::Tool(
                "Write",
                json!({"file_path": format!("{cwd}/hello.txt"), "content": "Hello from the real CLI\n"}),
            ),
        ],
    };
    let stop_reason = if blocks.iter().any(|b| matches!(b, Block::Tool(..))) {
        "tool_use"
    } else {
        "end_turn"
    };
    static MESSAGES: AtomicUsize = AtomicUsize::new(1);
    let msg_id = format!("msg_mock{:04}", MESSAGES.fetch_add(1, Ordering::Relaxed));
    let model = req["model"].as_str().unwrap_or("claude-mock").to_string();
    let [input, output, cache_read, cache_write] = USAGE;
    let usage = json!({"input_tokens": input, "output_tokens": 1, "cache_creation_input_tokens": cache_write, "cache_read_input_tokens": cache_read});
    if req["stream"] != true {
        let content: Vec<Value> = blocks
            .iter()
            .enumerate()
            .map(|(i, b)| match b {
                Block::Text(t) => json!({"type": "text", "text": t}),
                Block::Tool(n, input) => json!({"type": "tool_use", "id": format!("toolu_{msg_id}_{i}"), "name": n, "input": input}),
            })
            .collect();
        let msg = json!({"id": msg_id, "type": "message", "role": "assistant", "model": model, "content": content,
                         "stop_reason": stop_reason, "stop_sequence": null,
                         "usage": {"input_tokens": input, "output_tokens": output,
                                   "cache_creation_input_tokens": cache_write, "cache_read_input_tokens": cache_read}});
        return write_json(out, 200, &msg, &[]);
    }
    out.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nrequest-id: req_mock\r\ntransfer-encoding: chunked\r\n\r\n")?;
    // `broken-stream`: the stream dies half-way through its first block; the CLI must fall
    // back to a non-streaming request, which gets the whole answer.
    let broken = name == "broken-stream";
    let mut send = |event: &str, data: Value| -> std::io::Result<()> {
        let payload = format!("event: {event}\ndata: {data}\n\n");
        out.write_all(format!("{:x}\r\n{payload}\r\n", payload.len()).as_bytes())?;
        out.flush()
    };
    send(
        "message_start",
        json!({"type": "message_start", "message": {"id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage}}),
    )?;
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 && !delay.is_zero() {
            std::thread::sleep(delay);
        }
        match block {
            Block::Text(t) => {
                send(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}),
                )?;
                if broken {
                    send(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": "I'll cre"}}),
                    )?;
                    return Err(std::io::Error::other("stream broken on purpose"));
                }
                for piece in t.split_inclusive(' ') {
                    send(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": piece}}),
                    )?;
                }
            }
            Block::Tool(n, input) => {
                send(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": format!("toolu_{msg_id}_{i}"), "name": n, "input": {}}}),
                )?;
                let json_text = input.to_string();
                let mid = json_text.len() / 2;
                let mid = (mid..json_text.len())
                    .find(|m| json_text.is_char_boundary(*m))
                    .unwrap_or(json_text.len());
                for part in [&json_text[..mid], &json_text[mid..]] {
                    send(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": part}}),
                    )?;
                }
            }
        }
        send(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": i}),
        )?;
    }
    send(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": output}}),
    )?;
    send("message_stop", json!({"type": "message_stop"}))?;
    out.write_all(b"0\r\n\r\n")?;
    out.flush()
}
