//! `migrate --to postgres://…` end to end, with the real binary and a real PostgreSQL server: a
//! queue made through the binary and the fake agent is copied whole, reads the same on the
//! server, continues its ids there, and the SQLite file is only read. Every refusal says what to
//! do and changes nothing.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use autopilot_tui::domain::redact::Redactor;
use autopilot_tui::store::sql::StoreUrl;
use autopilot_tui::store::{NewIssue, Store};
use support::{postgres, read_pid, signal, wait_for, wait_output, TestRepo};

/// Every table migrate copies, as it prints them.
const TABLES: &[&str] = &[
    "issues",
    "issue_deps",
    "comments",
    "runs",
    "run_models",
    "transcript_chunks",
    "events",
    "settings",
    "learnings",
    "needs",
    "pending_secrets",
];

/// A body of a little over 1 MB, with a word of its own near its start (PostgreSQL indexes a
/// text's first 256 Ki characters only) and one at its very end.
fn huge_body() -> String {
    let mut body = String::from("nul\0inside \u{1b}[2J\u{1b}]0;pwned\u{7} hugebodyword then ");
    while body.len() < 1 << 20 {
        body.push_str("filler words for a very large body ");
    }
    body.push_str("tailmarkerword");
    body
}

/// Runs the binary in the repo on the database `url`.
fn on(repo: &TestRepo, url: &str, args: &[&str]) -> Output {
    let child = repo
        .cmd(args)
        .env("AUTOPILOT_DB", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_output(child, Duration::from_secs(120))
}

/// [`on`], which must succeed; its stdout.
fn on_ok(repo: &TestRepo, url: &str, args: &[&str]) -> String {
    let out = on(repo, url, args);
    assert!(
        out.status.success(),
        "{args:?} on PostgreSQL failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Moves what the write-ahead log holds into the file (as the last connection closing does),
/// so that the file's bytes are the whole queue: any later write shows in them.
fn settle(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
}

/// A hash of the SQLite file's bytes and of its write-ahead log's (`None`: no log).
fn file_bytes(db: &Path) -> (u64, Option<u64>) {
    fn hash(bytes: &[u8]) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hasher::write(&mut h, bytes);
        std::hash::Hasher::finish(&h)
    }
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let main = std::fs::read(db).unwrap();
    (
        hash(&main),
        // An empty log is no log: SQLite deletes it when the last connection closes.
        std::fs::read(PathBuf::from(wal))
            .ok()
            .filter(|w| !w.is_empty())
            .as_deref()
            .map(hash),
    )
}

fn pg_client(url: &str) -> ::postgres::Client {
    ::postgres::Client::connect(url, ::postgres::NoTls).unwrap()
}

fn pg_count(url: &str, table: &str) -> i64 {
    pg_client(url)
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

fn pg_max_id(url: &str, table: &str) -> i64 {
    pg_client(url)
        .query_one(&format!("SELECT coalesce(max(id), 0) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

/// Whether the database has autopilot's schema at all.
fn pg_has_schema(url: &str) -> bool {
    pg_client(url)
        .query_one("SELECT to_regclass('issues') IS NOT NULL", &[])
        .unwrap()
        .get(0)
}

fn sqlite_count(db: &Path, table: &str) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn sqlite_max_id(db: &Path, table: &str) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row(
        &format!("SELECT coalesce(max(id), 0) FROM {table}"),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// The `rows: issues 9, comments 3, …` line migrate prints, as a map.
fn printed_counts(out: &str) -> BTreeMap<String, i64> {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("rows: "))
        .unwrap_or_else(|| panic!("no rows line in {out}"));
    line.split(", ")
        .map(|pair| {
            let (table, n) = pair.rsplit_once(' ').unwrap();
            (table.to_string(), n.parse().unwrap())
        })
        .collect()
}

/// What the queue's ids are, once made.
struct Queue {
    /// Every issue id.
    ids: Vec<i64>,
    /// The issue whose run's transcript holds `zanzibarquux`.
    searched: i64,
    /// The issue made with a NUL in its title through the store.
    nul_title: i64,
}

/// A queue of every kind of row, made through the binary and the fake agent (one issue with a
/// NUL in its title through the store: no command line can carry one).
fn make_queue(repo: &TestRepo) -> Queue {
    let searched = repo.add(&[
        "Search the transcript",
        "--body",
        "[scenario:search-word]",
        "--ready",
    ]);
    let asks = repo.add(&["Ask first", "--body", "[scenario:ask]", "--ready"]);
    let learns = repo.add(&["Learn something", "--body", "[scenario:learn]", "--ready"]);
    let archived = repo.add(&["Ship and put away", "--ready"]);
    repo.ok(&["run", "--once"]);
    assert_eq!(repo.status(searched), "in_review");
    assert_eq!(repo.status(asks), "blocked");
    repo.ok(&["accept", &learns.to_string(), "--no-merge"]);
    repo.ok(&["accept", &archived.to_string(), "--no-merge"]);
    repo.ok(&["archive", &archived.to_string()]);

    // A run cut off by kill -9: in_progress, claimed, its run open.
    let hangs = repo.add(&["Hangs", "--body", "[scenario:hang]", "--ready"]);
    let runner = repo.spawn_run(&[]);
    let agent = wait_for("the agent's pid", Duration::from_secs(30), || {
        read_pid(&repo.agent_log.join("agent.pid"))
    });
    let child = wait_for("the agent's child", Duration::from_secs(30), || {
        read_pid(&repo.agent_log.join("child.pid"))
    });
    signal(runner.id(), "KILL");
    runner.wait(Duration::from_secs(10));
    signal(agent as u32, "KILL");
    signal(child as u32, "KILL");
    assert_eq!(repo.status(hangs), "in_progress");

    repo.ok(&[
        "comment",
        &searched.to_string(),
        "Looks right \u{1b}[31mred\u{1b}[0m",
    ]);
    let later = repo.add(&["Later"]);
    let after = repo.add(&["After later", "--depends-on", &later.to_string(), "--ready"]);
    let piece = repo.add(&["A piece of later", "--parent", &later.to_string()]);
    let hostile = repo.ok_with_stdin(
        &["add", "Hostile \u{1b}]0;pwned\u{7} title", "--body", "-"],
        huge_body().as_bytes(),
    );
    let hostile: i64 = hostile.trim().parse().unwrap();
    repo.ok_with_stdin(
        &["comment", &hostile.to_string(), "-"],
        b"a comment with a nul\0and \x1b[31mcolour\x1b[0m",
    );
    let nul_title = {
        let mut store = Store::open(&repo.db()).unwrap();
        let new = NewIssue {
            title: "nul\0title".into(),
            body: "nul\0body".into(),
            ..NewIssue::default()
        };
        store.create_issue(&new, "tester").unwrap().id
    };
    repo.ok(&["pause"]);
    Queue {
        ids: vec![
            searched, asks, learns, archived, hangs, later, after, piece, hostile, nul_title,
        ],
        searched,
        nul_title,
    }
}

/// What PostgreSQL makes of a text SQLite held: NUL, which its TEXT cannot hold, becomes the
/// visible symbol for NUL (U+2400); everything else is kept. `text` is JSON as the binary
/// prints it.
fn on_postgres(text: &str) -> String {
    text.replace("\\u0000", "\u{2400}")
}

/// Search hits as `issue run where` lines, each snippet checked to mark `word`. Snippets of a
/// text holding NUL differ (FTS5 cuts the text there, PostgreSQL's are made from the whole).
fn hits(json: &str, word: &str) -> String {
    let hits: serde_json::Value = serde_json::from_str(json).unwrap();
    let hits = hits.as_array().unwrap();
    assert!(!hits.is_empty(), "{word} is found: {json}");
    hits.iter()
        .map(|h| {
            let snippet = h["snippet"].as_str().unwrap();
            assert!(snippet.contains(&format!("[{word}]")), "{snippet}");
            format!("{} {} {}\n", h["issue_id"], h["run_id"], h["where"])
        })
        .collect()
}

/// `stats --json` with sums rounded to 9 places (each backend adds in its own order) and
/// without the time blocked so far (it grows until the blocked issue is answered).
fn stats(json: &str) -> String {
    fn round(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Number(n) if n.is_f64() => {
                let x = (n.as_f64().unwrap() * 1e9).round() / 1e9;
                *v = serde_json::json!(x);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(round),
            serde_json::Value::Object(o) => o.values_mut().for_each(round),
            _ => {}
        }
    }
    let mut stats: serde_json::Value = serde_json::from_str(json).unwrap();
    let flow = stats["flow"].as_object_mut().unwrap();
    assert!(flow.remove("blocked_time").is_some() && flow.remove("blocked_total_secs").is_some());
    round(&mut stats);
    stats.to_string()
}

#[test]
fn a_whole_queue_moves_and_reads_the_same_on_postgres() {
    let Some(url) = postgres::fresh_database() else {
        return;
    };
    let repo = TestRepo::new().with_env("TZ", "UTC");
    let queue = make_queue(&repo);
    let id_args: Vec<String> = queue.ids.iter().map(i64::to_string).collect();

    let reads = |run: &dyn Fn(&[&str]) -> String| -> Vec<String> {
        let mut all = vec![
            run(&["list", "--json"]),
            run(&["list", "--archived", "--json"]),
            run(&["log", &queue.searched.to_string()]),
            hits(&run(&["search", "zanzibarquux", "--json"]), "zanzibarquux"),
            hits(&run(&["search", "hugebodyword", "--json"]), "hugebodyword"),
            stats(&run(&["stats", "--json"])),
            run(&["learnings", "--json"]),
        ];
        for id in &id_args {
            all.push(run(&["show", id, "--json"]));
        }
        all
    };
    let before = reads(&|args| repo.ok(args));
    let counts: BTreeMap<String, i64> = TABLES
        .iter()
        .map(|t| (t.to_string(), sqlite_count(&repo.db(), t)))
        .collect();
    for table in [
        "issues",
        "issue_deps",
        "comments",
        "runs",
        "transcript_chunks",
    ] {
        assert!(counts[table] > 0, "the queue has {table}: {counts:?}");
    }
    for table in ["events", "settings", "learnings"] {
        assert!(counts[table] > 0, "the queue has {table}: {counts:?}");
    }
    settle(&repo.db());
    let bytes = file_bytes(&repo.db());

    let out = repo.ok(&["migrate", "--to", &url]);
    let password = &postgres::server().unwrap().password;
    assert!(
        password.is_empty() || !out.contains(password.as_str()),
        "{out}"
    );
    assert_eq!(printed_counts(&out), counts, "{out}");
    for table in TABLES {
        assert_eq!(
            pg_count(&url, table),
            counts[*table],
            "{table} on the server"
        );
    }
    assert_eq!(
        file_bytes(&repo.db()),
        bytes,
        "the SQLite file was only read"
    );

    let after = reads(&|args| on_ok(&repo, &url, args));
    for (was, is) in before.iter().zip(&after) {
        assert_eq!(&on_postgres(was), is);
    }

    // NUL reads back as U+2400 on the server, through the store as through the binary.
    let shown = on_ok(
        &repo,
        &url,
        &["show", &queue.nul_title.to_string(), "--json"],
    );
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["title"], "nul\u{2400}title");
    assert_eq!(shown["body"], "nul\u{2400}body");

    // New rows continue after the copied ids.
    let max_issue = sqlite_max_id(&repo.db(), "issues");
    let max_comment = sqlite_max_id(&repo.db(), "comments");
    let max_event = sqlite_max_id(&repo.db(), "events");
    let added = on_ok(&repo, &url, &["add", "After the move"]);
    assert_eq!(added.trim(), (max_issue + 1).to_string());
    on_ok(
        &repo,
        &url,
        &["comment", added.trim(), "first on the server"],
    );
    assert_eq!(pg_max_id(&url, "comments"), max_comment + 1);
    assert!(pg_max_id(&url, "events") > max_event);
    assert_eq!(file_bytes(&repo.db()), bytes);

    // The event log holds no `\u0000` (PostgreSQL's jsonb refuses it, failing every statement
    // that reads the log): a copied title's NUL and one written on the server are U+2400.
    let target: StoreUrl = url.parse().unwrap();
    let mut server = Store::open_url(&target, Redactor::builtin()).unwrap();
    let new = NewIssue {
        title: "server\0side".into(),
        ..NewIssue::default()
    };
    let written = server.create_issue(&new, "tester").unwrap().id;
    drop(server);
    for (id, title) in [
        (queue.nul_title, "nul\u{2400}title"),
        (written, "server\u{2400}side"),
    ] {
        let data: String = pg_client(&url)
            .query_one(
                "SELECT data FROM events WHERE issue_id = $1 AND kind = 'issue.created'",
                &[&id],
            )
            .unwrap()
            .get(0);
        assert!(data.contains(title) && !data.contains("\\u0000"), "{data}");
    }
    let stats = on_ok(&repo, &url, &["stats", "--json"]);
    assert!(stats.contains("\"runs\": 5"), "{stats}");
}

/// A queue of one issue, and its file's bytes.
fn small_queue() -> (TestRepo, (u64, Option<u64>)) {
    let repo = TestRepo::new();
    repo.add(&["Only one"]);
    settle(&repo.db());
    let bytes = file_bytes(&repo.db());
    (repo, bytes)
}

#[test]
fn a_target_that_is_not_empty_is_refused_and_nothing_is_copied() {
    let Some(url) = postgres::fresh_database() else {
        return;
    };
    let (repo, bytes) = small_queue();
    let other = TestRepo::new();
    on_ok(&other, &url, &["add", "Already on the server"]);
    let err = repo.fails(&["migrate", "--to", &url]);
    assert!(
        err.contains("is not empty") && err.contains("empty database"),
        "{err}"
    );
    assert_eq!(pg_count(&url, "issues"), 1);
    assert_eq!(file_bytes(&repo.db()), bytes);

    // A row in a table the commands never write alone (here a setting, with no event): still
    // refused as not empty, not merged, and nothing copied.
    let Some(url) = postgres::fresh_database() else {
        return;
    };
    on_ok(&other, &url, &["list"]);
    pg_client(&url)
        .execute(
            "INSERT INTO settings (key, value) VALUES ('left_over', 'x')",
            &[],
        )
        .unwrap();
    let err = repo.fails(&["migrate", "--to", &url]);
    assert!(
        err.contains("is not empty (settings has 1 rows)") && err.contains("createdb"),
        "{err}"
    );
    assert_eq!(pg_count(&url, "issues"), 0);
    assert_eq!(pg_count(&url, "settings"), 1);
}

#[test]
fn a_target_that_is_not_postgres_is_refused_naming_the_url_to_give() {
    let (repo, bytes) = small_queue();
    let elsewhere = repo.dir.path().join("copy.db");
    let path = elsewhere.display().to_string();
    let sqlite = format!("sqlite://{path}");
    for to in [path.as_str(), sqlite.as_str()] {
        let err = repo.fails(&["migrate", "--to", to]);
        assert!(
            err.contains("migrate copies into PostgreSQL") && err.contains("postgres://"),
            "{to}: {err}"
        );
    }
    assert!(!elsewhere.exists(), "no SQLite file was made");
    let err = repo.fails(&["migrate", "--to", "mysql://u:hunter2@db/x"]);
    assert!(
        err.contains("--to") && err.contains("unsupported store scheme"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    for bad in ["postgres://u:hunter2@[::1/x", "postgres://u:hunter2@/x"] {
        let err = repo.fails(&["migrate", "--to", bad]);
        assert!(
            err.contains("cannot read the PostgreSQL URL") && err.contains("postgres://USER"),
            "{bad}: {err}"
        );
        assert!(!err.contains("hunter2"), "{bad} leaked its password: {err}");
    }
    assert_eq!(file_bytes(&repo.db()), bytes);
}

#[test]
fn an_unreachable_server_or_a_wrong_password_is_a_clear_error_without_the_password() {
    let (repo, bytes) = small_queue();
    // Nothing listens on port 1.
    let err = repo.fails(&[
        "migrate",
        "--to",
        "postgres://autopilot:hunter2@127.0.0.1:1/queue",
    ]);
    assert!(
        err.contains("cannot connect to PostgreSQL at") && err.contains("127.0.0.1:1"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    if let Some(server) = postgres::server().filter(|s| s.port != 0) {
        let url = format!(
            "postgres://postgres:hunter2@127.0.0.1:{}/postgres",
            server.port
        );
        let err = repo.fails(&["migrate", "--to", &url]);
        assert!(err.to_lowercase().contains("password"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    assert_eq!(file_bytes(&repo.db()), bytes);
}

#[test]
fn a_source_that_is_not_a_current_sqlite_queue_is_refused_and_the_target_left_alone() {
    let Some(url) = postgres::fresh_database() else {
        return;
    };
    let Some(other) = postgres::fresh_database() else {
        return;
    };
    let repo = TestRepo::new();

    // Already on PostgreSQL.
    on_ok(&repo, &other, &["add", "On the server"]);
    let err = on(&repo, &other, &["migrate", "--to", &url]);
    let err = String::from_utf8_lossy(&err.stderr);
    assert!(
        err.contains("already on PostgreSQL") && err.contains("--db PATH"),
        "{err}"
    );

    // No SQLite file where --db points: none is made.
    let missing = repo.dir.path().join("missing.db");
    let err = repo.fails(&[
        "--db",
        &missing.display().to_string(),
        "migrate",
        "--to",
        &url,
    ]);
    assert!(err.contains("no SQLite queue there"), "{err}");
    assert!(!missing.exists());

    // A file of the previous schema version (before runs had a persona): refused unread,
    // with the command that upgrades it; once upgraded, it migrates.
    repo.add(&["Old work"]);
    let conn = rusqlite::Connection::open(repo.db()).unwrap();
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(&format!(
        "ALTER TABLE runs DROP COLUMN persona; PRAGMA user_version = {};",
        current - 1
    ))
    .unwrap();
    drop(conn);
    settle(&repo.db());
    let bytes = file_bytes(&repo.db());
    let err = repo.fails(&["migrate", "--to", &url]);
    assert!(
        err.contains(&format!("schema version {}", current - 1))
            && err.contains("list`) to upgrade it"),
        "{err}"
    );
    assert_eq!(file_bytes(&repo.db()), bytes);
    assert!(!pg_has_schema(&url), "the target was not touched");
    repo.ok(&["list"]);
    let out = repo.ok(&["migrate", "--to", &url]);
    assert!(out.contains("issues 1"), "{out}");
}
