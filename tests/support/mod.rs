//! Test support: temp git repos, the real binary, the fake agent.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

pub mod mock_api;
pub mod mock_http;
pub mod postgres;
pub mod tmux;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_autopilot-tui"))
}

/// The fake `claude` that prints the real stream-json format.
pub fn fake_claude() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake-claude")
}

/// Runs git, panicking with its stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether the binary-level tests run on PostgreSQL (`AUTOPILOT_TEST_BACKEND=postgres`)
/// instead of the default SQLite file.
pub fn on_postgres() -> bool {
    std::env::var("AUTOPILOT_TEST_BACKEND").is_ok_and(|v| v == "postgres")
}

/// Prints why a test that only makes sense on SQLite does nothing on this run's backend;
/// whether it should return.
pub fn sqlite_only(why: &str) -> bool {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: {why}");
    }
    on_postgres()
}

/// A temporary git repository with one commit on `main`, and an isolated environment. Under
/// `AUTOPILOT_TEST_BACKEND=postgres` its queue is a fresh PostgreSQL database (`AUTOPILOT_DB`)
/// and, since a shared store needs one, it has a bare `origin` to push to.
pub struct TestRepo {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// The repository root.
    pub root: PathBuf,
    /// Where the fake agent records its arguments and prompts.
    pub agent_log: PathBuf,
    /// Extra environment for every command.
    pub env: Vec<(String, String)>,
}

impl TestRepo {
    /// A fresh repository, on the backend this run tests.
    pub fn new() -> TestRepo {
        let repo = TestRepo::on_sqlite();
        if !on_postgres() {
            return repo;
        }
        let url = postgres::fresh_database()
            .expect("AUTOPILOT_TEST_BACKEND=postgres needs a PostgreSQL server");
        repo.with_postgres(&url)
    }

    /// A fresh repository whose queue is a new PostgreSQL database, whatever this run tests;
    /// `None` (the reason printed) when there is no server outside CI.
    pub fn new_on_postgres() -> Option<TestRepo> {
        let url = postgres::fresh_database()?;
        Some(TestRepo::on_sqlite().with_postgres(&url))
    }

    /// Points the queue at the PostgreSQL database `url`, with the bare `origin` shared
    /// mode pushes to.
    fn with_postgres(self, url: &str) -> TestRepo {
        let remote = self.dir.path().join("origin.git");
        git(
            self.dir.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        git(
            &self.root,
            &["remote", "add", "origin", &remote.to_string_lossy()],
        );
        git(&self.root, &["push", "-q", "origin", "main"]);
        self.with_env("AUTOPILOT_DB", url)
    }

    /// A fresh repository on the default SQLite file, whatever this run tests.
    pub fn on_sqlite() -> TestRepo {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).expect("mkdir");
        git(&root, &["init", "-q", "-b", "main"]);
        git(&root, &["config", "user.name", "Test User"]);
        git(&root, &["config", "user.email", "test@example.com"]);
        std::fs::write(root.join("README.md"), "# test repo\n").expect("write");
        git(&root, &["add", "README.md"]);
        git(&root, &["commit", "-q", "-m", "initial"]);
        let agent_log = dir.path().join("agent-log");
        TestRepo {
            root,
            agent_log,
            dir,
            env: Vec::new(),
        }
    }

    /// A fresh repository whose `autopilot.toml` is `toml`.
    pub fn with_config(toml: &str) -> TestRepo {
        let repo = TestRepo::new();
        std::fs::write(repo.root.join("autopilot.toml"), toml).expect("write autopilot.toml");
        repo
    }

