//! `serve`: the HTTP API alone; and the API beside the TUI or `run` when asked for.

use std::io::Write;

use crate::api::Server;
use crate::config::Config;

use super::Ctx;

/// The API this process serves beside its work: bound now (so a taken port or a refused
/// address fails before anything starts) when `--listen` or `[api] listen` asks for it.
pub fn api_server(config: &Config, listen: Option<&str>) -> anyhow::Result<Option<Server>> {
    if listen.is_none() && config.file.api.listen.is_none() {
        return Ok(None);
    }
    let server = Server::bind(config.clone(), listen)?;
    tracing::info!(
        "API listening on http://{}; {}",
        server.local_addr()?,
        server.token_source().describe()
    );
    Ok(Some(server))
}

/// Serves the API until interrupted. The first line on stdout is `listening on http://ADDR`
/// (scripts read the port from it); the token itself is never printed.
pub fn serve(ctx: &Ctx, listen: Option<&str>) -> anyhow::Result<()> {
    let _log = super::init_logging(&ctx.config.paths);
    let server = Server::bind(ctx.config.clone(), listen)?;
    let addr = server.local_addr()?;
    // Only news for whoever started it: a reader that went away (`serve | head -1`, a script
    // that took the port) must not take the server down with it.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}")
        .and_then(|()| writeln!(out, "{}", server.token_source().describe()))
        .and_then(|()| out.flush());
    drop(out);
    let rt = crate::sys::runtime()?;
    rt.block_on(server.run(async {
        let _ = tokio::signal::ctrl_c().await;
    }))
}
