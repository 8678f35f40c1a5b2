//! autopilot-tui: a terminal kanban and mission control for autonomous coding agents.
//!
//! Layers, with dependencies pointing one way: [`domain`] ← [`store`] ← [`runner`] ← `ui`,
//! and [`config`] / `cli` on top.

#![warn(missing_docs)]

pub mod api;
pub mod cli;
pub mod config;
pub mod domain;
pub mod runner;
pub mod store;
pub mod sys;
pub mod ui;
