//! A throwaway PostgreSQL server for tests: one per test binary, started on first use from
//! `pg_config --bindir` in a temporary directory, listening on 127.0.0.1 on a free port only,
//! with a fresh database per test. A watchdog stops it (`pg_ctl stop -m immediate`) and removes
//! its directory when the test binary exits, however it exits.
//!
//! `AUTOPILOT_TEST_PG_URL` (a superuser URL) points the tests at an external server instead.
//! When no server can be had, tests skip with the reason printed, except under `CI=true`,
//! where they fail with it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running server the tests may create databases on.
pub struct PgServer {
    /// A superuser URL ending in `/postgres`, password included.
    pub admin_url: String,
    /// The port on 127.0.0.1 (0 for an external server).
    pub port: u16,
    /// The superuser's password (empty for an external server).
    pub password: String,
    /// How long starting it took (initdb and start).
    pub startup: Duration,
    /// How to restart it: `None` for an external server.
    local: Option<Local>,
    /// Closed at exit: the watchdog's signal to stop the server.
    _watchdog: Option<Mutex<ChildStdin>>,
}

/// What restarting a server this binary started needs.
struct Local {
    owner: Owner,
    bindir: PathBuf,
    data: PathBuf,
}

impl PgServer {
    /// Restarts the server (`pg_ctl restart -m fast`, as its owner): every open connection is
    /// cut, then it listens again on the same port. Returns once it accepts connections.
    pub fn restart(&self) {
        let local = self
            .local
            .as_ref()
            .expect("only a server these tests started can be restarted");
        let out = local
            .owner
            .command(&local.bindir.join("pg_ctl"))
            .args(["-D", &local.data.to_string_lossy()])
            .args(["-w", "-t", "60", "-m", "fast"])
            // The new server inherits pg_ctl's output unless it logs to a file: reading a
            // pipe it holds would never end.
            .args(["-l", &local.data.with_file_name("log").to_string_lossy()])
            .arg("restart")
            .stdin(Stdio::null())
            .output()
            .expect("pg_ctl restart runs");
        assert!(
            out.status.success(),
            "pg_ctl restart failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Whether this server can be restarted (one these tests started, not an external one).
    pub fn restartable(&self) -> bool {
        self.local.is_some()
    }
}

static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The server, started on first call; `None` (after printing why) when there is none and this
/// is not CI. Under `CI=true` a missing server fails the test.
pub fn server() -> Option<&'static PgServer> {
    match SERVER.get_or_init(start) {
        Ok(s) => Some(s),
        Err(reason) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PostgreSQL tests cannot run under CI=true: {reason}")
        }
        Err(reason) => {
            eprintln!("skipping a PostgreSQL test: {reason}");
            None
        }
    }
}