    /// Adds an environment variable for every later command.
    pub fn with_env(mut self, key: &str, value: &str) -> TestRepo {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The default database path.
    pub fn db(&self) -> PathBuf {
        self.root.join(".autopilot/autopilot.db")
    }

    /// Where this repo's queue lives: `AUTOPILOT_DB` when set (a path relative to the repo),
    /// else the default file.
    pub fn store_url(&self) -> autopilot_tui::store::sql::StoreUrl {
        let set = self.env.iter().rev().find(|(k, _)| k == "AUTOPILOT_DB");
        match set {
            Some((_, v)) if v.contains("://") => v.parse().expect("a store URL"),
            Some((_, v)) => self.root.join(v).into(),
            None => self.db().into(),
        }
    }

    /// Whether this repo's queue is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(
            self.store_url(),
            autopilot_tui::store::sql::StoreUrl::Postgres(_)
        )
    }

    /// A plain connection to the queue, for the tests' own SQL (SQLite's `?N` placeholders,
    /// in the SQL both backends share).
    pub fn sql(&self) -> autopilot_tui::store::sql::Conn {
        autopilot_tui::store::sql::Conn::open(&self.store_url()).expect("connect to the queue")
    }

    /// The queue, opened as the app opens it.
    pub fn store(&self) -> autopilot_tui::store::Store {
        autopilot_tui::store::Store::open_url(
            &self.store_url(),
            autopilot_tui::domain::redact::Redactor::builtin(),
        )
        .expect("open the store")
    }

    /// Every stored transcript line of a run, read through the store the app uses.
    pub fn transcript(&self, run_id: i64) -> Vec<Vec<u8>> {
        let store = self.store();
        store
            .transcript(run_id, -1, i64::MAX)
            .expect("read the transcript")
            .into_iter()
            .map(|l| l.line)
            .collect()
    }

    /// The environment the binary runs with, besides PATH: an isolated home and config, the
    /// fake agent, then this repo's own variables (which win).
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let home = self.dir.path();
        let mut vars: Vec<(String, String)> = [
            ("HOME", home.display().to_string()),
            (
                "AUTOPILOT_CONFIG_HOME",
                home.join("config").display().to_string(),
            ),
            ("AUTOPILOT_CLAUDE_BIN", fake_claude().display().to_string()),
            ("AUTOPILOT_USER", "tester".into()),
            ("AUTOPILOT_AGENT_ID", "test-agent".into()),
            ("IS_SANDBOX", "1".into()),
            ("FAKE_CLAUDE_LOG", self.agent_log.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in &self.env {
            vars.retain(|(key, _)| key != k);
            vars.push((k.clone(), v.clone()));
        }
        vars
    }

    /// A command for the binary in the repo, with the fake agent and an isolated config.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .current_dir(&self.root)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env_vars())
            .stdin(Stdio::null());
        c
    }

    /// Runs a command to completion (at most 120 s), returning its output.
    pub fn run(&self, args: &[&str]) -> Output {
        let child = self
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn binary");
        wait_output(child, Duration::from_secs(120))
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "autopilot-tui {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command with `input` on its stdin (at most 120 s); it must succeed; its stdout.
    #[allow(dead_code)]
    pub fn ok_with_stdin(&self, args: &[&str], input: &[u8]) -> String {
        use std::io::Write;
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn binary");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        let out = wait_output(child, Duration::from_secs(120));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must fail; returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "autopilot-tui {args:?} should have failed; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Starts `autopilot-tui run <args>` in the background; it is killed if the test ends
    /// (or fails) without waiting for it.
    pub fn spawn_run(&self, args: &[&str]) -> Running {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let child = self
            .cmd(&all)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        Running(Some(child.expect("spawn the runner")))
    }

    /// `add`, returning the new id.
    pub fn add(&self, args: &[&str]) -> i64 {
        let mut all = vec!["add"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("add printed {out:?}, not an id"))
    }

    /// `show ID --json`.
    pub fn show(&self, id: i64) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["show", &id.to_string(), "--json"]))
            .expect("show --json is JSON")
    }

    /// The status of an issue.
    pub fn status(&self, id: i64) -> String {
        self.show(id)["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The fake agent's log files with this extension, oldest first.
    fn agent_log_files(&self, ext: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.agent_log)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == ext));
        files.sort();
        files
    }

    /// Every prompt the fake agent read on its stdin, oldest first.
    pub fn agent_prompts(&self) -> Vec<String> {
        self.agent_log_files("prompt")
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned())
            .collect()
    }

    /// Every argument list the fake agent was started with, oldest first.
    pub fn agent_calls(&self) -> Vec<Vec<String>> {
        self.agent_log_files("args")
            .iter()
            .map(|p| {
                let data = std::fs::read(p).unwrap_or_default();
                data.split(|b| *b == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .collect()
    }
}

/// A background runner process, killed on drop unless waited for.
pub struct Running(Option<Child>);

impl Running {
    /// Its pid.
    pub fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    /// Asks it to stop (SIGTERM), waits for it (at most 30 s) and returns what it printed on
    /// stderr.
    pub fn wait_after_term(self) -> String {
        signal(self.id(), "TERM");
        let out = self.wait(Duration::from_secs(30));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Waits for it to exit (at most `limit`), returning its output.
    pub fn wait(mut self, limit: Duration) -> Output {
        let child = self.0.take().expect("not waited for yet");
        wait_output(child, limit)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // SIGTERM first: the runner then stops its agents' process groups too.
        if let Some(mut child) = self.0.take() {
            stop_child(&mut child, Duration::from_secs(10));
        }
    }
}

/// Asks a child to stop with SIGTERM (as a closing terminal or `kill` would), gives it `grace`
/// to exit, then kills it.
pub fn stop_child(child: &mut Child, grace: Duration) {
    signal(child.id(), "TERM");
    let start = Instant::now();
    while matches!(child.try_wait(), Ok(None)) && start.elapsed() < grace {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for a child with a deadline, killing it (and failing the test) if it hangs. Its
/// output is read as it comes, so a child that prints more than a pipe holds never blocks.
pub fn wait_output(mut child: Child, limit: Duration) -> Output {
    fn drain(
        pipe: Option<impl std::io::Read + Send + 'static>,
    ) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut data = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut data);
            }
            data
        })
    }
    let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "command did not finish within {limit:?}\nstdout: {}\nstderr: {}",
                    String::from_utf8_lossy(&stdout.join().unwrap_or_default()),
                    String::from_utf8_lossy(&stderr.join().unwrap_or_default())
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("wait failed: {e}"),
        }
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Polls `check` until it returns `Some`, failing after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Whether a process exists (a zombie counts as gone), as the runner itself decides it.
pub fn alive(pid: i32) -> bool {
    autopilot_tui::runner::process::pid_alive(i64::from(pid))
}

