//! What the runner tells its watchers (the TUI, the headless log) and what they tell it.

use crate::domain::{RunOutcome, Status};

pub use super::agent::render::{LineKind, PaneLine};

/// Something a runner reports. Sent after the store has committed it.
#[derive(Debug, Clone)]
pub enum RunnerEvent {
    /// A slot claimed an issue and started its agent.
    RunStarted {
        /// Slot number.
        slot: usize,
        /// The run.
        run_id: i64,
        /// The issue.
        issue_id: i64,
        /// Its title.
        title: String,
        /// The agent id.
        agent_id: String,
    },
    /// Agent output, already stored in the transcript.
    Output {
        /// Slot number.
        slot: usize,
        /// The run.
        run_id: i64,
        /// Display lines.
        lines: Vec<PaneLine>,
    },
    /// Running totals for a run (from the agent's own report).
    Progress {
        /// The run.
        run_id: i64,
        /// Turns so far.
        turns: Option<i64>,
        /// Cost the agent reported (in its result).
        cost_usd: Option<f64>,
        /// The live estimate, when it changed (the reported cost replaces it).
        estimate: Option<Estimate>,
    },
    /// A run ended and its issue moved.
    RunFinished {
        /// Slot number.
        slot: usize,
        /// The run.
        run_id: i64,
        /// The issue.
        issue_id: i64,
        /// How it ended.
        outcome: RunOutcome,
        /// Where the issue is now.
        status: Status,
        /// One line for toasts and logs.
        summary: String,
    },
    /// The store changed in a way watchers should reload (a claim, a lease handed back).
    StoreChanged,
    /// Something went wrong outside a run, or a condition the user must fix (shown as a banner).
    Problem(String),
    /// The problem shown earlier is gone.
    ProblemCleared,
    /// Claiming was paused or resumed.
    Paused(bool),
    /// A `split` asked for by a watcher ended: the new subtasks, or why none were made.
    Split {
        /// The issue split.
        issue_id: i64,
        /// The subtasks' ids, or the reason (printable).
        result: Result<Vec<i64>, String>,
    },
}

/// What a running run has cost so far, estimated from its token usage and the price table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Estimate {
    /// About this much, in USD (output is undercounted until each response ends).
    Usd(f64),
    /// Some usage is of a model the price table does not know: no guess until the result.
    Unknown,
}

/// What watchers can ask a runner to do.
#[derive(Debug, Clone)]
pub enum RunnerCommand {
    /// Something may have become ready: look now instead of at the next poll.
    Wake,
    /// Stop the agent working on this issue.
    Stop {
        /// The issue.
        issue_id: i64,
        /// Who asked (for the system comment).
        by: String,
    },
    /// Pause or resume claiming; running agents finish.
    SetPaused {
        /// Pause (true) or resume (false).
        paused: bool,
        /// Who asked (recorded in the event log).
        by: String,
    },
    /// Claim nothing more in this process; the runner ends once its running agents finish.
    Drain,
    /// Run the planner on this issue and create its subtasks (`split`), beside the slots.
    Split {
        /// The issue.
        issue_id: i64,
    },
}
