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
    assert!(!err.contains("hunter2"), "{err}");
    assert!(!repo.db().exists(), "no SQLite file appeared instead");
}
