//! Plain data: issues, comments, runs and their enums.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::Millis;

/// A value that is not one of an enum's spellings; the message lists the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{given}' (expected one of: {expected})")]
pub struct ParseEnumError {
    what: &'static str,
    given: String,
    expected: String,
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and printed spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let norm = s.trim().to_ascii_lowercase().replace('-', "_");
                match norm.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseEnumError {
                        what: $what,
                        given: s.to_string(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}

string_enum!(
    /// Where an issue is on the board; the six columns, left to right.
    Status, "status", {
        /// Written down, not yet handed to agents.
        Backlog => "backlog",
        /// Handed off: any agent slot may claim it.
        Ready => "ready",
        /// Claimed by an agent that is working on it.
        InProgress => "in_progress",
        /// The agent asked a question or failed; a human must act.
        Blocked => "blocked",
        /// Implemented on its branch, waiting for a human review.
        InReview => "in_review",
        /// Accepted.
        Done => "done",
    }
);

string_enum!(
    /// What sort of work an issue is.
    Kind, "kind", {
        /// New behaviour.
        Feature => "feature",
        /// Something broken.
        Bug => "bug",
        /// Maintenance.
        Chore => "chore",
        /// Feedback from a user or reviewer.
        Feedback => "feedback",
    }
);

string_enum!(
    /// Who performs a state change.
    Actor, "actor", {
        /// A person at the keyboard or a script acting for one.
        Human => "human",
        /// An agent slot of a runner.
        Agent => "agent",
        /// The runner's own housekeeping (expired leases, failures, stops).
        System => "system",
    }
);

string_enum!(
    /// Who wrote a comment.
    AuthorKind, "author kind", {
        /// A person.
        Human => "human",
        /// An agent's words (its question or its summary).
        Agent => "agent",
        /// The runner explaining what happened.
        System => "system",
    }
);

string_enum!(
    /// How a run ended.
    RunOutcome, "outcome", {
        /// Changes committed; the issue went to review.
        Implemented => "implemented",
        /// The agent asked a question.
        Blocked => "blocked",
        /// The agent finished with neither changes nor a question.
        NoChanges => "no_changes",
        /// The agent or the runner failed.
        Failed => "failed",
        /// A person (or a limit) stopped it.
        Stopped => "stopped",
        /// Its process vanished (crash, kill, expired lease).
        Interrupted => "interrupted",
        /// A completion check exited 0.
        Passed => "passed",
        /// A reviewer run approved the change.
        Approved => "approved",
        /// A reviewer run asked for changes (or answered neither way).
        ChangesRequested => "changes_requested",
        /// A planner run answered with subtasks (`split`).
        Planned => "planned",
        /// An analyst run diagnosed a failed run before its retry.
        Analyzed => "analyzed",
    }
);

string_enum!(
    /// What a run does for its issue.
    RunRole, "run role", {
        /// The agent works on the issue.
        Implement => "implement",
        /// A completion check runs on the committed change.
        Check => "check",
        /// A reviewer agent reads the change.
        Review => "review",
        /// A planner agent splits the issue into subtasks (`split`).
        Plan => "plan",
        /// `[worktree] setup` runs in a new worktree before the agent.
        Setup => "setup",
        /// A cheap model diagnoses a failed run before it is retried (`[runner] retry = "analyze"`).
        Analyze => "analyze",
        /// A custom persona of the `[pipeline]` (its name is the run's `persona`).
        Persona => "persona",
    }
);

string_enum!(
    /// Why a run failed, for retries and `stats`.
    FailureClass, "failure class", {
        /// The API answered with an error (overloaded, 5xx, a refused request).
        ApiError => "api_error",
        /// A rate or usage limit (the queue holds; never retried by `[runner] retry`).
        RateLimit => "rate_limit",
        /// The agent exited non-zero (or was killed) without a result.
        Crash => "crash",
        /// No output for `[runner] stall_minutes`.
        Stalled => "stalled",
        /// Ran past `[runner] max_run_minutes` (or a check past its timeout).
        Timeout => "timeout",
        /// A completion check failed.
        ChecksFailed => "checks_failed",
        /// The agent finished with neither changes nor a question.
        NoChanges => "no_changes",
        /// A spending cap stopped it.
        Budget => "budget",
        /// A person stopped it, or its claim was lost.
        Stopped => "stopped",
    }
);

impl RunRole {
    /// Whether the run is a shell command's (a check, the setup), whose output is plain text.
    pub fn is_command(self) -> bool {
        matches!(self, RunRole::Check | RunRole::Setup)
    }
}

string_enum!(
    /// How hard the agent thinks (Claude Code's `--effort`).
    Effort, "effort", {
        /// Quickest.
        Low => "low",
        /// Between.
        Medium => "medium",
        /// Thorough.
        High => "high",
        /// More thorough.
        Xhigh => "xhigh",
        /// The most.
        Max => "max",
    }
);

string_enum!(
    /// Which agent CLI runs an issue (`[agent] kind`, an issue's `--agent`).
    AgentKind, "agent", {
        /// Claude Code.
        Claude => "claude",
        /// OpenAI's Codex CLI.
        Codex => "codex",
        /// Any command line (`[agent] kind = "command"`).
        Command => "command",
    }
);

// The macro cannot derive Default for just one of its enums.
#[allow(clippy::derivable_impls)]
impl Default for Kind {
    fn default() -> Self {
        Kind::Feature
    }
}

// The `Serialize` forms of the types below are the CLI's stable JSON (`list --json`, `show
// --json`, pinned by a test): times are RFC 3339 UTC strings, and what only the store needs is
// left out.

fn rfc3339<S: serde::Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&super::format_millis(*ms))
}

