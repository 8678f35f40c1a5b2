//! The command line: clap definitions and the non-TUI subcommands.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

use crate::config::{Config, Paths, SAMPLE};
use crate::domain::{format_millis, Actor, AuthorKind, Comment, Issue, Kind, Run, Status};
use crate::runner::agent::claude::parse_line;
use crate::runner::events::display_lines;
use crate::runner::sanitize::{one_line, strip_all};
use crate::runner::{git, recovery, Runner, RunnerEvent};
use crate::store::{IssueEdit, NewIssue, Stop, Store, StoreError};

pub mod doctor;

/// A terminal kanban and mission control for autonomous coding agents.
#[derive(Debug, Parser)]
#[command(name = "autopilot-tui", version, about, long_about = None)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// Runner slots in this process (TUI and `run`), 1 to 64.
    #[arg(long, global = true, value_name = "N", value_parser = parse_agents)]
    pub agents: Option<usize>,
    /// Open the TUI without running agents in this process (only watch).
    #[arg(long)]
    pub no_runner: bool,
    /// Colour theme for the TUI: default, light, mono, or a path to a theme file.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// What to do; without one, the TUI opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--agents N`: a number of slots [`crate::runner::check_slots`] accepts.
fn parse_agents(text: &str) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of agents"))?;
    crate::runner::check_slots(n).map(|()| n)
}

/// Options shared by every command.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The database (default: .autopilot/autopilot.db at the root of the git repo).
    #[arg(long, global = true, env = "AUTOPILOT_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add an issue; prints its id alone on stdout.
    Add {
        /// One-line summary.
        title: String,
        /// Description; `-` reads it from stdin.
        #[arg(long, short)]
        body: Option<String>,
        /// feature, bug, chore or feedback.
        #[arg(long, short, default_value = "feature")]
        kind: Kind,
        /// Higher is worked on first.
        #[arg(long, short, default_value_t = 0, allow_negative_numbers = true)]
        priority: i64,
        /// Hand it off at once (ready instead of backlog).
        #[arg(long)]
        ready: bool,
        /// Only claim it once these issues are done.
        #[arg(long, value_name = "ID")]
        depends_on: Vec<i64>,
    },
    /// List issues.
    List {
        /// Only this status.
        #[arg(long, short)]
        status: Option<Status>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show an issue with its thread and runs.
    Show {
        /// The issue.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Edit an issue's title, body, kind, priority or base branch.
    Edit {
        /// The issue.
        id: i64,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New body; `-` reads it from stdin.
        #[arg(long)]
        body: Option<String>,
        /// New kind.
        #[arg(long)]
        kind: Option<Kind>,
        /// New priority.
        #[arg(long, allow_negative_numbers = true)]
        priority: Option<i64>,
        /// New base branch: the next run starts from it (or merges it in, on an existing
        /// branch). Must be a local branch of the repository.
        #[arg(long, value_name = "BRANCH")]
        base: Option<String>,
    },
    /// Move an issue: `ready` hands it off, `done` accepts it, `backlog` sends it back.
    Move {
        /// The issue.
        id: i64,
        /// Where to.
        status: Status,
    },
    /// Comment on an issue; on a blocked issue this answers it and hands it back to ready.
    Comment {
        /// The issue.
        id: i64,
        /// The text; `-` reads it from stdin.
        text: String,
        /// Who is writing (default: $AUTOPILOT_USER, else $USER).
        #[arg(long)]
        author: Option<String>,
    },
    /// Request changes on an issue in review: the comment goes to the agent, the issue to ready.
    RequestChanges {
        /// The issue.
        id: i64,
        /// What to change; `-` reads it from stdin.
        text: String,
        /// Who is asking.
        #[arg(long)]
        author: Option<String>,
    },
    /// Run agents headless until interrupted (or, with --once, until nothing is ready).
    Run {
        /// Exit once nothing is ready and this process's slots are idle.
        #[arg(long)]
        once: bool,
        /// Also print the agents' output.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Print the transcript of an issue's latest run (or of --run N), readably.
    Log {
        /// The issue.
        id: i64,
        /// A specific run id.
        #[arg(long)]
        run: Option<i64>,
        /// Keep printing new output until the run ends.
        #[arg(long, short)]
        follow: bool,
        /// Print the raw stream-json lines.
        #[arg(long)]
        raw: bool,
    },
    /// Stop the agent working on an issue (in this or any other process on the database).
    Stop {
        /// The issue.
        id: i64,
    },
    /// Pause claiming for every runner on this database; running agents finish.
    Pause,
    /// Resume claiming.
    Resume,
    /// Check git, the agent, the database and the worktrees, and say how to fix what is wrong.
    Doctor,
    /// Remove worktrees of done issues (never one with uncommitted changes) and prune stale ones.
    Gc,
    /// Show the effective configuration and paths, or print a commented sample.
    Config {
        /// Print a commented sample autopilot.toml.
        #[arg(long)]
        sample: bool,
    },
    /// Print every key binding of the TUI, per layer, with `[ui.keys]` overrides applied.
    Keys {
        /// As a Markdown table (the README's).
        #[arg(long)]
        markdown: bool,
    },
}

/// Where a command runs: configuration, and the database once opened.
pub struct Ctx {
    /// The loaded configuration.
    pub config: Config,
}

fn env_var(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// Resolves the repo, the database path and the configuration. Commands that only need the
/// database work outside a repo when `--db` is given.
pub fn context(global: &Global, need_repo: bool) -> anyhow::Result<Ctx> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let repo = match git::repo_root(&cwd) {
        Ok(root) => root,
        Err(e) if need_repo || global.db.is_none() => bail!("{}", e.stderr),
        Err(_) => cwd.clone(),
    };
    let paths = Paths::for_repo(&repo, global.db.clone());
    if global.db.is_none() {
        paths.ensure_state_dir()?;
    }
    let config = Config::load(paths, &env_var)?;
    Ok(Ctx { config })
}

impl Ctx {
    /// Opens the database, redacting what it writes with the configured patterns.
    pub fn store(&self) -> anyhow::Result<Store> {
        let redactor = std::sync::Arc::clone(&self.config.redactor);
        Ok(Store::open_with(&self.config.paths.db, redactor)?)
    }
}

/// `--author` or the user, as a printable single line (it is stored and shown everywhere).
fn human_name(author: Option<String>) -> String {
    author
        .map(|a| one_line(&a))
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| crate::config::user_name(&env_var))
}

/// Refuses a base that is not a local branch of the repository: a run would fail on it.
fn check_base(ctx: &Ctx, base: &str) -> anyhow::Result<()> {
    let repo = &ctx.config.paths.repo_root;
    let name = base.trim();
    if name.is_empty() || !crate::runner::git::is_branch(repo, name) {
        anyhow::bail!(
            "{:?} is not a branch of {}; `git branch --list` shows the branches there",
            crate::runner::sanitize::strip_all(name),
            repo.display()
        );
    }
    Ok(())
}

fn text_arg(text: String) -> anyhow::Result<String> {
    if text == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read stdin")?;
        Ok(s.trim_end_matches('\n').to_string())
    } else {
        Ok(text)
    }
}

