//! `[budget]` in the runner: every claim is checked against the daily and per-issue caps (in
//! the claim's transaction, see `store/budget.rs`), and with `on_exceed = "stop"` running
//! agents are stopped once today's spend reaches the daily cap.

use super::{Db, RunnerEvent};
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

/// The daily cap as the runner watches it while agents run.
impl super::Runner {
    /// With `on_exceed = "stop"`, stops every run of this process once today's spend reached
    /// the daily cap (this process's runs or another's), storing the hold if none is yet.
    pub(super) async fn poll_daily_budget(&self, db: &Db) {
        let (Some(cap), true) = (
            self.settings.budget.daily_usd,
            self.settings.budget.stop_on_exceed,
        ) else {
            return;
        };
        let (zone, agent) = (
            crate::domain::clock::local_zone(),
            self.settings.agent_id.clone(),
        );
        let now = crate::domain::now_millis();
        match db
            .call(move |s| s.check_daily_budget(cap, now, &zone, &agent))
            .await
        {
            Ok(Some(hold)) => self.daily_budget_reached(&hold),
            Ok(None) => {}
            Err(e) => tracing::warn!("cannot check the daily budget: {e}"),
        }
    }

    /// Reports the daily hold once, and stops running agents when `on_exceed = "stop"`.
    pub(super) fn daily_budget_reached(&self, hold: &DailyHold) {
        let new = self
            .budget_reported
            .lock()
            .map(|mut last| last.replace(hold.until) != Some(hold.until))
            .unwrap_or(true);
        if new {
            self.emit(RunnerEvent::Problem(hold.reason()));
            self.emit(RunnerEvent::StoreChanged);
        }
        if self.settings.budget.stop_on_exceed {
            let ids: Vec<i64> = self
                .stops
                .lock()
                .map(|m| m.keys().copied().collect())
                .unwrap_or_default();
            for id in ids {
                self.stop_run_as(id, crate::domain::FailureClass::Budget, stop_reason(hold));
            }
        }
    }
}
