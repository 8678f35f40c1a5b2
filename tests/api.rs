//! The HTTP API (`serve`, `--listen`): the real binary, a real HTTP client, every endpoint and
//! every error status, and changes seen by the CLI in another process.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use support::{stop_child, wait_for, TestRepo};

const TOKEN: &str = "test-token-0123456789";

/// `serve` running for one test, killed when it ends.
struct Served {
    child: Child,
    base: String,
    stdout: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        stop_child(&mut self.child, Duration::from_secs(5));
    }
}

/// Starts `serve --listen 127.0.0.1:0 <extra>` and reads the address it prints.
fn serve(repo: &TestRepo, extra: &[&str]) -> Served {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut child = repo
        .cmd(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("serve prints a line").unwrap();
    let second = lines.next().expect("and where the token is").unwrap();
    let base = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_string();
    Served {
        child,
        base,
        stdout: vec![first, second],
    }
}

/// The response: status, JSON body (Null when empty), and the named header.
struct Reply {
    status: u16,
    json: Value,
    cors: Option<String>,
}

fn call(base: &str, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Reply {
    let mut req = ureq::request(method, &format!("{base}{path}"));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let res = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = resp.status();
    let cors = resp
        .header("Access-Control-Allow-Origin")
        .map(str::to_string);
    let text = resp.into_string().unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"))
    };
    Reply { status, json, cors }
}

fn api(s: &Served, method: &str, path: &str, body: Option<Value>) -> Reply {
    let body = body.map(|b| b.to_string());
    call(&s.base, method, path, Some(TOKEN), body.as_deref())
}

fn error_of(r: &Reply) -> String {
    r.json["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {}", r.json))
        .to_string()
}

fn token_repo() -> TestRepo {
    TestRepo::new().with_env("AUTOPILOT_API_TOKEN", TOKEN)
}

#[test]
fn every_issue_endpoint_works_and_the_cli_in_another_process_sees_the_changes() {
    let repo = token_repo();
    let s = serve(&repo, &[]);
    assert_eq!(s.stdout[1], "the token is $AUTOPILOT_API_TOKEN");

    let created = api(
        &s,
        "POST",
        "/api/autopilot/issues",
        Some(json!({
            "title": "Add a cache", "body": "the slow path", "kind": "bug", "assignee": "ana"
        })),
    );
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.json["id"].as_i64().unwrap();
    assert_eq!(created.json["status"], "backlog");
    assert_eq!(created.json["assignee"], "ana");

    // The same fields as `show --json`, from the other process.
    let shown = repo.show(id);
    assert_eq!(shown["title"], "Add a cache");
    assert_eq!(shown["kind"], "bug");
    assert_eq!(shown["assignee"], "ana");
    for key in created.json.as_object().unwrap().keys() {
        assert!(shown.get(key).is_some(), "show --json lacks {key}");
    }
    assert!(repo
        .ok(&["show", &id.to_string()])
        .contains("assignee: ana"));

    let ready = api(
        &s,
        "POST",
        "/api/autopilot/issues",
        Some(json!({
            "title": "Second", "body": "", "kind": "chore", "status": "ready"
        })),
    );
    assert_eq!(ready.json["status"], "ready");

    let all = api(&s, "GET", "/api/autopilot/issues", None);
    assert_eq!(all.status, 200);
    assert_eq!(all.json.as_array().unwrap().len(), 2);
    assert_eq!(all.json[0]["depends_on"], json!([]), "list --json's fields");
    let backlog = api(&s, "GET", "/api/autopilot/issues?status=backlog", None);
    let ids: Vec<i64> = backlog
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);

    let patched = api(
        &s,
        "PATCH",
        &format!("/api/autopilot/issues/{id}"),
        Some(json!({
            "title": "Add a cache layer", "assignee": "bo"
        })),
    );
    assert_eq!(patched.status, 200, "{}", patched.json);
    assert_eq!(patched.json["body"], "the slow path", "absent fields stay");
    assert_eq!(repo.show(id)["title"], "Add a cache layer");
    assert_eq!(repo.show(id)["assignee"], "bo");
    let cleared = api(
        &s,
        "PATCH",
        &format!("/api/autopilot/issues/{id}"),
        Some(json!({"assignee": null})),
    );
    assert_eq!(cleared.json["assignee"], Value::Null);
    // The CLI sets it too.
    repo.ok(&["edit", &id.to_string(), "--assignee", "cy"]);
    assert_eq!(
        api(&s, "GET", &format!("/api/autopilot/issues/{id}"), None).json["assignee"],
        "cy"
    );

    let moved = api(
        &s,
        "POST",
        &format!("/api/autopilot/issues/{id}/status"),
        Some(json!({"status": "ready"})),
    );
    assert_eq!(moved.status, 200, "{}", moved.json);
    assert_eq!(repo.status(id), "ready");

    let posted = api(
        &s,
        "POST",
        &format!("/api/autopilot/issues/{id}/comments"),
        Some(json!({
            "author": "ana", "author_kind": "human", "body": "use an LRU"
        })),
    );
    assert_eq!(posted.status, 201, "{}", posted.json);
    assert_eq!(posted.json["comment"]["body"], "use an LRU");
    let thread = api(
        &s,
        "GET",
        &format!("/api/autopilot/issues/{id}/comments"),
        None,
    );
    assert_eq!(thread.json[0]["author"], "ana");
    let detail = api(&s, "GET", &format!("/api/autopilot/issues/{id}"), None);
    assert_eq!(detail.json["comments"][0]["body"], "use an LRU");
    assert_eq!(detail.json, repo.show(id), "GET issue is show --json");
}