fn is_set<S: serde::Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(ms.is_some())
}

fn rfc3339_opt<S: serde::Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => rfc3339(ms, s),
        None => s.serialize_none(),
    }
}

fn every_opt<S: serde::Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&super::schedule::format_every(*ms)),
        None => s.serialize_none(),
    }
}

/// One unit of work on the board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    /// Stable numeric id (`#12`).
    pub id: i64,
    /// One-line summary.
    pub title: String,
    /// Free-form description, Markdown by convention.
    pub body: String,
    /// Feature, bug, chore or feedback.
    pub kind: Kind,
    /// Board column.
    pub status: Status,
    /// Higher is claimed first.
    pub priority: i64,
    /// Agent id holding the claim while in progress.
    pub claimed_by: Option<String>,
    /// Claim lease expiry (epoch ms) while in progress.
    #[serde(skip)]
    pub lease_until: Option<Millis>,
    /// Git branch the agent works on, once a run has started.
    pub branch: Option<String>,
    /// Worktree path, once a run has started.
    pub worktree: Option<String>,
    /// Branch the work started from.
    pub base: Option<String>,
    /// Latest agent session, resumed by the next run.
    pub session_id: Option<String>,
    /// The size of the change when the issue last went to review (None before that).
    pub diff: Option<DiffStat>,
    /// The model its runs use (None: its kind's, then the configured default).
    pub model: Option<String>,
    /// The effort its runs use (None: the configured default, if any).
    pub effort: Option<Effort>,
    /// Its own spending cap in US dollars (None: `[budget] per_issue_usd`, if any).
    pub budget_usd: Option<f64>,
    /// The issue this one is a subtask of.
    pub parent: Option<i64>,
    /// Who it is assigned to (a name; None: nobody).
    pub assignee: Option<String>,
    /// When it was archived (None: it is on the board). JSON: `archived`, true or false.
    #[serde(rename = "archived", serialize_with = "is_set")]
    pub archived_at: Option<Millis>,
    /// The agent its runs use (None: `[agent] kind`).
    pub agent: Option<AgentKind>,
    /// The prompt template its runs use (None: `[templates]` for its kind, then the default).
    pub template: Option<String>,
    /// Where it was imported from (a GitHub issue's address).
    pub source_url: Option<String>,
    /// The pull request its branch was pushed to.
    pub pr_url: Option<String>,
    /// Not claimed before this time (epoch ms; `--at`). JSON: RFC 3339 or null.
    #[serde(serialize_with = "rfc3339_opt")]
    pub not_before: Option<Millis>,
    /// When done, a copy is queued this long after (ms; `--every`). JSON: `repeats_every`,
    /// as typed (`1d`) or null.
    #[serde(rename = "repeats_every", serialize_with = "every_opt")]
    pub every_ms: Option<Millis>,
    /// The repeating issue this one is the next occurrence of.
    pub previous: Option<i64>,
    /// Creation time (epoch ms).
    #[serde(serialize_with = "rfc3339")]
    pub created_at: Millis,
    /// Last change (epoch ms).
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: Millis,
}