/// Sends a signal (`TERM`, `KILL`, …) to a process; whether `kill` succeeded.
pub fn signal(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// The pid a fake agent or a tool wrote to `path`, once it is complete.
pub fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// The text of an issue's newest comment (from `show --json`).
pub fn last_comment(issue: &serde_json::Value) -> String {
    issue["comments"]
        .as_array()
        .and_then(|c| c.last())
        .and_then(|c| c["body"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The failure class of each run of an issue (`null` for runs that did not fail).
pub fn failures(issue: &serde_json::Value) -> Vec<String> {
    issue["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["failure"].as_str().unwrap_or("null").to_string())
        .collect()
}

/// Every comment body of an issue, oldest first.
pub fn thread(issue: &serde_json::Value) -> Vec<String> {
    issue["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Each run of an issue (from `show --json`) as `(role, outcome)`, `running` while open.
pub fn run_roles(issue: &serde_json::Value) -> Vec<(String, String)> {
    issue["runs"]
        .as_array()
        .map(|runs| {
            runs.iter()
                .map(|r| {
                    (
                        r["role"].as_str().unwrap_or_default().to_string(),
                        r["outcome"].as_str().unwrap_or("running").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Owned pairs, to compare with [`run_roles`].
pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Two clones of one bare remote, as two boxes have them (each on SQLite until the caller
/// points them at a shared queue): box A's repository with the remote as `origin`, box B
/// cloned from it, and the remote's path.
#[allow(dead_code)]
pub fn two_clones() -> (TestRepo, TestRepo, PathBuf) {
    let a = TestRepo::on_sqlite();
    let remote = a.dir.path().join("remote.git");
    let root = a.root.display().to_string();
    git(
        a.dir.path(),
        &["clone", "-q", "--bare", &root, "remote.git"],
    );
    git(
        &a.root,
        &["remote", "add", "origin", &remote.display().to_string()],
    );
    git(&a.root, &["fetch", "-q", "origin"]);
    let b = TestRepo::on_sqlite();
    std::fs::remove_dir_all(&b.root).expect("remove box B's repo");
    git(
        b.dir.path(),
        &["clone", "-q", &remote.display().to_string(), "repo"],
    );
    git(&b.root, &["config", "user.name", "Box B"]);
    git(&b.root, &["config", "user.email", "b@example.com"]);
    (a, b, remote)
}
