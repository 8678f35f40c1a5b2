//! A mock OpenAI Responses API on 127.0.0.1 for driving the real Codex CLI offline.
//!
//! `POST /v1/responses` (always `stream: true` from Codex) answers with Server-Sent Events:
//! `response.created`, `response.output_item.added`, `response.output_text.delta`,
//! `response.output_item.done` (an assistant message or an `exec_command` function call) and
//! `response.completed` with usage. The scenario is chosen by a `[scenario:NAME]` marker
//! anywhere in the request (the issue title reaches the prompt):
//!
//! - `implement`: runs `printf … > hello.txt`, then adds `NOTES.md` through `apply_patch`, then
//!   answers `Implemented hello.txt.`;
//! - `ask`: answers `BLOCKED: …` until the conversation holds that question, then implements;
//! - `server-error`: HTTP 500; `rate-limit`: HTTP 429 with OpenAI's rate-limit error.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// The usage every answer reports: input, cached input, output and reasoning tokens.
pub const USAGE: [i64; 4] = [1000, 200, 50, 10];

/// The question of the `ask` scenario.
pub const QUESTION: &str = "Which database should the cache use, Redis or Postgres?";

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request as it came.
    pub http: crate::support::mock_http::HttpRequest,
    /// The JSON body.
    pub body: Value,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.http.header(name)
    }
}

/// A running mock server.
pub struct MockOpenAi {
    /// `http://127.0.0.1:<port>/v1`, the provider's `base_url`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl MockOpenAi {
    /// Starts the server on a free port; it lives as long as the test process.
    pub fn start() -> MockOpenAi {
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let log = Arc::clone(&requests);
        let addr = crate::support::mock_http::listen(move |reader, out| serve(reader, out, &log));
        MockOpenAi {
            base_url: format!("http://{addr}/v1"),
            requests,
        }
    }

    /// Every `/v1/responses` request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// A `config.toml` for `CODEX_HOME` that points Codex at this server (key from
    /// `MOCK_OPENAI_KEY`, no retries so that errors end the run at once).
    pub fn codex_config(&self) -> String {
        format!(
            "model_provider = \"mock\"\nmodel = \"gpt-5-codex\"\n\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{}\"\nwire_api = \"responses\"\nenv_key = \"MOCK_OPENAI_KEY\"\nrequest_max_retries = 0\nstream_max_retries = 0\n",
            self.base_url
        )
    }
}

fn serve(mut reader: BufReader<TcpStream>, mut out: TcpStream, log: &Mutex<Vec<Request>>) {
    while let Some(http) = crate::support::mock_http::read_request(&mut reader) {
        if !http.line.starts_with("POST /v1/responses") {
            let _ = write_json(&mut out, 404, &json!({"error":{"message":"not here"}}));
            continue;
        }
        let body: Value = serde_json::from_slice(&http.body).unwrap_or(Value::Null);
        if let Ok(mut l) = log.lock() {
            l.push(Request {
                http,
                body: body.clone(),
            });
        }
        if respond(&mut out, &body).is_err() {
            return;
        }
    }
}

fn write_json(out: &mut TcpStream, status: u16, body: &Value) -> std::io::Result<()> {
    let text = body.to_string();
    let reason = match status {
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: req_mock\r\n\r\n",
        text.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn scenario(req: &Value) -> String {
    let text = req.to_string();
    text.find("[scenario:")
        .and_then(|i| text[i + 10..].split(']').next().map(str::to_string))
        .unwrap_or_else(|| "implement".into())
}

/// Tool results since the conversation last held the question (all of them when it never did).
fn steps_done(req: &Value) -> (usize, bool) {
    let items = req["input"].as_array().cloned().unwrap_or_default();
    let asked = items
        .iter()
        .rposition(|i| i["role"] == "assistant" && i.to_string().contains("BLOCKED:"));
    let since = asked.map_or(0, |p| p + 1);
    let done = items[since..]
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .count();
    (done, asked.is_some())
}

enum Answer {
    Text(String),
    Command(String),
}

fn respond(out: &mut TcpStream, req: &Value) -> std::io::Result<()> {
    let name = scenario(req);
    let (done, asked) = steps_done(req);
    let implement = |done: usize| {
        match done {
        0 => Answer::Command("printf 'Hello from the real Codex CLI' > hello.txt".into()),
        1 => Answer::Command(
            "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: NOTES.md\n+Notes from Codex\n*** End Patch\nEOF\n"
                .into(),
        ),
        _ => Answer::Text("Implemented hello.txt.".into()),
    }
    };
    let answer = match name.as_str() {
        "server-error" => {
            return write_json(
                out,
                500,
                &json!({"error":{"type":"server_error","message":"The server had an error while processing your request."}}),
            )
        }
        "rate-limit" => {
            return write_json(
                out,
                429,
                &json!({"error":{"type":"requests","code":"rate_limit_exceeded","message":"Rate limit reached for gpt-5-codex on requests per min (RPM): Limit 3, Used 3, Requested 1."}}),
            )
        }
        "ask" if !asked => Answer::Text(format!("BLOCKED: {QUESTION}")),
        _ => implement(done),
    };
    stream(out, answer)
}

fn stream(out: &mut TcpStream, answer: Answer) -> std::io::Result<()> {
    let [input, cached, output, reasoning] = USAGE;
    let mut events = vec![json!({"type":"response.created","response":{"id":"resp_mock"}})];
    match answer {
        Answer::Text(text) => {
            let item = |content: Value| json!({"type":"message","role":"assistant","id":"msg_mock","content":content});
            events.push(json!({"type":"response.output_item.added","output_index":0,"item":item(json!([]))}));
            events.push(json!({"type":"response.output_text.delta","item_id":"msg_mock","output_index":0,"content_index":0,"delta":text}));
            events.push(json!({"type":"response.output_item.done","output_index":0,"item":item(json!([{"type":"output_text","text":text,"annotations":[]}]))}));
        }
        Answer::Command(cmd) => {
            let call = json!({"type":"function_call","id":"fc_mock","call_id":format!("call_{}", cmd.len()),"name":"exec_command","arguments":json!({"cmd":cmd}).to_string()});
            events.push(json!({"type":"response.output_item.added","output_index":0,"item":call}));
            events.push(json!({"type":"response.output_item.done","output_index":0,"item":call}));
        }
    }
    events.push(
        json!({"type":"response.completed","response":{"id":"resp_mock","usage":{
        "input_tokens":input,"input_tokens_details":{"cached_tokens":cached},
        "output_tokens":output,"output_tokens_details":{"reasoning_tokens":reasoning},
        "total_tokens":input + output}}}),
    );
    let body: String = events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap_or("")))
        .collect();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(body.as_bytes())?;
    out.flush()
}
