//! `[budget]`: caps on spend that stop work before it costs more than a person agreed to.

use serde::Deserialize;

pub use crate::domain::cap::valid_usd;

/// What happens to running agents when the daily cap is reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnExceed {
    /// Running agents finish; nothing new is claimed.
    #[default]
    Finish,
    /// Running agents are stopped too.
    Stop,
}

/// `[budget]`: spend caps in US dollars (absent: no cap).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSection {
    /// Today's spend, across every runner on the database, in local days.
    pub daily_usd: Option<f64>,
    /// An issue's total spend; one over it is not run again until a person raises its cap.
    pub per_issue_usd: Option<f64>,
    /// One run's spend: passed as `--max-budget-usd` and enforced from the live estimate.
    pub per_run_usd: Option<f64>,
    /// `finish` (default) or `stop`.
    pub on_exceed: Option<OnExceed>,
}

impl BudgetSection {
    /// Refuses caps that cannot mean anything (negative, NaN, infinite), naming the field.
    pub fn check(&self, name: &dyn Fn(&str) -> String) -> anyhow::Result<()> {
        let caps = [
            ("[budget] daily_usd", self.daily_usd),
            ("[budget] per_issue_usd", self.per_issue_usd),
            ("[budget] per_run_usd", self.per_run_usd),
        ];
        for (field, value) in caps {
            if let Some(v) = value.filter(|v| !valid_usd(*v)) {
                anyhow::bail!(
                    "{} = {v}: a cap is a positive number of US dollars (leave it out for none)",
                    name(field)
                );
            }
        }
        Ok(())
    }
}
