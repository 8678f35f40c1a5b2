//! Entry point: parse the command line, then run a subcommand or open the TUI.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use autopilot_tui::cli::{self, Cli};
use autopilot_tui::ui;

fn main() -> ExitCode {
    // Past a file size limit the kernel would kill us with SIGXFSZ mid-write; with the signal
    // caught, the write fails instead and SQLite rolls the transaction back cleanly.
    let _ = signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    let mut cli = Cli::parse();
    let result = match cli.command.take() {
        None => open_tui(&cli),
        // Attaching is the TUI without a runner of its own: it watches, and stops through the
        // store, the agents a headless `run` (or another TUI) runs.
        Some(cli::Command::Attach) => {
            cli.no_runner = true;
            open_tui(&cli)
        }
        Some(command) => cli::dispatch(cli, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`autopilot-tui list | head`) is not an error worth reporting.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            // stderr may be a terminal that is already gone: failing to report is not a panic.
            let _ = writeln!(std::io::stderr(), "autopilot-tui: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn open_tui(cli: &Cli) -> anyhow::Result<()> {
    let ctx = cli::context(&cli.global, true)?;
    // Fail before entering the alternate screen when the database is unusable.
    drop(ctx.store()?);
    let _log = cli::init_logging(&ctx.config.paths);
    // Bound before the alternate screen, so a taken port or a refused address is said plainly.
    let beside = cli::api_server(&ctx.config, cli.listen.as_deref())?.map(|api| {
        let task: futures::future::BoxFuture<'static, ()> = Box::pin(async move {
            if let Err(e) = api.run(std::future::pending()).await {
                tracing::warn!("the API stopped: {e:#}");
            }
        });
        task
    });
    ui::run(ui::UiOptions {
        config: ctx.config,
        agents: cli.agents,
        no_runner: cli.no_runner,
        theme: cli.theme.clone(),
        beside,
    })
}
