//! Where the queue lives: `--db`, `AUTOPILOT_DB` and `[store] url` take a path, sqlite://PATH or
//! a PostgreSQL URL; bad ones are clear errors that never show a password.

#![allow(clippy::unwrap_used)]

mod support;

use support::TestRepo;

#[test]
fn a_sqlite_url_and_a_plain_path_name_the_same_file() {
    let repo = TestRepo::new();
    let file = repo.root.join(".autopilot/other.db");
    let url = format!("sqlite://{}", file.display());
    assert_eq!(repo.ok(&["--db", &url, "add", "Via URL"]), "1\n");
    let path = file.display().to_string();
    let listed = repo.ok(&["--db", &path, "list"]);
    assert!(listed.contains("Via URL"), "{listed}");
    assert!(!repo.db().exists(), "the default database was not used");
}

#[test]
fn the_config_names_the_store_and_the_flag_wins_over_it() {
    let repo = TestRepo::with_config("[store]\nurl = \"sqlite://.autopilot/configured.db\"\n");
    assert_eq!(repo.ok(&["add", "Configured"]), "1\n");
    assert!(repo.root.join(".autopilot/configured.db").exists());
    assert!(!repo.db().exists(), "the default database was not used");

    let flag = repo.root.join(".autopilot/flag.db").display().to_string();
    repo.ok(&["--db", &flag, "add", "Flagged"]);
    let listed = repo.ok(&["--db", &flag, "list"]);
    assert!(
        listed.contains("Flagged") && !listed.contains("Configured"),
        "{listed}"
    );

    let env = TestRepo::with_config("[store]\nurl = \"sqlite://.autopilot/configured.db\"\n")
        .with_env("AUTOPILOT_DB", ".autopilot/env.db");
    env.ok(&["add", "From env"]);
    assert!(env.root.join(".autopilot/env.db").exists());
    assert!(!env.root.join(".autopilot/configured.db").exists());
}

#[test]
fn bad_store_locations_are_refused_with_what_to_write_and_no_password() {
    let repo = TestRepo::new();
    let cases: &[(&str, &str)] = &[
        (
            "mysql://u:hunter2@db/x",
            "unsupported store scheme \"mysql\"",
        ),
        ("sqlite://", "names no file"),
        ("   ", "the store location is empty"),
        (
            "postgres://u:hunter2@[::1/x",
            "cannot read the PostgreSQL URL",
        ),
        ("postgres://u:hunter2@/x", "cannot read the PostgreSQL URL"),
    ];
    for (given, says) in cases {
        let err = repo.fails(&["--db", given, "list"]);
        assert!(err.contains(says), "{given:?}: {err}");
        assert!(err.contains("--db / AUTOPILOT_DB"), "{given:?}: {err}");
        assert!(
            !err.contains("hunter2"),
            "{given:?} leaked its password: {err}"
        );
    }
    let env = TestRepo::new().with_env("AUTOPILOT_DB", "mysql://u:hunter2@db/x");
    let err = env.fails(&["list"]);
    assert!(err.contains("unsupported store scheme"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    let config = TestRepo::with_config("[store]\nurl = \"redis://u:hunter2@db\"\n");
    let err = config.fails(&["list"]);
    assert!(err.contains("invalid [store] url"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!config.db().exists(), "nothing was created");
}

#[test]
fn help_never_prints_the_environments_store_url() {
    let repo = TestRepo::new().with_env("AUTOPILOT_DB", "postgres://u:hunter2@127.0.0.1/q");
    let help = repo.ok(&["--help"]);
    assert!(help.contains("AUTOPILOT_DB"), "{help}");
    assert!(!help.contains("hunter2"), "{help}");
}

#[test]
fn an_unreachable_server_is_named_without_its_password_and_nothing_is_created() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let repo = TestRepo::new();
    let url = format!("postgres://ana:hunter2@127.0.0.1:{port}/queue");
    let err = repo.fails(&["--db", &url, "list"]);
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("connection refused"), "{err}");
    assert!(err.contains("is the server running"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!repo.db().exists(), "no SQLite file appeared instead");
    let run = repo.fails(&["--db", &url, "run", "--once"]);
    assert!(run.contains("connection refused"), "{run}");
    assert!(!run.contains("hunter2"), "{run}");
}

/// Replaces the password in a URL of the test server.
fn with_password(url: &str, server: &support::postgres::PgServer, password: &str) -> String {
    url.replace(&format!(":{}@", server.password), &format!(":{password}@"))
}

#[test]
fn a_wrong_password_and_a_missing_database_are_one_clear_line_without_the_password() {
    let Some(server) = support::postgres::server() else {
        return;
    };
    if server.password.is_empty() {
        eprintln!("skipped: AUTOPILOT_TEST_PG_URL's password is not known to these tests");
        return;
    }
    let repo = TestRepo::on_sqlite();
    let good = support::postgres::with_database(&server.admin_url, "queue");
    let cases = [
        (
            with_password(&good, server, "hunter2"),
            "rejected the password for user \"postgres\"",
        ),
        (
            support::postgres::with_database(&server.admin_url, "nosuchdb"),
            "has no database \"nosuchdb\"; create it first (createdb nosuchdb)",
        ),
    ];
    for (url, says) in &cases {
        let err = repo.fails(&["--db", url, "list"]);
        assert!(err.contains(says), "{err}");
        assert!(err.contains(&format!("127.0.0.1:{}", server.port)), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(!err.contains(&server.password), "{err}");
        // A runner refuses to start the same way, and nothing is created anywhere.
        let run = repo.fails(&["--db", url, "run", "--once"]);
        assert!(run.contains(says), "{run}");
        assert!(!run.contains(&server.password), "{run}");
    }
    assert!(!repo.db().exists(), "no SQLite file appeared instead");
}
