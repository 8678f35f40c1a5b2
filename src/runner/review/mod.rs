//! Review: what an issue's branch changed (read from git for the CLI and the TUI alike), and
//! landing accepted work on its base.

pub mod accept;
pub mod diff;
pub mod merge;