#[cfg(test)]
impl Issue {
    /// An issue for unit tests: everything optional empty, times zero.
    pub(crate) fn sample(id: i64, title: &str, kind: Kind, status: Status) -> Issue {
        Issue {
            id,
            title: title.into(),
            body: String::new(),
            kind,
            status,
            priority: 0,
            claimed_by: None,
            lease_until: None,
            branch: None,
            worktree: None,
            base: None,
            session_id: None,
            diff: None,
            model: None,
            effort: None,
            budget_usd: None,
            parent: None,
            assignee: None,
            archived_at: None,
            agent: None,
            template: None,
            source_url: None,
            pr_url: None,
            not_before: None,
            every_ms: None,
            previous: None,
            created_at: 0,
            updated_at: 0,
        }
    }
}

/// One message in an issue's thread.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comment {
    /// Row id.
    pub id: i64,
    /// The issue it belongs to.
    #[serde(skip)]
    pub issue_id: i64,
    /// Name of the person or agent id.
    pub author: String,
    /// Human, agent or system.
    pub author_kind: AuthorKind,
    /// The text.
    pub body: String,
    /// When it was written (epoch ms).
    #[serde(serialize_with = "rfc3339")]
    pub created_at: Millis,
}

/// Tokens one run used, as the agent counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Uncached input tokens.
    pub input: i64,
    /// Output tokens.
    pub output: i64,
    /// Input tokens read from the prompt cache.
    pub cache_read: i64,
    /// Input tokens written to the prompt cache.
    pub cache_write: i64,
}

impl std::ops::AddAssign for Tokens {
    fn add_assign(&mut self, o: Tokens) {
        self.input = self.input.saturating_add(o.input);
        self.output = self.output.saturating_add(o.output);
        self.cache_read = self.cache_read.saturating_add(o.cache_read);
        self.cache_write = self.cache_write.saturating_add(o.cache_write);
    }
}

impl Tokens {
    /// These tokens less `earlier`, never below zero in any kind.
    pub fn less(self, earlier: Tokens) -> Tokens {
        let sub = |a: i64, b: i64| a.saturating_sub(b).max(0);
        Tokens {
            input: sub(self.input, earlier.input),
            output: sub(self.output, earlier.output),
            cache_read: sub(self.cache_read, earlier.cache_read),
            cache_write: sub(self.cache_write, earlier.cache_write),
        }
    }
}

/// What a run used, as the agent reported it. Boxed where it travels: most runs' values are
/// small, and this would double the size of every event and run end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunUsage {
    /// Its tokens, when the agent counted any.
    pub tokens: Option<Tokens>,
    /// The model that did most of the work.
    pub model: Option<String>,
    /// Each model's share when the agent reported several (Claude Code's `modelUsage`).
    pub by_model: Vec<ModelTokens>,
}

/// One model's share of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelTokens {
    /// The model id as the agent named it.
    pub model: String,
    /// Its tokens.
    pub tokens: Tokens,
    /// Its cost, when the agent priced it.
    pub cost_usd: Option<f64>,
}