/// The stable JSON form of an issue (documented in the README).
pub fn issue_json(i: &Issue) -> Value {
    json!({
        "id": i.id, "title": i.title, "body": i.body, "kind": i.kind, "status": i.status,
        "priority": i.priority, "branch": i.branch, "worktree": i.worktree, "base": i.base,
        "claimed_by": i.claimed_by, "session_id": i.session_id,
        "created_at": format_millis(i.created_at), "updated_at": format_millis(i.updated_at),
    })
}

fn comment_json(c: &Comment) -> Value {
    json!({ "id": c.id, "author": c.author, "author_kind": c.author_kind, "body": c.body,
            "created_at": format_millis(c.created_at) })
}

fn run_json(r: &Run) -> Value {
    json!({ "id": r.id, "agent_id": r.agent_id, "slot": r.slot, "session_id": r.session_id,
            "started_at": format_millis(r.started_at), "ended_at": r.ended_at.map(format_millis),
            "exit_code": r.exit_code, "outcome": r.outcome, "error": r.error, "cost_usd": r.cost_usd,
            "turns": r.turns, "duration_ms": r.duration_ms, "transcript_lines": r.transcript_lines,
            "transcript": r.transcript })
}

/// Runs a non-TUI subcommand.
pub fn dispatch(cli: Cli, command: Command) -> anyhow::Result<()> {
    let need_repo = matches!(command, Command::Run { .. } | Command::Gc);
    if let Command::Config { sample: true } = command {
        std::io::stdout().lock().write_all(SAMPLE.as_bytes())?;
        return Ok(());
    }
    let ctx = context(&cli.global, need_repo)?;
    let mut out = std::io::stdout().lock();
    match command {
        Command::Add {
            title,
            body,
            kind,
            priority,
            ready,
            depends_on,
        } => {
            let body = body.map(text_arg).transpose()?.unwrap_or_default();
            let issue = ctx.store()?.create_issue(
                &NewIssue {
                    title,
                    body,
                    kind,
                    priority,
                    ready,
                    depends_on,
                },
                &human_name(None),
            )?;
            writeln!(out, "{}", issue.id)?;
        }
        Command::List { status, json } => {
            let issues = ctx.store()?.list_issues(status)?;
            if json {
                let arr: Vec<Value> = issues.iter().map(issue_json).collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&arr)?)?;
            } else {
                print_table(&mut out, &issues)?;
            }
        }
        Command::Show { id, json } => {
            let detail = ctx.store()?.issue_detail(id)?;
            if json {
                let mut v = issue_json(&detail.issue);
                v["comments"] = detail.comments.iter().map(comment_json).collect();
                v["runs"] = detail.runs.iter().map(run_json).collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                print_detail(&mut out, &detail)?;
            }
        }
        Command::Edit {
            id,
            title,
            body,
            kind,
            priority,
            base,
        } => {
            let body = body.map(text_arg).transpose()?;
            if let Some(b) = &base {
                check_base(&ctx, b)?;
            }
            let issue = ctx.store()?.update_issue(
                id,
                &IssueEdit {
                    title,
                    body,
                    kind,
                    priority,
                    base,
                },
                &human_name(None),
            )?;
            writeln!(out, "#{} {}", issue.id, one_line(&issue.title))?;
        }
        Command::Move { id, status } => {
            let issue = ctx
                .store()?
                .move_issue(id, status, Actor::Human, &human_name(None))?;
            writeln!(out, "#{} is {}", issue.id, issue.status)?;
        }
        Command::Comment { id, text, author } => {
            let text = text_arg(text)?;
            let (_, issue) =
                ctx.store()?
                    .add_comment(id, &human_name(author), AuthorKind::Human, &text)?;
            writeln!(out, "#{} is {}", issue.id, issue.status)?;
        }
        Command::RequestChanges { id, text, author } => {
            let text = text_arg(text)?;
            let issue = ctx
                .store()?
                .request_changes(id, &human_name(author), &text)?;
            writeln!(out, "#{} is {}", issue.id, issue.status)?;
        }
        Command::Stop { id } => {
            match recovery::stop_issue(&mut ctx.store()?, id, &human_name(None))? {
                Stop::Requested(issue) => writeln!(
                    out,
                    "asked the runner of #{} ({}) to stop it",
                    issue.id,
                    issue
                        .claimed_by
                        .as_deref()
                        .map_or_else(|| "unknown agent".into(), one_line)
                )?,
                Stop::Recovered { issue, why, .. } => writeln!(
                    out,
                    "#{} is {}: {why} The run was closed as interrupted and what it left running was killed.",
                    issue.id, issue.status
                )?,
            }
        }
        Command::Pause | Command::Resume => {
            let pause = matches!(command, Command::Pause);
            ctx.store()?
                .set_paused(pause, &format!("human:{}", human_name(None)))?;
            let said = if pause {
                "claiming paused; running agents finish"
            } else {
                "claiming resumed"
            };
            writeln!(out, "{said}")?;
        }
        Command::Doctor => {
            drop(out);
            if !crate::cli::doctor::run(&ctx.config)? {
                bail!("doctor found problems (see above)");
            }
        }
        Command::Gc => {
            drop(out);
            crate::cli::doctor::gc(&ctx)?;
        }
        Command::Run { once, verbose } => {
            drop(out);
            run_headless(&ctx, cli.agents, once, verbose)?;
        }
        Command::Log {
            id,
            run,
            follow,
            raw,
        } => {
            drop(out);
            print_log(&ctx, id, run, follow, raw)?;
        }
        Command::Keys { markdown } => {
            crate::ui::keymap::print_keys(&mut out, ctx.config.file.ui.keys.as_ref(), markdown)?
        }
        Command::Config { .. } => {
            let c = &ctx.config;
            let s = c.runner_settings(cli.agents);
            writeln!(out, "repository:    {}", c.paths.repo_root.display())?;
            writeln!(out, "database:      {}", c.paths.db.display())?;
            writeln!(out, "worktrees:     {}", c.paths.worktrees.display())?;
            writeln!(out, "logs:          {}", c.paths.logs.display())?;
            writeln!(
                out,
                "repo config:   {}",
                c.paths.repo_root.join(crate::config::REPO_FILE).display()
            )?;
            if let Some(user) = crate::config::user_config_file(&env_var) {
                writeln!(out, "user config:   {}", user.display())?;
            }
            match c.adapter() {
                Ok(a) => writeln!(
                    out,
                    "agent:         {} ({})",
                    a.name(),
                    a.program().display()
                )?,
                Err(e) => writeln!(out, "agent:         {e}")?,
            }
            writeln!(out, "permission:    {}", s.permission_mode)?;
            writeln!(out, "agent id:      {}", s.agent_id)?;
            writeln!(out, "slots:         {}", s.slots)?;
            writeln!(out, "poll:          {}s", s.poll.as_secs())?;
            writeln!(out, "lease:         {}s", s.lease.as_secs())?;
            writeln!(
                out,
                "base branch:   {}",
                s.base_branch.as_deref().unwrap_or("(current branch)")
            )?;
            writeln!(
                out,
                "commit author: {} <{}>",
                one_line(&s.commit_name),
                one_line(&s.commit_email)
            )?;
            writeln!(out, "push + PR:     {}", s.push)?;
        }
    }
    Ok(())
}

