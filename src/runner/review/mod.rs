//! Review: landing accepted work on its base.

pub mod accept;
pub mod merge;
