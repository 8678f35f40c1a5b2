//! autopilot-tui: a terminal kanban and mission control for autonomous coding agents.
//!
//! Layers, with dependencies pointing one way: [`domain`] ← [`store`] ← [`runner`] ← `ui`.

pub mod domain;
pub mod store;
