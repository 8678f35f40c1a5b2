//! The full-screen app: board, agent panes, blocked inbox.

use crate::config::Config;

/// What the TUI needs from the command line.
#[derive(Debug, Clone)]
pub struct UiOptions {
    /// Loaded configuration (paths, agent, runner, ui sections).
    pub config: Config,
    /// `--agents N`: runner slots in this process (None: from config).
    pub agents: Option<usize>,
    /// `--no-runner`: only watch, never claim.
    pub no_runner: bool,
    /// `--theme NAME`: overrides the configured theme.
    pub theme: Option<String>,
}

/// Runs the TUI until the user quits.
pub fn run(_opts: UiOptions) -> anyhow::Result<()> {
    anyhow::bail!("the TUI is not built yet")
}