/// The URL of a new, empty database on the server (see [`server`] for `None`).
pub fn fresh_database() -> Option<String> {
    let server = server()?;
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = ::postgres::Client::connect(&server.admin_url, ::postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to the test server: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    Some(with_database(&server.admin_url, &name))
}

/// `url` naming database `name` instead of its own.
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    match query {
        Some(q) => format!("{scheme}://{authority}/{name}?{q}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

fn start() -> Result<PgServer, String> {
    if let Ok(url) = std::env::var("AUTOPILOT_TEST_PG_URL") {
        ::postgres::Client::connect(&url, ::postgres::NoTls)
            .map_err(|e| format!("AUTOPILOT_TEST_PG_URL does not connect: {e}"))?;
        return Ok(PgServer {
            admin_url: with_database(&url, "postgres"),
            port: 0,
            password: String::new(),
            startup: Duration::ZERO,
            local: None,
            _watchdog: None,
        });
    }
    let began = Instant::now();
    let out = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .map_err(|e| format!("pg_config not found ({e}); install the PostgreSQL server (apt-get install postgresql) or set AUTOPILOT_TEST_PG_URL"))?;
    let bindir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !bindir.join("initdb").exists() {
        return Err(format!(
            "no initdb in {} (pg_config --bindir); install the PostgreSQL server",
            bindir.display()
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("autopilot-pg-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?
        .keep();
    let owner = Owner::find()?;
    owner.give(&dir)?;
    let password = format!("pw{}x{}", std::process::id(), began.elapsed().as_nanos());
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, &password).map_err(|e| format!("write {}: {e}", pwfile.display()))?;
    owner.give(&pwfile)?;
    let data = dir.join("data");
    let sock = dir.join("sock");
    std::fs::create_dir(&sock).map_err(|e| format!("mkdir: {e}"))?;
    owner.give(&sock)?;
    let initdb = owner
        .command(&bindir.join("initdb"))
        .args([
            "-D",
            &data.to_string_lossy(),
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
        ])
        .args([
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        ));
    }
    // The watchdog comes before the server so that no server is left without one.
    let watchdog = watchdog(&owner, &bindir, &dir, &data)?;
    let mut last = String::new();
    // A free port can be taken between looking and binding: try a few.
    for _ in 0..5 {
        let port = free_port()?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400",
            sock.display()
        );
        let started = owner
            .command(&bindir.join("pg_ctl"))
            .args([
                "-D",
                &data.to_string_lossy(),
                "-w",
                "-t",
                "60",
                "-o",
                &options,
            ])
            .args(["-l", &dir.join("log").to_string_lossy(), "start"])
            .output()
            .map_err(|e| format!("pg_ctl start: {e}"))?;
        if started.status.success() {
            return Ok(PgServer {
                admin_url: format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres"),
                port,
                password,
                startup: began.elapsed(),
                _watchdog: Some(Mutex::new(watchdog)),
                local: Some(Local {
                    owner,
                    bindir,
                    data,
                }),
            });
        }
        last = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    }
    Err(format!("the PostgreSQL server did not start: {last}"))
}

/// A shell that waits for its stdin to close (this process exiting), then stops the server and
/// removes its directory. It ignores the terminal's signals, so ctrl-c stops it only through
/// the test binary's exit.
fn watchdog(owner: &Owner, bindir: &Path, dir: &Path, data: &Path) -> Result<ChildStdin, String> {
    let mut stop = owner.command(&bindir.join("pg_ctl"));
    stop.args([
        "-D",
        &data.to_string_lossy(),
        "stop",
        "-m",
        "immediate",
        "-w",
    ]);
    let stop_line: Vec<String> = std::iter::once(stop.get_program())
        .chain(stop.get_args())
        .map(|a| shell_quote(&a.to_string_lossy()))
        .collect();
    let script = format!(
        "trap '' INT HUP TERM QUIT; read _ignored; {} >/dev/null 2>&1; rm -rf {}",
        stop_line.join(" "),
        shell_quote(&dir.to_string_lossy())
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("watchdog: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("watchdog has no stdin")?;
    // Nothing to say: only the end of this pipe matters. Writing nothing checks it is open.
    stdin.write_all(b"").map_err(|e| format!("watchdog: {e}"))?;
    Ok(stdin)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Who runs the server: this user, or `postgres` when this is root (the server refuses root).
enum Owner {
    Me,
    Postgres(nix::unistd::User),
}

impl Owner {
    fn find() -> Result<Owner, String> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(Owner::Me);
        }
        match nix::unistd::User::from_name("postgres") {
            Ok(Some(u)) => Ok(Owner::Postgres(u)),
            _ => Err("running as root and there is no postgres user to run the server as".into()),
        }
    }

    fn give(&self, path: &Path) -> Result<(), String> {
        if let Owner::Postgres(u) = self {
            nix::unistd::chown(path, Some(u.uid), Some(u.gid))
                .map_err(|e| format!("chown {}: {e}", path.display()))?;
        }
        Ok(())
    }

    fn command(&self, program: &Path) -> Command {
        match self {
            Owner::Me => Command::new(program),
            Owner::Postgres(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            }
        }
    }
}
