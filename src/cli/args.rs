//! The command line's shape: clap's definitions of every command and option.

use clap::{Args, Parser, Subcommand};

use crate::domain::{AgentKind, Effort, Kind, Status};

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
    /// Open the TUI without running agents in this process: attach to the agents other
    /// processes run (a headless `run`), show their panes, stop them with `x`.
    #[arg(long)]
    pub no_runner: bool,
    /// Serve the HTTP API on IP:PORT from this process too (TUI, `run`, `serve`; default
    /// `[api] listen`, for `serve` else 127.0.0.1:7777).
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
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

/// `--since DATE`: a local day, refused with the format it expects.
fn parse_since(text: &str) -> Result<jiff::civil::Date, String> {
    crate::domain::clock::parse_day(text)
}

/// Options shared by every command.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The store: an SQLite file (a path or sqlite://PATH; default .autopilot/autopilot.db at
    /// the root of the git repo) or a PostgreSQL database several boxes share
    /// (postgres://USER@HOST/DB).
    // Read as text and parsed by `cli::context`, so a URL's password never reaches clap's
    // messages or `--help` (which would print the environment's value).
    #[arg(
        long,
        global = true,
        env = "AUTOPILOT_DB",
        hide_env_values = true,
        value_name = "PATH|URL"
    )]
    pub db: Option<String>,
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
        /// The model its runs use (default: `[agent.models]` for its kind, then `[agent] model`).
        #[arg(long, value_name = "NAME")]
        model: Option<String>,
        /// low, medium, high, xhigh or max (Claude Code's `--effort`).
        #[arg(long, value_name = "LEVEL")]
        effort: Option<Effort>,
        /// Its own spending cap in US dollars (default: `[budget] per_issue_usd`).
        #[arg(long, value_name = "USD", allow_negative_numbers = true)]
        budget: Option<String>,
        /// Make it a subtask of this issue (not done); the parent is not claimed while it has
        /// open subtasks.
        #[arg(long, value_name = "ID")]
        parent: Option<i64>,
        /// Who it is assigned to (a name).
        #[arg(long, value_name = "NAME")]
        assignee: Option<String>,
        /// claude, codex or command (default: `[agent] kind`).
        #[arg(long, value_name = "AGENT")]
        agent: Option<AgentKind>,
        /// Not claimed before this time: RFC 3339 (2026-12-24T09:00:00+01:00) or relative
        /// (+30m, +2h, +1d); a time in the past is claimable at once.
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        at: Option<String>,
        /// When done, queue a fresh copy for the next occurrence (30m, 12h, 1d, 1w).
        #[arg(long, value_name = "DURATION")]
        every: Option<String>,
        /// The prompt template its runs use (default: `[templates]` for its kind, then
        /// `[templates] default`); see `templates`.
        #[arg(long, value_name = "NAME")]
        template: Option<String>,
    },
    /// List issues (those on the board; `--archived`: the archived ones instead).
    List {
        /// Only this status.
        #[arg(long, short)]
        status: Option<Status>,
        /// List the archived issues, the most recently archived first.
        #[arg(long, conflicts_with = "status")]
        archived: bool,
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
    /// Edit an issue's title, body, kind, priority, base branch, model, effort or assignee.
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
        /// New model; `""` goes back to the configured one.
        #[arg(long, value_name = "NAME")]
        model: Option<String>,
        /// New effort: low, medium, high, xhigh or max; `""` goes back to the configured one.
        #[arg(long, value_name = "LEVEL")]
        effort: Option<String>,
        /// Its own spending cap in US dollars (an issue at or over it is not run again);
        /// `none` goes back to `[budget] per_issue_usd`.
        #[arg(long, value_name = "USD", allow_negative_numbers = true)]
        budget: Option<String>,
        /// Make it a subtask of this issue; `none` makes it a top-level issue again.
        #[arg(long, value_name = "ID|none")]
        parent: Option<String>,
        /// Who it is assigned to; `""` leaves it unassigned.
        #[arg(long, value_name = "NAME")]
        assignee: Option<String>,
        /// claude, codex or command; `""` goes back to `[agent] kind`.
        #[arg(long, value_name = "AGENT")]
        agent: Option<String>,
        /// Not claimed before this time: RFC 3339 or relative (+30m, +2h, +1d); `""` or
        /// `none` makes it claimable at once.
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        at: Option<String>,
        /// When done, queue a fresh copy this long after (30m, 12h, 1d, 1w); `none` stops it.
        #[arg(long, value_name = "DURATION")]
        every: Option<String>,
        /// The prompt template its runs use; `""` goes back to `[templates]`.
        #[arg(long, value_name = "NAME")]
        template: Option<String>,
    },
    /// Make an issue wait until another is done (refused if it would close a cycle).
    Depend {
        /// The issue that waits.
        id: i64,
        /// The issue it waits for.
        #[arg(long, value_name = "OTHER")]
        on: i64,
    },
    /// Stop an issue waiting for another.
    Undepend {
        /// The issue that waits.
        id: i64,
        /// The issue it no longer waits for.
        #[arg(long, value_name = "OTHER")]
        on: i64,
    },
    /// Move an issue: `ready` hands it off, `done` accepts it, `backlog` sends it back.
    Move {
        /// The issue.
        id: i64,
        /// Where to.
        status: Status,
    },
    /// Accept an issue in review: merge its branch into its base as `[merge] policy` says, then
    /// mark it done (the same as `move ID done`). A conflict or a dirty checkout of the base
    /// changes nothing and exits non-zero.
    Accept {
        /// The issue.
        id: i64,
        /// Mark it done without merging anything (as `[merge] policy = "none"`).
        #[arg(long)]
        no_merge: bool,
    },
    /// Archive a done issue: it leaves the board and `list`, and stays reachable by id.
    Archive {
        /// The issue.
        id: i64,
    },
    /// Put an archived issue back in the done column.
    Unarchive {
        /// The issue.
        id: i64,
    },
    /// Delete a backlog issue that never ran (anything else is archived once done, never
    /// deleted), with its comments.
    Delete {
        /// The issue.
        id: i64,
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
    /// Answer a blocked issue's fields (its `NEEDS:` lines): `NAME=VALUE` each; a value `-`
    /// is read from stdin (one line per such field, in order), so secrets stay out of shell
    /// history. Without fields, lists the ones the issue asks for.
    Answer {
        /// The issue.
        id: i64,
        /// `NAME=VALUE`, one per field.
        fields: Vec<String>,
        /// Who is answering (default: $AUTOPILOT_USER, else $USER).
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
    /// Ask a planner agent to split an issue into subtasks (created in backlog, none handed
    /// off); prints their ids.
    Split {
        /// The issue.
        id: i64,
    },
    /// Run agents headless until interrupted (or, with --once, until nothing is ready).
    Run {
        /// Exit once nothing is ready and this process's slots are idle.
        #[arg(long)]
        once: bool,
        /// Also print the agents' output.
        #[arg(long, short)]
        verbose: bool,
        /// Run even though another runner holds this database's runner lock.
        #[arg(long)]
        allow_second_runner: bool,
    },
    /// Open the TUI attached: no runner in this process (the same as `--no-runner`); it shows
    /// and stops the agents a headless `run` runs, and quitting leaves them running.
    Attach,
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
    /// Serve the HTTP API (see the README's "serve" section) until interrupted; prints the
    /// address it listens on and where its token is.
    Serve,
    /// Search titles, bodies, comments and transcripts (SQLite FTS5 query syntax: words,
    /// "a phrase", prefix*, AND / OR / NOT).
    Search {
        /// What to look for.
        query: String,
        /// Print the hits as JSON.
        #[arg(long)]
        json: bool,
        /// At most this many hits, best first (1 to 1000: each hit builds a snippet).
        #[arg(long, short = 'n', default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Show an issue's change against its merge base with its base branch (committed work only).
    Diff {
        /// The issue.
        id: i64,
        /// Only the files with their +/- counts and the totals, like `git diff --stat`.
        #[arg(long)]
        stat: bool,
    },
    /// Stop the agent working on an issue (in this or any other process on the database).
    Stop {
        /// The issue.
        id: i64,
    },
    /// Where the money and the hours went: spend per day, outcome, model and agent, the
    /// costliest issues, flow times. Days are local (`TZ`, else the system's zone).
    Stats {
        /// Count from the start of this local day (YYYY-MM-DD) on.
        #[arg(long, value_name = "DATE", value_parser = parse_since)]
        since: Option<jiff::civil::Date>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the prompt templates (`.autopilot/templates/NAME.md`, then the user's) and
    /// `[templates]`.
    Templates {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List what earlier runs learned (their `LEARNED:` lines), which later prompts carry;
    /// `learnings rm ID` deletes one, `learnings edit ID TEXT` rewrites one.
    Learnings {
        /// Delete or rewrite one instead of listing.
        #[command(subcommand)]
        action: Option<LearningsAction>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pause claiming for every runner on this database; running agents finish.
    Pause,
    /// Resume claiming.
    Resume,
    /// Check git, the agent, the database and the worktrees, and say how to fix what is wrong.
    Doctor,
    /// Copy this SQLite queue (issues, comments, runs, transcripts, events and the rest) into an
    /// empty PostgreSQL database, checking every table's count; the SQLite file is only read.
    Migrate {
        /// The PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Remove worktrees of done issues (never one with uncommitted changes) and prune stale ones.
    Gc,
    /// Show the effective configuration and paths, or print a commented sample.
    Config {
        /// Print a commented sample autopilot.toml.
        #[arg(long)]
        sample: bool,
    },
    /// Import issues from elsewhere as backlog issues (a second import adds nothing).
    #[command(subcommand)]
    Import(ImportSource),
    /// Print every key binding of the TUI, per layer, with `[ui.keys]` overrides applied.
    Keys {
        /// As a Markdown table (the README's).
        #[arg(long)]
        markdown: bool,
    },
}

/// Where `import` reads issues from.
#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// Open GitHub issues, through the GitHub CLI (`gh issue list`).
    Github {
        /// Only issues with this label.
        #[arg(long, value_name = "LABEL")]
        label: Option<String>,
        /// OWNER/NAME (default: the repository `gh` finds from the current directory).
        #[arg(long, value_name = "OWNER/NAME")]
        repo: Option<String>,
        /// At most this many issues (1 to 1000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
}

/// What `learnings` does besides listing.
#[derive(Debug, Subcommand)]
pub enum LearningsAction {
    /// Delete a learning: later prompts no longer carry it.
    Rm {
        /// The learning (the number `learnings` shows).
        #[arg(value_parser = parse_learning_id)]
        id: i64,
    },
    /// Replace a learning's text (made one line; secrets redacted).
    Edit {
        /// The learning (the number `learnings` shows).
        #[arg(value_parser = parse_learning_id)]
        id: i64,
        /// The new text; `-` reads it from stdin.
        text: String,
    },
}

/// A learning's id: a positive number, `#` allowed.
fn parse_learning_id(text: &str) -> Result<i64, String> {
    match text.trim().trim_start_matches('#').parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(format!(
            "{:?} is not a learning id: give the number `autopilot-tui learnings` shows, like 3",
            crate::domain::sanitize::one_line(text)
        )),
    }
}