/// One agent run on an issue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// Row id.
    pub id: i64,
    /// The issue worked on.
    #[serde(skip)]
    pub issue_id: i64,
    /// Which agent ran it.
    pub agent_id: String,
    /// Runner slot number.
    pub slot: i64,
    /// What the run does: implement, check or review.
    pub role: RunRole,
    /// OS process id of the runner that owns it (to detect dead owners).
    #[serde(skip)]
    pub owner_pid: Option<i64>,
    /// Agent session id (Claude's `session_id`).
    pub session_id: Option<String>,
    /// Start (epoch ms).
    #[serde(serialize_with = "rfc3339")]
    pub started_at: Millis,
    /// End (epoch ms), `None` while running.
    #[serde(serialize_with = "rfc3339_opt")]
    pub ended_at: Option<Millis>,
    /// Exit status of the agent process.
    pub exit_code: Option<i64>,
    /// How it ended, `None` while running.
    pub outcome: Option<RunOutcome>,
    /// Error text when it failed.
    pub error: Option<String>,
    /// Cost reported by the agent.
    pub cost_usd: Option<f64>,
    /// The live estimate while it ran (the reported cost, when there is one, is the cost).
    pub estimate_usd: Option<f64>,
    /// Turns reported by the agent.
    pub turns: Option<i64>,
    /// Duration reported by the agent.
    pub duration_ms: Option<i64>,
    /// Input tokens the agent reported (uncached).
    pub input_tokens: Option<i64>,
    /// Output tokens the agent reported.
    pub output_tokens: Option<i64>,
    /// Input tokens read from the prompt cache.
    pub cache_read_tokens: Option<i64>,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: Option<i64>,
    /// The model that did most of the work (by cost), as the agent named it.
    pub model: Option<String>,
    /// The prompt template its prompt carried (None: none).
    pub template: Option<String>,
    /// Why it failed, when it did.
    pub failure: Option<FailureClass>,
    /// The custom persona that ran it (`tester`), for role `persona`.
    pub persona: Option<String>,
    /// Transcript lines stored for this run.
    pub transcript_lines: i64,
    /// Where the transcript lives (`db:runs/<id>`).
    pub transcript: String,
}

/// An issue with its thread and runs, as `show` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueDetail {
    /// The issue itself.
    #[serde(flatten)]
    pub issue: Issue,
    /// What its runs cost together (`None` before any run reported a cost).
    pub cost_usd: Option<f64>,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
    /// Its runs, oldest first.
    pub runs: Vec<Run>,
    /// The issues it waits for (JSON: their ids).
    #[serde(serialize_with = "link_ids")]
    pub depends_on: Vec<DepLink>,
    /// The issues that wait for it (JSON: their ids).
    #[serde(serialize_with = "link_ids")]
    pub blocks: Vec<DepLink>,
    /// Its subtasks, oldest first (JSON: their ids).
    #[serde(serialize_with = "link_ids")]
    pub children: Vec<Child>,
    /// The fields its open question asks for (`NEEDS:` lines); names and descriptions only,
    /// never a value.
    pub needs: Vec<crate::domain::needs::Need>,
}

/// A subtask as its parent's detail lists it.
pub type Child = DepLink;

/// Another issue as a detail lists it: one it waits for, one waiting for it, or a subtask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepLink {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its column (a dependency holds a claim until it is done, a subtask its parent's).
    pub status: Status,
}

fn link_ids<S: serde::Serializer>(links: &[DepLink], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(links.iter().map(|l| l.id))
}

/// An issue as `list --json` prints it: its fields and the ids it waits for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListedIssue {
    /// The issue itself.
    #[serde(flatten)]
    pub issue: Issue,
    /// The issues it waits for, done or not.
    pub depends_on: Vec<i64>,
}

/// The size of an issue branch's change against its merge base with the base branch, taken
/// when a run moves the issue to review (so a board never runs git to show it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DiffStat {
    /// Files changed.
    pub files: i64,
    /// Lines added.
    pub added: i64,
    /// Lines removed.
    pub removed: i64,
}
