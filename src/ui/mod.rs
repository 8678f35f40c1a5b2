//! The full-screen app: board, agent panes, blocked inbox.

pub mod app;
pub mod event_loop;
pub mod keymap;
pub mod layout;
pub mod osc;
pub mod router;
pub mod state;
pub mod store_thread;
pub mod terminal;
pub mod theme;
pub mod views;

use crate::config::Config;

/// What the TUI needs from the command line.
pub struct UiOptions {
    /// Loaded configuration (paths, agent, runner, ui sections).
    pub config: Config,
    /// `--agents N`: runner slots in this process (None: from config).
    pub agents: Option<usize>,
    /// `--no-runner`: only watch, never claim.
    pub no_runner: bool,
    /// `--theme NAME`: overrides the configured theme.
    pub theme: Option<String>,
    /// Served beside the TUI on its runtime (the HTTP API with `--listen`), ended with it.
    pub beside: Option<futures::future::BoxFuture<'static, ()>>,
}

impl std::fmt::Debug for UiOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiOptions")
            .field("agents", &self.agents)
            .field("no_runner", &self.no_runner)
            .field("theme", &self.theme)
            .field("beside", &self.beside.is_some())
            .finish_non_exhaustive()
    }
}

/// Runs the TUI until the user quits.
pub fn run(opts: UiOptions) -> anyhow::Result<()> {
    event_loop::run(opts)
}
