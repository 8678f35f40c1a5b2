//! Review: what an issue's branch changed, read from git for the CLI and the TUI alike.

pub mod diff;