#[test]
fn a_human_comment_over_the_api_unblocks_a_blocked_issue() {
    let repo = token_repo();
    let id = repo.add(&["Asks a question", "--ready"]);
    {
        use autopilot_tui::domain::{Actor, Status};
        let mut store = autopilot_tui::store::Store::open(&repo.db()).unwrap();
        store
            .move_issue(id, Status::InProgress, Actor::Agent, "agent")
            .unwrap();
        store
            .move_issue(id, Status::Blocked, Actor::Agent, "agent")
            .unwrap();
    }
    let s = serve(&repo, &[]);
    let r = api(
        &s,
        "POST",
        &format!("/api/autopilot/issues/{id}/comments"),
        Some(json!({
            "author": "ana", "author_kind": "human", "body": "yes, go on"
        })),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["issue"]["status"], "ready");
    assert_eq!(repo.status(id), "ready");
}

#[test]
fn every_error_is_json_with_its_status_and_changes_nothing() {
    let repo = token_repo();
    let id = repo.add(&["Exists"]);
    let s = serve(&repo, &[]);
    let issues = "/api/autopilot/issues";

    let none = call(&s.base, "GET", issues, None, None);
    assert_eq!(none.status, 401);
    assert!(error_of(&none).contains("Authorization"), "{}", none.json);
    let wrong = call(&s.base, "GET", issues, Some("not-the-token"), None);
    assert_eq!(wrong.status, 401);
    assert_eq!(error_of(&wrong), "wrong token");
    assert_eq!(wrong.cors, None, "only feedback is open to other origins");

    let malformed = call(&s.base, "POST", issues, Some(TOKEN), Some("{\"title\": "));
    assert_eq!(malformed.status, 400, "{}", malformed.json);
    let unknown_field = api(
        &s,
        "POST",
        issues,
        Some(json!({"title": "x", "tittle": "y"})),
    );
    assert_eq!(unknown_field.status, 400);
    assert!(
        error_of(&unknown_field).contains("tittle"),
        "{}",
        unknown_field.json
    );
    let no_title = api(&s, "POST", issues, Some(json!({"title": "  "})));
    assert_eq!(no_title.status, 400);
    let bad_kind = api(
        &s,
        "POST",
        issues,
        Some(json!({"title": "x", "kind": "epic"})),
    );
    assert_eq!(bad_kind.status, 400);
    let bad_start = api(
        &s,
        "POST",
        issues,
        Some(json!({"title": "x", "status": "done"})),
    );
    assert_eq!(bad_start.status, 400);
    assert!(error_of(&bad_start).contains("backlog or ready"));

    let bad_status = api(&s, "GET", "/api/autopilot/issues?status=doing", None);
    assert_eq!(bad_status.status, 400);
    assert!(
        error_of(&bad_status).contains("backlog, ready, in_progress, blocked, in_review, done"),
        "{}",
        bad_status.json
    );

    let bad_id = api(&s, "GET", "/api/autopilot/issues/abc", None);
    assert_eq!(bad_id.status, 400);
    assert!(error_of(&bad_id).contains("not an issue id"));
    assert_eq!(
        api(&s, "GET", "/api/autopilot/issues/999", None).status,
        404
    );
    assert_eq!(
        api(
            &s,
            "PATCH",
            "/api/autopilot/issues/999",
            Some(json!({"title": "t"}))
        )
        .status,
        404
    );
    assert_eq!(
        api(&s, "GET", "/api/autopilot/issues/999/comments", None).status,
        404
    );
    assert_eq!(
        api(
            &s,
            "POST",
            "/api/autopilot/issues/999/comments",
            Some(json!({"author": "a", "body": "b"}))
        )
        .status,
        404
    );
    let nowhere = api(&s, "GET", "/api/autopilot/nothing", None);
    assert_eq!(nowhere.status, 404);
    assert!(nowhere.json["error"].is_string());
    let method = api(&s, "DELETE", issues, None);
    assert_eq!(method.status, 405);
    assert!(method.json["error"].is_string());

    // backlog → in_review is not a person's move: 409 naming the legal ones.
    let illegal = api(
        &s,
        "POST",
        &format!("{issues}/{id}/status"),
        Some(json!({"status": "in_review"})),
    );
    assert_eq!(illegal.status, 409, "{}", illegal.json);
    assert!(
        error_of(&illegal).contains("legal moves: ready"),
        "{}",
        illegal.json
    );
    let not_in_review = api(
        &s,
        "POST",
        &format!("{issues}/{id}/status"),
        Some(json!({"status": "done"})),
    );
    assert_eq!(not_in_review.status, 409, "{}", not_in_review.json);

    let huge = json!({"title": "x".repeat(1024 * 1024 + 10)}).to_string();
    let too_big = call(&s.base, "POST", issues, Some(TOKEN), Some(&huge));
    assert_eq!(too_big.status, 413);
    assert!(error_of(&too_big).contains("larger than"));

    // Nothing above created or changed an issue.
    let list = api(&s, "GET", issues, None);
    assert_eq!(list.json.as_array().unwrap().len(), 1);
    assert_eq!(repo.status(id), "backlog");
    assert_eq!(repo.show(id)["title"], "Exists");
}

