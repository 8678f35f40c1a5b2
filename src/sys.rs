//! What the runner, the CLI and the TUI each need once from the system: this machine's name
//! and the async runtime they run on.

/// This box's name: `AUTOPILOT_HOST` when set, else the machine's host name.
pub fn machine_name() -> Option<String> {
    // A box's identity: several "boxes" can share one machine (tests, or two clones on one
    // host) by naming themselves.
    if let Some(host) = std::env::var("AUTOPILOT_HOST")
        .ok()
        .map(|h| crate::domain::sanitize::one_line(&h).trim().to_string())
        .filter(|h| !h.is_empty())
    {
        return Some(host);
    }
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
}

/// This machine's name, recorded on runs so crash recovery only judges its own processes.
pub fn host_name() -> String {
    machine_name().unwrap_or_else(|| "localhost".into())
}

/// The tokio runtime the headless runner and the TUI run on: two workers are plenty for
/// agents that spend their time waiting on pipes and SQLite, on the blocking pool.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}
