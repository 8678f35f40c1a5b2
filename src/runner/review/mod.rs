//! Review: what happens between an agent's commit and a person's decision: completion checks, an optional reviewer run,
//! what the branch changed (read from git for the CLI and the TUI alike), and landing accepted
//! work on its base.

pub mod accept;
pub mod checks;
pub mod diff;
pub mod merge;
pub mod reviewer;
mod verdict;