fn print_table(out: &mut impl Write, issues: &[Issue]) -> anyhow::Result<()> {
    if issues.is_empty() {
        writeln!(out, "no issues")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>5}  {:<11}  {:<8}  {:>3}  TITLE",
        "ID", "STATUS", "KIND", "PRI"
    )?;
    // Titles come from people and agents: one printable line each, so a row stays a row.
    for i in issues {
        let branch = i
            .branch
            .as_deref()
            .map(|b| format!("  [{}]", one_line(b)))
            .unwrap_or_default();
        writeln!(
            out,
            "{:>5}  {:<11}  {:<8}  {:>3}  {}{branch}",
            i.id,
            i.status.as_str(),
            i.kind.as_str(),
            i.priority,
            one_line(&i.title)
        )?;
    }
    Ok(())
}

/// Everything printed is made printable: titles and bodies come from people and agents,
/// authors and agent ids from `--author`, `AUTOPILOT_USER`, `AUTOPILOT_AGENT_ID` (and older
/// databases hold them as they were given).
fn print_detail(out: &mut impl Write, d: &crate::domain::IssueDetail) -> anyhow::Result<()> {
    let i = &d.issue;
    writeln!(out, "#{} {}", i.id, one_line(&i.title))?;
    writeln!(
        out,
        "status: {}  kind: {}  priority: {}",
        i.status, i.kind, i.priority
    )?;
    if let Some(b) = &i.branch {
        writeln!(
            out,
            "branch: {}  (base {})",
            one_line(b),
            i.base.as_deref().map_or_else(|| "?".into(), one_line)
        )?;
    }
    if let Some(w) = &i.worktree {
        writeln!(out, "worktree: {}", one_line(w))?;
    }
    if let Some(c) = &i.claimed_by {
        writeln!(out, "claimed by: {}", one_line(c))?;
    }
    if !i.body.trim().is_empty() {
        writeln!(out, "\n{}", strip_all(i.body.trim_end()))?;
    }
    if !d.comments.is_empty() {
        writeln!(out, "\n── thread ──")?;
        for c in &d.comments {
            writeln!(
                out,
                "{} ({}) · {}",
                one_line(&c.author),
                c.author_kind,
                format_millis(c.created_at)
            )?;
            for line in strip_all(&c.body).lines() {
                writeln!(out, "  {line}")?;
            }
        }
    }
    if !d.runs.is_empty() {
        writeln!(out, "\n── runs ──")?;
        for r in &d.runs {
            let outcome = r.outcome.map_or("running", |o| o.as_str());
            let cost = r.cost_usd.map(|c| format!(" ${c:.4}")).unwrap_or_default();
            let turns = r.turns.map(|t| format!(" {t} turns")).unwrap_or_default();
            writeln!(
                out,
                "run {} · {} · {outcome}{cost}{turns} · {} lines · {}",
                r.id,
                one_line(&r.agent_id),
                r.transcript_lines,
                format_millis(r.started_at)
            )?;
            if let Some(e) = &r.error {
                writeln!(out, "  error: {}", strip_all(e))?;
            }
        }
    }
    Ok(())
}

