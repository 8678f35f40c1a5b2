//! The command line: the non-TUI subcommands. Their shape is in `args`, what they print in
//! `output`, `log` and `run` in their own modules.

use std::io::{Read, Write};

use anyhow::{bail, Context};

use crate::config::{Config, Paths, SAMPLE};
use crate::domain::sanitize::{one_line, strip_all};
use crate::domain::{Actor, AgentKind, AuthorKind, Effort, ListedIssue, Millis, Printable, Status};
use crate::runner::{git, recovery, review};
use crate::store::sql::StoreUrl;
use crate::store::{IssueEdit, NewIssue, Stop, Store};

pub mod doctor;

mod answer;
mod args;
mod diff;
mod headless;
mod import;
mod learnings;
mod log;
mod migrate;
mod output;
mod search;
mod serve;
mod stats;
mod templates;

pub use args::{Cli, Command, Global, ImportSource, LearningsAction};
pub use headless::init_logging;
pub use serve::api_server;

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
    let (repo, in_repo) = match git::repo_root(&cwd) {
        Ok(root) => (root, true),
        Err(e) if need_repo || global.db.is_none() => bail!("{}", e.stderr),
        Err(_) => (cwd.clone(), false),
    };
    let db = global
        .db
        .as_deref()
        .map(|text| {
            text.parse::<StoreUrl>()
                .map_err(|e| anyhow::anyhow!("--db / AUTOPILOT_DB: {e}"))
        })
        .transpose()?;
    let shared = matches!(db, Some(StoreUrl::Postgres(_)));
    let paths = Paths::for_repo(&repo, db);
    // A shared server keeps only the queue: this clone's worktrees and logs live here.
    if global.db.is_none() || (shared && in_repo) {
        paths.ensure_state_dir()?;
    }
    let config = Config::load(paths, &env_var)?;
    Ok(Ctx { config })
}

