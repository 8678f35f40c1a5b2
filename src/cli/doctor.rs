//! `doctor` (what is wrong and how to fix it) and `gc` (worktree housekeeping).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::config::Config;
use crate::domain::Status;
use crate::runner::{git, preflight_here, process};
use crate::store::Store;

use super::Ctx;

struct Report {
    ok: bool,
}

// A reader that went away (`doctor | head -1`) must not turn into a panic: the verdict, the
// exit status, still counts.
impl Report {
    fn pass(&self, what: &str, detail: &str) {
        let _ = writeln!(std::io::stdout(), "✓ {what}: {detail}");
    }
    fn fail(&mut self, what: &str, detail: &str, fix: &str) {
        self.ok = false;
        let _ = writeln!(std::io::stdout(), "✗ {what}: {detail}\n    fix: {fix}");
    }
    fn warn(&self, what: &str, detail: &str) {
        let _ = writeln!(std::io::stdout(), "! {what}: {detail}");
    }
}

/// Runs `program --version` with a time limit, returning its first line of output.
fn version_of(program: &Path) -> Result<String, String> {
    let mut child = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let start = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > Duration::from_secs(15) => {
                let _ = child.kill();
                return Err("did not answer within 15 s".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    })
    .into_owned();
    let line = text.lines().next().unwrap_or("").trim().to_string();
    if out.status.success() {
        Ok(line)
    } else {
        Err(format!("exited with {}: {line}", out.status))
    }
}

/// Prints one line per check; returns whether everything is usable.
pub fn run(config: &Config) -> anyhow::Result<bool> {
    let mut r = Report { ok: true };
    let paths = &config.paths;
    match version_of(Path::new("git")) {
        Ok(v) => r.pass("git", &v),
        Err(e) => r.fail("git", &e, "install git and put it on PATH"),
    }
    match git::repo_root(&paths.repo_root) {
        Ok(root) => r.pass("repository", &root.display().to_string()),
        Err(e) => r.fail(
            "repository",
            &e.stderr,
            "run autopilot-tui inside your git repository",
        ),
    }
    let settings = config.runner_settings(None);
    match settings
        .base_branch
        .clone()
        .map_or_else(|| git::current_branch(&paths.repo_root), Ok)
    {
        Ok(b) => r.pass("base branch", &b),
        Err(e) => r.fail(
            "base branch",
            &e.stderr,
            "check out a branch, or set AUTOPILOT_BASE_BRANCH",
        ),
    }
    match config.adapter() {
        Ok(adapter) => {
            let program = adapter.program().to_path_buf();
            // Only Claude Code answers --version; a command agent (run through `sh -c`) was
            // found on PATH when the adapter was built, and that is all there is to check.
            if !adapter.answers_version() {
                r.pass(
                    "agent",
                    &format!("{} ({} agent)", program.display(), adapter.name()),
                );
            } else {
                match version_of(&program) {
                    Ok(v) => r.pass("agent", &format!("{} ({v})", program.display())),
                    Err(e) => r.fail(
                        "agent",
                        &format!("{} does not run: {e}", program.display()),
                        "reinstall it (npm install -g @anthropic-ai/claude-code@2.1.330) or point AUTOPILOT_CLAUDE_BIN at a working one",
                    ),
                }
            }
            let root = nix::unistd::geteuid().is_root();
            match preflight_here(adapter.as_ref(), &settings.permission_mode) {
                Ok(()) => r.pass("permissions", &format!("mode {}{}", settings.permission_mode, if root { " as root" } else { "" })),
                Err(problem) => r.fail("permissions", &problem, "export IS_SANDBOX=1 on a disposable box, or AUTOPILOT_PERMISSION_MODE=acceptEdits"),
            }
        }
        Err(e) => r.fail(
            "agent",
            &e.to_string(),
            "install Claude Code or set AUTOPILOT_CLAUDE_BIN",
        ),
    }
    match Store::open_url(&paths.db, crate::domain::redact::Redactor::builtin()) {
        Ok(store) => {
            let counts = store.status_counts("")?;
            let total: i64 = counts.0.iter().sum();
            r.pass(
                "database",
                &format!(
                    "{} ({total} issues, schema {})",
                    paths.db,
                    crate::store::SCHEMA_VERSION
                ),
            );
            let pause = store.pause_state()?;
            if pause.paused {
                r.warn(
                    "queue",
                    "paused by a person: `autopilot-tui resume` starts claiming again",
                );
            }
            if let Some(until) = pause.until {
                r.warn(
                    "queue",
                    &format!(
                        "held until {} ({}); it resumes by itself, `autopilot-tui resume` lifts it now",
                        crate::domain::format_millis(until),
                        pause.reason.unwrap_or_default()
                    ),
                );
            }
            if let Some(full) = store.review_full(settings.budget.max_in_review)? {
                r.warn("queue", &full.reason());
            }
            let open = store.open_runs()?;
            if !open.is_empty() {
                r.warn("runs", &format!("{} run(s) in progress", open.len()));
            }
            let host = crate::sys::host_name();
            for gone in store.abandoned_claims(&host, &|pid| process::pid_alive(pid))? {
                let id = gone.issue_id;
                r.fail(
                    &format!("#{id}"),
                    &format!("in_progress, but no runner works on it: {}", gone.why),
                    &format!("`autopilot-tui stop {id}` parks it in blocked now; a runner starting on this machine hands it back to ready"),
                );
            }
        }
        Err(e) => r.fail(
            "database",
            &e.to_string(),
            "move the file aside, or pass --db to use another",
        ),
    }
    let wt = &paths.worktrees;
    if wt.exists() {
        let probe = wt.join(".doctor-probe");
        match std::fs::write(&probe, b"") {
            Ok(()) => {
                let _ = std::fs::remove_file(&probe);
                r.pass("worktrees", &wt.display().to_string());
            }
            Err(e) => r.fail(
                "worktrees",
                &format!("{} is not writable: {e}", wt.display()),
                "fix the directory's permissions",
            ),
        }
    } else {
        r.pass(
            "worktrees",
            &format!("{} (created on first run)", wt.display()),
        );
    }
    if let Ok(list) = git::git(&paths.repo_root, &["worktree", "list", "--porcelain"]) {
        let stale = list.lines().filter(|l| l.starts_with("prunable")).count();
        if stale > 0 {
            r.warn(
                "worktrees",
                &format!("{stale} stale worktree entries: `autopilot-tui gc` prunes them"),
            );
        }
    }
    Ok(r.ok)
}

