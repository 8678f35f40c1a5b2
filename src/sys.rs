//! What the runner, the CLI and the TUI each need once from the system: this machine's name
//! and the async runtime they run on.

/// The machine's host name, when the system has one.
pub fn machine_name() -> Option<String> {
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