impl Ctx {
    /// Opens the database, redacting what it writes with the configured patterns.
    pub fn store(&self) -> anyhow::Result<Store> {
        let redactor = std::sync::Arc::clone(&self.config.redactor);
        Ok(Store::open_url(&self.config.paths.db, redactor)?)
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
            crate::domain::sanitize::strip_all(name),
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

/// Accepts an issue through the one path the TUI uses too; prints what was merged and what
/// cleaning up did.
fn accept(ctx: &Ctx, out: &mut impl Write, id: i64, no_merge: bool) -> anyhow::Result<()> {
    let settings = ctx.config.accept_settings();
    let done = review::accept::accept(&settings, id, &human_name(None), no_merge)
        .map_err(|e| anyhow::anyhow!("{}", strip_all(&e.to_string())))?;
    writeln!(out, "#{id} is done. {}", strip_all(&done.merged))?;
    for note in &done.notes {
        writeln!(out, "  {}", one_line(note))?;
    }
    Ok(())
}

/// Runs a non-TUI subcommand.
pub fn dispatch(cli: Cli, command: Command) -> anyhow::Result<()> {
    let need_repo = matches!(
        command,
        Command::Run { .. }
            | Command::Split { .. }
            | Command::Gc
            | Command::Diff { .. }
            | Command::Accept { .. }
            | Command::Move {
                status: Status::Done,
                ..
            }
    );
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
            model,
            effort,
            budget,
            parent,
            assignee,
            agent,
            at,
            every,
            template,
        } => {
            let template = templates::template_arg(&ctx, template, "added")?.flatten();
            let budget_usd = budget
                .as_deref()
                .map(|b| budget_arg(b, "added"))
                .transpose()?
                .flatten();
            let (not_before, every_ms) = schedule_args(at.as_deref(), every.as_deref(), "added")?;
            let body = body.map(text_arg).transpose()?.unwrap_or_default();
            let issue = ctx.store()?.create_issue(
                &NewIssue {
                    title,
                    body,
                    kind,
                    priority,
                    ready,
                    depends_on,
                    model,
                    effort,
                    budget_usd,
                    parent,
                    assignee,
                    agent,
                    template,
                    source_url: None,
                    not_before: not_before.flatten(),
                    every_ms: every_ms.flatten(),
                },
                &human_name(None),
            )?;
            writeln!(out, "{}", issue.id)?;
        }
        Command::List {
            status,
            archived,
            json,
        } => {
            let store = ctx.store()?;
            let issues = if archived {
                store.list_archived()?
            } else {
                store.list_issues(status)?
            };
            if json {
                let ids: Vec<i64> = issues.iter().map(|i| i.id).collect();
                let mut deps = store.dependencies_of(&ids)?;
                let listed: Vec<ListedIssue> = issues
                    .into_iter()
                    .map(|issue| ListedIssue {
                        depends_on: deps.remove(&issue.id).unwrap_or_default(),
                        issue,
                    })
                    .collect();
                writeln!(out, "{}", output::json_text(&listed)?)?;
            } else {
                output::print_table(&mut out, issues)?;
            }
        }
        Command::Show { id, json } => {
            let detail = ctx.store()?.issue_detail(id)?;
            if json {
                writeln!(out, "{}", output::json_text(&detail)?)?;
            } else {
                output::print_detail(&mut out, detail)?;
            }
        }
        Command::Edit {
            id,
            title,
            body,
            kind,
            priority,
            base,
            model,
            effort,
            budget,
            parent,
            assignee,
            agent,
            at,
            every,
            template,
        } => {
            let template = templates::template_arg(&ctx, template, "changed")?;
            let body = body.map(text_arg).transpose()?;
            let (not_before, every_ms) = schedule_args(at.as_deref(), every.as_deref(), "changed")?;
            // An empty value clears the issue's own agent.
            let agent = match agent.as_deref().map(str::trim) {
                None => None,
                Some("") => Some(None),
                Some(a) => Some(Some(a.parse::<AgentKind>()?)),
            };
            let parent = parent.as_deref().map(parent_arg).transpose()?;
            let budget_usd = budget
                .as_deref()
                .map(|b| budget_arg(b, "changed"))
                .transpose()?;
            // An empty value clears the issue's own setting.
            let effort = match effort.as_deref().map(str::trim) {
                None => None,
                Some("") => Some(None),
                Some(e) => Some(Some(e.parse::<Effort>()?)),
            };
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
                    model: model.map(|m| Some(m).filter(|m| !m.trim().is_empty())),
                    effort,
                    budget_usd,
                    parent,
                    // Blank clears it (the store reads a blank name as nobody).
                    assignee: assignee.map(Some),
                    agent,
                    not_before,
                    every_ms,
                    template,
                },
                &human_name(None),
            )?;
            let issue = issue.printable();
            writeln!(out, "#{} {}", issue.id, issue.title)?;
        }
        Command::Accept { id, no_merge } => accept(&ctx, &mut out, id, no_merge)?,
        Command::Depend { id, on } => {
            let line = if ctx.store()?.add_dependency(id, on, &human_name(None))? {
                format!("#{id} now waits on #{on}")
            } else {
                format!("#{id} already waits on #{on} (nothing changed)")
            };
            writeln!(out, "{line}")?;
        }
        Command::Undepend { id, on } => {
            let line = if ctx.store()?.remove_dependency(id, on, &human_name(None))? {
                format!("#{id} no longer waits on #{on}")
            } else {
                format!("#{id} does not wait on #{on} (nothing changed)")
            };
            writeln!(out, "{line}")?;
        }
        Command::Archive { id } => {
            let line = if ctx.store()?.archive_issue(id, &human_name(None))? {
                format!("#{id} archived (`autopilot-tui show {id}` still shows it)")
            } else {
                format!("#{id} was archived already (nothing changed)")
            };
            writeln!(out, "{line}")?;
        }
        Command::Unarchive { id } => {
            let line = if ctx.store()?.unarchive_issue(id, &human_name(None))? {
                format!("#{id} is back in done")
            } else {
                format!("#{id} is not archived (nothing changed)")
            };
            writeln!(out, "{line}")?;
        }
        Command::Delete { id } => {
            let gone = ctx
                .store()?
                .delete_issue(id, &human_name(None))?
                .printable();
            writeln!(out, "#{id} deleted: {}", gone.title)?;
        }
        Command::Move {
            id,
            status: Status::Done,
        } => accept(&ctx, &mut out, id, false)?,
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
        Command::Answer { id, fields, author } => {
            answer::answer(&ctx, &mut out, id, &fields, &human_name(author))?
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
                Stop::Requested(issue) => {
                    let issue = issue.printable();
                    writeln!(
                        out,
                        "asked the runner of #{} ({}) to stop it",
                        issue.id,
                        issue.claimed_by.as_deref().unwrap_or("unknown agent")
                    )?
                }
                Stop::Recovered { issue, why, .. } => writeln!(
                    out,
                    "#{} is {}: {why} The run was closed as interrupted and what it left running was killed.",
                    issue.id, issue.status
                )?,
            }
        }
        Command::Stats { since, json } => stats::print_stats(&ctx, &mut out, since, json)?,
        Command::Pause | Command::Resume => {
            let pause = matches!(command, Command::Pause);
            ctx.store()?
                .set_paused(pause, Actor::Human, &human_name(None))?;
            let said = if pause {
                "claiming paused; running agents finish"
            } else {
                "claiming resumed"
            };
            writeln!(out, "{said}")?;
        }
        Command::Migrate { to } => migrate::run(&ctx, &mut out, &to)?,
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
        Command::Split { id } => headless::split(&ctx, &mut out, id)?,
        Command::Run {
            once,
            verbose,
            allow_second_runner,
        } => {
            drop(out);
            headless::run_headless(
                &ctx,
                cli.agents,
                once,
                verbose,
                cli.listen.as_deref(),
                allow_second_runner,
            )?;
        }
        Command::Serve => {
            drop(out);
            serve::serve(&ctx, cli.listen.as_deref())?;
        }
        Command::Attach => bail!("`attach` opens the TUI; nothing to run here"),
        Command::Log {
            id,
            run,
            follow,
            raw,
        } => {
            drop(out);
            log::print_log(&ctx, id, run, follow, raw)?;
        }
        Command::Diff { id, stat } => {
            drop(out);
            diff::print_diff(&ctx, id, stat)?;
        }
        Command::Learnings { action, json } => match action {
            None => learnings::print_learnings(&ctx, &mut out, json)?,
            Some(LearningsAction::Rm { id }) => {
                ctx.store()?.remove_learning(id, &human_name(None))?;
                writeln!(out, "learning #{id} deleted")?;
            }
            Some(LearningsAction::Edit { id, text }) => {
                let text = text_arg(text)?;
                let l = ctx.store()?.edit_learning(id, &text, &human_name(None))?;
                writeln!(out, "learning #{id}: {}", one_line(&l.text))?;
            }
        },
        Command::Templates { json } => templates::print_templates(&ctx, &mut out, json)?,
        Command::Search { query, json, limit } => {
            search::print_search(&ctx, &mut out, &query, i64::from(limit), json)?;
        }
        Command::Import(ImportSource::Github { label, repo, limit }) => {
            import::github(&ctx, &mut out, label.as_deref(), repo.as_deref(), limit)?;
        }
        Command::Keys { markdown } => {
            crate::ui::keymap::print_keys(&mut out, ctx.config.file.ui.keys.as_ref(), markdown)?
        }
        Command::Config { .. } => {
            let c = &ctx.config;
            let s = c.runner_settings(cli.agents);
            writeln!(out, "repository:    {}", c.paths.repo_root.display())?;
            writeln!(out, "database:      {}", c.paths.db)?;
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

/// Reads `edit --parent`: an issue id (`#` allowed), or `none` to make it top-level again.
fn parent_arg(text: &str) -> anyhow::Result<Option<i64>> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match t.trim_start_matches('#').parse::<i64>() {
        Ok(id) => Ok(Some(id)),
        Err(_) => anyhow::bail!(
            "--parent {:?}: give an issue id, like 12, or `none` (nothing was changed)",
            crate::domain::sanitize::one_line(text)
        ),
    }
}

/// A field an edit may set, clear (`Some(None)`) or leave (`None`).
type Change<T> = Option<Option<T>>;

/// Reads `--at` and `--every` (`Some(None)`: cleared), with the accepted forms in the error.
fn schedule_args(
    at: Option<&str>,
    every: Option<&str>,
    what: &str,
) -> anyhow::Result<(Change<Millis>, Change<Millis>)> {
    use crate::domain::schedule::{parse_at, parse_every};
    let not_before = at
        .map(|t| parse_at(t, crate::domain::now_millis()))
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e} (nothing was {what})"))?;
    let every_ms = every
        .map(parse_every)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e} (nothing was {what})"))?;
    Ok((not_before, every_ms))
}

/// Reads `--budget`: dollars above zero, or `none` (or nothing) to clear the issue's own cap.
fn budget_arg(text: &str, what: &str) -> anyhow::Result<Option<f64>> {
    crate::domain::cap::parse_cap(text).map_err(|crate::domain::cap::NotACap| {
        anyhow::anyhow!(
            "--budget {:?}: a cap is a positive number of US dollars, like 5 or 2.50, or `none` to \
             go back to [budget] per_issue_usd (nothing was {what})",
            crate::domain::sanitize::one_line(text)
        )
    })
}