/// Removes worktrees of done issues, keeping any with uncommitted changes, and prunes stale
/// worktree metadata.
pub fn gc(ctx: &Ctx) -> anyhow::Result<()> {
    let store = ctx.store()?;
    let repo = &ctx.config.paths.repo_root;
    let mut out = std::io::stdout().lock();
    let (mut removed, mut kept) = (0, 0);
    for issue in store.list_issues(Some(Status::Done))? {
        let Some(path) = issue
            .worktree
            .as_deref()
            .map(Path::new)
            .filter(|p| p.exists())
        else {
            continue;
        };
        match git::has_changes(path) {
            Ok(true) => {
                kept += 1;
                writeln!(
                    out,
                    "kept   #{} {}: it has uncommitted changes",
                    issue.id,
                    path.display()
                )?;
            }
            Ok(false) => match git::remove_worktree(repo, path) {
                Ok(()) => {
                    removed += 1;
                    writeln!(out, "removed #{} {}", issue.id, path.display())?;
                }
                Err(e) => {
                    kept += 1;
                    writeln!(out, "kept   #{} {}: {e}", issue.id, path.display())?;
                }
            },
            Err(e) => {
                kept += 1;
                writeln!(
                    out,
                    "kept   #{} {}: cannot inspect it: {e}",
                    issue.id,
                    path.display()
                )?;
            }
        }
    }
    let pruned = git::prune_worktrees(repo)?;
    for line in pruned.lines().filter(|l| !l.trim().is_empty()) {
        writeln!(out, "pruned {line}")?;
    }
    writeln!(
        out,
        "{removed} worktree(s) removed, {kept} kept; branches are left alone"
    )?;
    Ok(())
}