#[test]
fn hostile_titles_are_stored_as_the_cli_stores_them() {
    let repo = token_repo();
    let s = serve(&repo, &[]);
    let nasty = "evil\x1b]0;owned\x07\x1b[2J title\u{202e} sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789";
    let r = api(
        &s,
        "POST",
        "/api/autopilot/issues",
        Some(json!({"title": nasty, "body": "a\u{0}b"})),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["id"].as_i64().unwrap();
    let cli_id = repo.add(&[nasty]);
    assert_eq!(
        repo.show(id)["title"],
        repo.show(cli_id)["title"],
        "the same redaction path"
    );
    assert!(!repo.show(id)["title"]
        .as_str()
        .unwrap()
        .contains("sk-ant-api03"));
    let text = repo.ok(&["show", &id.to_string()]);
    assert!(!text.contains('\x1b') && !text.contains('\0'), "{text:?}");
    let big = api(
        &s,
        "POST",
        "/api/autopilot/issues",
        Some(json!({"title": "t".repeat(500_000)})),
    );
    assert_eq!(big.status, 201);
}

#[test]
fn feedback_needs_no_token_is_small_limited_and_open_to_other_origins() {
    let repo = TestRepo::with_config("[api]\nfeedback_per_minute = 2\n")
        .with_env("AUTOPILOT_API_TOKEN", TOKEN);
    let s = serve(&repo, &[]);
    let path = "/api/autopilot/feedback";

    let pre = ureq::request("OPTIONS", &format!("{}{path}", s.base))
        .set("Origin", "https://product.example")
        .set("Access-Control-Request-Method", "POST")
        .call()
        .unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(pre.header("Access-Control-Allow-Origin"), Some("*"));
    assert!(pre
        .header("Access-Control-Allow-Methods")
        .unwrap()
        .contains("POST"));

    let body = json!({"message": "The save button is hidden\non small screens", "page": "https://product.example/x", "user": "me@co"}).to_string();
    let ok = call(&s.base, "POST", path, None, Some(&body));
    assert_eq!(ok.status, 201, "{}", ok.json);
    assert_eq!(ok.cors.as_deref(), Some("*"));
    let id = ok.json["id"].as_i64().unwrap();
    let shown = repo.show(id);
    assert_eq!(shown["kind"], "feedback");
    assert_eq!(shown["status"], "backlog");
    assert_eq!(shown["title"], "The save button is hidden");
    let text = shown["body"].as_str().unwrap();
    assert!(
        text.contains("page: https://product.example/x") && text.contains("user: me@co"),
        "{text}"
    );

    let big = json!({"message": "m".repeat(64 * 1024)}).to_string();
    let too_big = call(&s.base, "POST", path, None, Some(&big));
    assert_eq!(too_big.status, 413, "{}", too_big.json);

    let limited = call(&s.base, "POST", path, None, Some(&body));
    assert_eq!(limited.status, 429, "{}", limited.json);
    assert!(error_of(&limited).contains("minute"));
    assert_eq!(
        api(&s, "GET", "/api/autopilot/issues", None)
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn feedback_switched_off_is_404() {
    let repo =
        TestRepo::with_config("[api]\nfeedback = false\n").with_env("AUTOPILOT_API_TOKEN", TOKEN);
    let s = serve(&repo, &[]);
    let r = call(
        &s.base,
        "POST",
        "/api/autopilot/feedback",
        None,
        Some(r#"{"message":"hi"}"#),
    );
    assert_eq!(r.status, 404);
    assert!(error_of(&r).contains("[api] feedback = false"));
    let pre = call(&s.base, "OPTIONS", "/api/autopilot/feedback", None, None);
    assert_eq!(pre.status, 404);
}

#[test]
fn beyond_loopback_needs_a_token_of_ones_own() {
    let repo = TestRepo::new();
    let err = repo.fails(&["serve", "--listen", "0.0.0.0:0"]);
    assert!(err.contains("AUTOPILOT_API_TOKEN"), "{err}");
    let bad = repo.fails(&["serve", "--listen", "nowhere"]);
    assert!(bad.contains("is not an address to listen on"), "{bad}");

    let repo = token_repo();
    let mut child = repo
        .cmd(&["serve", "--listen", "0.0.0.0:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let port = first.rsplit(':').next().unwrap().to_string();
    let r = call(
        &format!("http://127.0.0.1:{port}"),
        "GET",
        "/api/autopilot/issues",
        Some(TOKEN),
        None,
    );
    stop_child(&mut child, Duration::from_secs(5));
    assert_eq!(r.status, 200);
}

#[test]
fn a_generated_token_is_private_and_never_printed() {
    use std::os::unix::fs::PermissionsExt;
    let repo = TestRepo::new();
    let s = serve(&repo, &[]);
    let file = repo.root.join(".autopilot/api-token");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let token = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert!(token.len() >= 32);
    assert!(
        s.stdout[1].contains(&file.display().to_string()),
        "{:?}",
        s.stdout
    );
    assert!(!s.stdout.iter().any(|l| l.contains(&token)));
    assert_eq!(
        call(&s.base, "GET", "/api/autopilot/issues", Some(&token), None).status,
        200
    );
    drop(s);
    // The next start reads the same token back.
    let again = serve(&repo, &[]);
    assert_eq!(
        call(
            &again.base,
            "GET",
            "/api/autopilot/issues",
            Some(&token),
            None
        )
        .status,
        200
    );
}

#[test]
fn a_token_file_is_read_and_a_taken_port_is_a_clear_error() {
    let repo = TestRepo::with_config("[api]\ntoken_file = \"secret.txt\"\n");
    std::fs::write(repo.root.join("secret.txt"), "from-a-file\n").unwrap();
    let s = serve(&repo, &[]);
    assert_eq!(
        call(
            &s.base,
            "GET",
            "/api/autopilot/issues",
            Some("from-a-file"),
            None
        )
        .status,
        200
    );
    let taken = s.base.trim_start_matches("http://").to_string();
    let err = repo.fails(&["serve", "--listen", &taken]);
    assert!(err.contains("in use"), "{err}");
}

#[test]
fn run_with_listen_serves_the_api_beside_the_runner() {
    let repo = token_repo();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _run = repo.spawn_run(&["--listen", &format!("127.0.0.1:{port}")]);
    let base = format!("http://127.0.0.1:{port}");
    wait_for("the API beside `run`", Duration::from_secs(30), || {
        ureq::get(&format!("{base}/api/autopilot/issues"))
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .call()
            .ok()
            .filter(|r| r.status() == 200)
    });
}

#[test]
fn the_tui_with_listen_serves_the_api_and_shows_what_arrives() {
    let repo = token_repo();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(t) =
        support::tmux::Tmux::start(&repo, &format!("--no-runner --listen 127.0.0.1:{port}"))
    else {
        return;
    };
    t.wait_screen("backlog 0");
    let base = format!("http://127.0.0.1:{port}");
    let body = json!({"title": "Arrived over HTTP", "assignee": "ana"}).to_string();
    let r = call(
        &base,
        "POST",
        "/api/autopilot/issues",
        Some(TOKEN),
        Some(&body),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    t.wait_screen("Arrived over HTTP");
    t.wait_screen("@ana");
    t.quit();
}

#[test]
fn the_tui_with_listen_on_a_taken_port_says_so_before_the_screen() {
    let repo = token_repo();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = repo.fails(&["--listen", &addr]);
    assert!(err.contains("in use"), "{err}");
}

#[test]
fn a_schedule_is_set_changed_and_cleared_in_the_shape_show_prints_it() {
    let repo = token_repo();
    let s = serve(&repo, &[]);
    let issues = "/api/autopilot/issues";
    let created = api(
        &s,
        "POST",
        issues,
        Some(
            json!({"title": "Nightly", "not_before": "2030-01-02T03:04:05Z", "repeats_every": "1d"}),
        ),
    );
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(created.json["not_before"], "2030-01-02T03:04:05.000Z");
    assert_eq!(created.json["repeats_every"], "1d");
    let id = created.json["id"].as_i64().unwrap();
    let shown = repo.show(id);
    assert_eq!(shown["not_before"], "2030-01-02T03:04:05.000Z");
    assert_eq!(shown["repeats_every"], "1d");

    // What `show --json` printed goes back in as it is; `at` and `every` are the same fields.
    let copy = api(
        &s,
        "POST",
        issues,
        Some(json!({"title": "Copy", "at": shown["not_before"], "every": shown["repeats_every"]})),
    );
    assert_eq!(copy.status, 201, "{}", copy.json);
    assert_eq!(copy.json["not_before"], shown["not_before"]);
    assert_eq!(copy.json["repeats_every"], "1d");

    let path = format!("{issues}/{id}");
    let before = now_ms();
    let moved = api(
        &s,
        "PATCH",
        &path,
        Some(json!({"at": "+2h", "every": "12h"})),
    );
    assert_eq!(moved.status, 200, "{}", moved.json);
    assert_eq!(moved.json["repeats_every"], "12h");
    let at = repo.show(id)["not_before"].as_str().unwrap().to_string();
    let at_ms = at.parse::<jiff::Timestamp>().unwrap().as_millisecond();
    let two_hours = 2 * 3_600_000;
    assert!(
        at_ms >= before - 1_000 + two_hours && at_ms <= now_ms() + two_hours,
        "{at}"
    );
    // Absent fields stay; null clears, as "none" does.
    let kept = api(&s, "PATCH", &path, Some(json!({"title": "Nightly build"})));
    assert_eq!(kept.json["repeats_every"], "12h", "{}", kept.json);
    assert_eq!(kept.json["not_before"], at.as_str());
    let cleared = api(
        &s,
        "PATCH",
        &path,
        Some(json!({"not_before": null, "repeats_every": "none"})),
    );
    assert_eq!(cleared.status, 200, "{}", cleared.json);
    assert_eq!(cleared.json["not_before"], Value::Null);
    assert_eq!(cleared.json["repeats_every"], Value::Null);

    // Bad values: 400 naming the field and the value, and nothing changed or added.
    api(&s, "PATCH", &path, Some(json!({"repeats_every": "1w"})));
    for (method, target, body, field, value) in [
        (
            "POST",
            issues.to_string(),
            json!({"title": "x", "at": "tomorrow"}),
            "not_before",
            "tomorrow",
        ),
        (
            "POST",
            issues.to_string(),
            json!({"title": "x", "every": "30s"}),
            "repeats_every",
            "30s",
        ),
        (
            "PATCH",
            path.clone(),
            json!({"title": "y", "not_before": "2030-13-01"}),
            "not_before",
            "2030-13-01",
        ),
        (
            "PATCH",
            path.clone(),
            json!({"title": "y", "repeats_every": "daily"}),
            "repeats_every",
            "daily",
        ),
    ] {
        let bad = api(&s, method, &target, Some(body));
        assert_eq!(bad.status, 400, "{}", bad.json);
        let e = error_of(&bad);
        assert!(
            e.starts_with(&format!("{field} \"{value}\"")) && e.contains("nothing was"),
            "{e}"
        );
    }
    let list = api(&s, "GET", issues, None);
    assert_eq!(list.json.as_array().unwrap().len(), 2);
    let issue = repo.show(id);
    assert_eq!(issue["title"], "Nightly build");
    assert_eq!(issue["repeats_every"], "1w");
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.unwrap().as_millis() as i64
}
