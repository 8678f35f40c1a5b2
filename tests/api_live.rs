//! The API's live side: the WebSocket event stream with a real WebSocket client (events written
//! by other processes through the real binary), and the feedback widget in real headless
//! Chromium.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{stop_child, wait_for, wait_output, TestRepo};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};

const TOKEN: &str = "test-token-0123456789";

/// How long an event written by another process may take to reach a client: the tailer looks
/// every 250 ms; the rest is slack for a loaded machine.
const LIVE: Duration = Duration::from_secs(3);

/// `serve` running for one test, killed when it ends.
struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        stop_child(&mut self.child, Duration::from_secs(5));
    }
}

fn serve(repo: &TestRepo) -> Served {
    let mut child = repo
        .cmd(&["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("serve prints a line").unwrap();
    // Read the token line too: closing the pipe before it is written would end `serve`.
    lines.next().expect("and where the token is").unwrap();
    let base = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_string();
    Served { child, base }
}

fn token_repo() -> TestRepo {
    TestRepo::new().with_env("AUTOPILOT_API_TOKEN", TOKEN)
}

/// A connected client whose reads give up after a short while, so every wait has a deadline.
struct Client(WebSocket<TcpStream>);

/// Opens `/api/autopilot/ws<query>` with extra handshake headers.
fn connect(
    s: &Served,
    query: &str,
    headers: &[(&'static str, &str)],
) -> Result<(Client, tungstenite::handshake::client::Response), tungstenite::Error> {
    let host = s.base.strip_prefix("http://").unwrap();
    let mut req = format!("ws://{host}/api/autopilot/ws{query}")
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        req.headers_mut()
            .insert(*k, HeaderValue::from_str(v).unwrap());
    }
    let tcp = TcpStream::connect(host).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    match tungstenite::client(req, tcp) {
        Ok((ws, resp)) => {
            // Short reads from now on, so waiting for a message can keep a deadline.
            ws.get_ref()
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            Ok((Client(ws), resp))
        }
        Err(tungstenite::HandshakeError::Failure(e)) => Err(e),
        Err(tungstenite::HandshakeError::Interrupted(_)) => panic!("the handshake timed out"),
    }
}

fn bearer(s: &Served) -> Client {
    connect(s, "", &[("Authorization", &format!("Bearer {TOKEN}"))])
        .unwrap()
        .0
}

impl Client {
    /// The next text message as JSON, raw text beside it; fails the test after `limit`.
    fn next(&mut self, limit: Duration) -> (Value, String) {
        let start = Instant::now();
        loop {
            match self.0.read() {
                Ok(Message::Text(t)) => {
                    let text = t.as_str().to_string();
                    let v =
                        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
                    return (v, text);
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("the socket failed: {e}"),
            }
            assert!(start.elapsed() < limit, "no message within {limit:?}");
        }
    }

    /// Messages until one of type `kind` (all of them, in order, that one last).
    fn until(&mut self, kind: &str, limit: Duration) -> Vec<Value> {
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            let left = limit.saturating_sub(start.elapsed());
            let (v, _) = self.next(left.max(Duration::from_millis(1)));
            let done = v["type"] == kind;
            seen.push(v);
            if done {
                return seen;
            }
        }
    }
}

fn status_of(err: tungstenite::Error) -> u16 {
    match err {
        tungstenite::Error::Http(resp) => resp.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[test]
fn ws_handshake_needs_the_token_by_header_query_or_subprotocol() {
    let repo = token_repo();
    let s = serve(&repo);
    let refused = |q: &str, h: &[(&'static str, &str)]| status_of(connect(&s, q, h).err().unwrap());
    assert_eq!(refused("", &[]), 401);
    assert_eq!(refused("", &[("Authorization", "Bearer nope")]), 401);
    assert_eq!(refused("?token=nope", &[]), 401);
    assert_eq!(
        refused(
            "",
            &[("Sec-WebSocket-Protocol", "autopilot, autopilot.token.nope")]
        ),
        401
    );

    connect(&s, &format!("?token={TOKEN}"), &[]).unwrap();
    let proto = format!("autopilot, autopilot.token.{TOKEN}");
    let (_, resp) = connect(&s, "", &[("Sec-WebSocket-Protocol", &proto)]).unwrap();
    assert_eq!(
        resp.headers()["Sec-WebSocket-Protocol"],
        "autopilot",
        "the server picks the plain protocol, never echoes the token"
    );
    // The token in the query only counts on a WebSocket handshake.
    let plain = ureq::get(&format!("{}/api/autopilot/issues?token={TOKEN}", s.base)).call();
    assert!(matches!(plain, Err(ureq::Error::Status(401, _))));
}

#[test]
fn events_from_other_processes_reach_every_client_in_order() {
    let repo = token_repo();
    let s = serve(&repo);
    let mut a = bearer(&s);
    let mut b = connect(&s, &format!("?token={TOKEN}"), &[]).unwrap().0;

    let title = "Fix \"quotes\" </script> \u{1b}[31mred";
    let id = repo.add(&[title]);
    let (created, raw) = a.next(LIVE);
    assert_eq!(created["type"], "issue.created");
    assert_eq!(created["issue_id"], id);
    assert_eq!(created["actor"], "human:tester");
    assert!(created["id"].as_i64().unwrap() > 0);
    assert!(created["ts"].as_i64().unwrap() > 0);
    assert_eq!(created["data"]["title"], repo.show(id)["title"]);
    assert!(!raw.contains('\u{1b}'), "escaped in the JSON text: {raw}");

    repo.ok(&["move", &id.to_string(), "ready"]);
    let (moved, _) = a.next(LIVE);
    assert_eq!(moved["type"], "issue.status");
    assert_eq!(moved["data"]["from"], "backlog");
    assert_eq!(moved["data"]["to"], "ready");

    repo.ok(&["comment", &id.to_string(), "a note"]);
    assert_eq!(a.next(LIVE).0["type"], "comment.added");
    repo.ok(&["edit", &id.to_string(), "--assignee", "cy"]);
    let (edited, _) = a.next(LIVE);
    assert_eq!(edited["type"], "issue.updated");
    assert_eq!(edited["data"]["assignee"], "cy");

    // The second client got the same messages, in the same order.
    let got: Vec<Value> = (0..4).map(|_| b.next(LIVE).0).collect();
    assert_eq!(
        types(&got),
        [
            "issue.created",
            "issue.status",
            "comment.added",
            "issue.updated"
        ]
    );
    let ids: Vec<i64> = got.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(got[0], created);
}

#[test]
fn a_run_in_another_process_streams_its_claim_and_its_run() {
    let repo = token_repo();
    let id = repo.add(&["Implement it", "--ready"]);
    let s = serve(&repo);
    let mut a = bearer(&s);
    let mut b = bearer(&s);

    repo.ok(&["run", "--once"]);
    for c in [&mut a, &mut b] {
        let seen = c.until("run.finished", LIVE * 4);
        let ts = types(&seen);
        let claim = seen
            .iter()
            .position(|e| e["type"] == "issue.status" && e["data"]["to"] == "in_progress")
            .unwrap_or_else(|| panic!("no claim in {ts:?}"));
        let started = ts.iter().position(|t| *t == "run.started").unwrap();
        assert!(claim < started, "{ts:?}");
        assert_eq!(seen[claim]["issue_id"], id);
        let agent = seen[claim]["data"]["claimed_by"].as_str().unwrap();
        assert!(agent.starts_with("test-agent"), "{agent}");
        assert_eq!(seen[claim]["actor"], format!("agent:{agent}"));
        let finished = seen.last().unwrap();
        assert_eq!(finished["issue_id"], id);
        assert_eq!(finished["data"]["run_id"], seen[started]["data"]["run_id"]);
    }
}

#[test]
fn after_replays_the_log_from_an_id_then_follows_it() {
    let repo = token_repo();
    let first = repo.add(&["one"]);
    let second = repo.add(&["two"]);
    let s = serve(&repo);
    let mut c = connect(&s, &format!("?after=0&token={TOKEN}"), &[])
        .unwrap()
        .0;
    let replayed: Vec<Value> = (0..2).map(|_| c.next(LIVE).0).collect();
    assert_eq!(replayed[0]["issue_id"], first);
    assert_eq!(replayed[1]["issue_id"], second);
    let third = repo.add(&["three"]);
    let (live, _) = c.next(LIVE);
    assert_eq!(live["issue_id"], third);

    let bad = connect(&s, &format!("?after=x&token={TOKEN}"), &[]).err();
    assert_eq!(status_of(bad.unwrap()), 400);
}

#[test]
fn a_replay_past_the_cap_says_where_to_resume_and_closes() {
    let repo = token_repo();
    repo.ok(&["list"]);
    {
        let mut store = autopilot_tui::store::Store::open(&repo.db()).unwrap();
        for i in 0..1005 {
            let new = autopilot_tui::store::NewIssue {
                title: format!("n{i}"),
                ..Default::default()
            };
            store.create_issue(&new, "ana").unwrap();
        }
    }
    let s = serve(&repo);
    let mut c = connect(&s, &format!("?after=0&token={TOKEN}"), &[])
        .unwrap()
        .0;
    let replayed: Vec<Value> = (0..1000).map(|_| c.next(LIVE).0).collect();
    let last = replayed[999]["id"].as_i64().unwrap();
    let (lagged, _) = c.next(LIVE);
    assert_eq!(lagged["type"], "lagged");
    assert_eq!(lagged["after"], last);
    let start = Instant::now();
    let frame = loop {
        match c.0.read() {
            Ok(Message::Close(f)) => break f.unwrap(),
            Ok(other) => panic!("expected the close, got {other:?}"),
            Err(_) => assert!(start.elapsed() < LIVE, "no close frame"),
        }
    };
    assert_eq!(u16::from(frame.code), 1013);
    assert!(
        frame.reason.contains(&format!("?after={last}")),
        "{}",
        frame.reason
    );

    let mut again = connect(&s, &format!("?after={last}&token={TOKEN}"), &[])
        .unwrap()
        .0;
    let rest: Vec<Value> = (0..5).map(|_| again.next(LIVE).0).collect();
    assert_eq!(rest[0]["id"].as_i64().unwrap(), last + 1);
    assert_eq!(rest[4]["data"]["title"], "n1004");
}

// ---- the feedback widget in a real browser ----

/// Chromium, when installed; CI must have it (`.ci/run` installs it).
fn chromium() -> Option<String> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(str::to_string);
    if found.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "chromium is missing under CI: .ci/run installs it"
        );
        eprintln!("skipped: no chromium on PATH (apt-get install chromium)");
    }
    found
}

/// Serves `html` for every request on a port of its own (another origin than the API's).
fn page_server(html: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    format!("http://{addr}/product/page")
}

#[test]
fn feedback_js_is_public_javascript_and_cacheable() {
    let repo = token_repo();
    let s = serve(&repo);
    let r = ureq::get(&format!("{}/autopilot/feedback.js", s.base))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.content_type().starts_with("application/javascript"));
    assert!(r.header("Cache-Control").unwrap().contains("max-age"));
    let js = r.into_string().unwrap();
    assert!(js.contains("window.AutopilotFeedback"));
    assert!(
        !js.contains("innerHTML"),
        "user text never goes through innerHTML"
    );
}

#[test]
fn the_feedback_widget_posts_from_a_real_browser_on_another_origin() {
    let Some(chromium) = chromium() else { return };
    let repo = token_repo();
    let s = serve(&repo);
    // The page clicks the floating button, checks Escape closes the dialog, opens it again,
    // types and clicks Send; it writes what it saw into #result for the dumped DOM.
    let html = format!(
        r#"<!doctype html><html><head><title>product</title></head><body>
<pre id="result">pending</pre>
<script src="{base}/autopilot/feedback.js" data-user="me@co"></script>
<script>
function report(x) {{ document.getElementById("result").textContent = JSON.stringify(x); }}
window.addEventListener("load", function () {{
  var seen = {{}};
  var button = document.querySelector('button[aria-label="Send feedback"]');
  var dialog = document.querySelector('[role="dialog"]');
  button.dispatchEvent(new MouseEvent("click", {{bubbles: true, cancelable: true}}));
  seen.opened = !dialog.hidden;
  dialog.dispatchEvent(new KeyboardEvent("keydown", {{key: "Escape", bubbles: true}}));
  seen.escapeClosed = dialog.hidden;
  button.click();
  var text = dialog.querySelector("textarea");
  text.focus();
  text.value = "The <b>save</b> button does nothing\nsteps: click save";
  text.dispatchEvent(new Event("input", {{bubbles: true}}));
  dialog.querySelector('button[type="submit"]').click();
  var status = dialog.querySelector('[role="status"]');
  var t0 = Date.now();
  (function wait() {{
    if (/Thank|fail|Too|long/.test(status.textContent) || Date.now() - t0 > 20000) {{
      seen.status = status.textContent;
      report(seen);
    }} else setTimeout(wait, 50);
  }})();
}});
</script></body></html>"#,
        base = s.base
    );
    let page = page_server(html);
    let profile = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(&chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=25000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(&page)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let out = wait_output(child, Duration::from_secs(90));
    let dom = String::from_utf8_lossy(&out.stdout);
    let result = dom
        .split("<pre id=\"result\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!(
                "no result in the DOM:\n{dom}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let result = result.replace("&quot;", "\"").replace("&amp;", "&");
    let seen: Value = serde_json::from_str(&result)
        .unwrap_or_else(|_| panic!("the page did not finish: {result}"));
    assert_eq!(seen["opened"], true, "{seen}");
    assert_eq!(seen["escapeClosed"], true, "{seen}");
    assert!(
        seen["status"].as_str().unwrap().starts_with("Thank you"),
        "{seen}"
    );

    let issue = wait_for("the feedback issue", Duration::from_secs(10), || {
        let list: Value = serde_json::from_str(&repo.ok(&["list", "--json"])).ok()?;
        list.as_array()?
            .iter()
            .find(|i| i["kind"] == "feedback")
            .cloned()
    });
    assert_eq!(issue["title"], "The <b>save</b> button does nothing");
    assert_eq!(issue["status"], "backlog");
    let body = repo.show(issue["id"].as_i64().unwrap())["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(body.contains("steps: click save"), "{body}");
    assert!(body.contains(&format!("page: {page}")), "{body}");
    assert!(body.contains("user: me@co"), "{body}");
}
