//! `[api]`: the HTTP API (`serve`, or `--listen` on the TUI and `run`).

use std::path::PathBuf;

use serde::Deserialize;

/// The address the API binds when nothing else says: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7777";

/// Feedback posts one client address may make per minute, unless `[api] feedback_per_minute`.
pub const DEFAULT_FEEDBACK_PER_MINUTE: u32 = 10;

/// `[api]`: where the API listens, its token, the feedback ingress.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// `IP:PORT` to serve on; set, the TUI and `run` serve the API too.
    pub listen: Option<String>,
    /// A file holding the bearer token (relative to the repository root).
    pub token_file: Option<PathBuf>,
    /// Whether `POST /api/autopilot/feedback` is open (default true).
    pub feedback: Option<bool>,
    /// Feedback posts per minute per client address (default 10).
    pub feedback_per_minute: Option<u32>,
}
