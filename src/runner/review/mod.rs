//! Review: what happens between an agent's commit and a person's decision.

pub mod checks;
mod verdict;
