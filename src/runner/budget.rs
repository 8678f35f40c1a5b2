//! `[budget]` in the runner: every claim is checked against the daily and per-issue caps (in
//! the claim's transaction, see `store/budget.rs`), and with `on_exceed = "stop"` running
//! agents are stopped once today's spend reaches the daily cap.

use crate::domain::clock;
use crate::store::{Caps, DailyHold};

/// The caps the runner enforces (`None`: no cap).
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// Today's spend across every runner on the database, in local days.
    pub daily_usd: Option<f64>,
    /// An issue's spend, unless it has a cap of its own.
    pub per_issue_usd: Option<f64>,
    /// `on_exceed = "stop"`: running agents are stopped too when the daily cap is reached.
    pub stop_on_exceed: bool,
    /// `[runner] max_in_review`: no claim while this many issues wait in review.
    pub max_in_review: Option<u32>,
}

impl Budget {
    /// The caps of a claim, counted in this process's local days.
    pub fn caps(&self) -> Caps {
        Caps {
            daily_usd: self.daily_usd,
            per_issue_usd: self.per_issue_usd,
            zone: clock::local_zone(),
            max_in_review: self.max_in_review,
        }
    }
}

/// Why a running agent was stopped by the daily cap (the run's comment reads "The run was …").
pub fn stop_reason(h: &DailyHold) -> String {
    format!(
        "stopped by the daily budget (`[budget] on_exceed = \"stop\"`): ${:.2} reached, ${:.2} spent today",
        h.cap, h.spent
    )
}