/// Transcript lines `log` reads at a time: a stored batch holds up to a few thousand lines
/// and each read starts from the batch holding its first line.
const LOG_BATCH: i64 = 10_000;

fn print_log(ctx: &Ctx, id: i64, run: Option<i64>, follow: bool, raw: bool) -> anyhow::Result<()> {
    let store = ctx.store()?;
    store.issue(id)?;
    let run_id = match run {
        Some(r) => match store.run(r) {
            Ok(found) if found.issue_id == id => r,
            Ok(found) => bail!(
                "run {r} belongs to issue #{}, not #{id}; `autopilot-tui show {id}` lists the runs of #{id}",
                found.issue_id
            ),
            Err(StoreError::RunNotFound(_)) => {
                bail!("run {r} not found; `autopilot-tui show {id}` lists the runs of #{id}")
            }
            Err(e) => return Err(e.into()),
        },
        None => match store.runs(id)?.last() {
            Some(r) => r.id,
            None => bail!("issue #{id} has no runs yet"),
        },
    };
    let colour =
        std::io::stdout().is_terminal() && env_var("NO_COLOR").map_or(true, |v| v.is_empty());
    // Flushed after every batch read (so --follow stays live), not after every line.
    let mut out = std::io::BufWriter::with_capacity(256 << 10, std::io::stdout().lock());
    let mut after = -1;
    // Once the run has ended, one more read takes what was stored between the last read and
    // that check (the run stores all its output before it ends).
    let mut last_pass = !follow;
    loop {
        let lines = store.transcript(run_id, after, LOG_BATCH)?;
        for l in &lines {
            after = l.seq;
            if raw {
                out.write_all(&l.line)?;
                out.write_all(b"\n")?;
                continue;
            }
            for ev in parse_line(&l.line) {
                for dl in display_lines(&ev) {
                    let text = if colour { dl.text } else { strip_all(&dl.text) };
                    writeln!(out, "{text}")?;
                }
            }
        }
        out.flush()?;
        if lines.len() as i64 == LOG_BATCH {
            continue;
        }
        if last_pass {
            break;
        }
        if store.run(run_id)?.ended_at.is_some() {
            last_pass = true;
            continue;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    Ok(())
}

/// Logs to `.autopilot/logs/autopilot.log` (never the terminal); level from `AUTOPILOT_LOG`.
pub fn init_logging(paths: &Paths) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(&paths.logs).ok()?;
    let appender = tracing_appender::rolling::never(&paths.logs, "autopilot.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUTOPILOT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}

fn run_headless(ctx: &Ctx, agents: Option<usize>, once: bool, verbose: bool) -> anyhow::Result<()> {
    let _log = init_logging(&ctx.config.paths);
    let settings = ctx.config.runner_settings(agents);
    let adapter = ctx.config.adapter()?;
    // The database must be usable before anything is claimed.
    drop(ctx.store()?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (ev_tx, mut ev_rx) = tokio::sync::mpsc::unbounded_channel();
        let (_cmd_tx, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
        let cancel = tokio_util::sync::CancellationToken::new();
        let runner = Runner::new(settings, adapter, ev_tx);
        let task = tokio::spawn(runner.run(once, cmd_rx, cancel.clone()));
        let printer = tokio::spawn(async move {
            let mut err = std::io::stderr();
            while let Some(ev) = ev_rx.recv().await {
                let line = match ev {
                    RunnerEvent::RunStarted { slot, issue_id, title, agent_id, run_id } => {
                        Some(format!("[slot {}] #{issue_id} {} — started run {run_id} as {}", slot + 1, one_line(&title), one_line(&agent_id)))
                    }
                    RunnerEvent::RunFinished { slot, issue_id, outcome, status, summary, .. } => Some(format!(
                        "[slot {}] #{issue_id} {outcome} → {status}{}",
                        slot + 1,
                        if summary.is_empty() { String::new() } else { format!(": {}", strip_all(&summary)) }
                    )),
                    RunnerEvent::Output { slot, lines, .. } if verbose => {
                        for l in lines {
                            let _ = writeln!(err, "[slot {}]   {}", slot + 1, strip_all(&l.text));
                        }
                        None
                    }
                    RunnerEvent::Problem(p) => Some(format!("error: {p}")),
                    RunnerEvent::Paused(p) => Some(if p { "claiming paused".into() } else { "claiming resumed".into() }),
                    _ => None,
                };
                if let Some(line) = line {
                    let _ = writeln!(err, "{line}");
                }
            }
        });
        let interrupted = {
            let cancel = cancel.clone();
            async move {
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => {}
                }
                cancel.cancel();
            }
        };
        let watcher = tokio::spawn(interrupted);
        let result = task.await.context("runner task failed")?;
        watcher.abort();
        let _ = printer.await;
        result
    })
}
