//! Where the money and the hours went: the report `stats` prints and the TUI's stats overlay
//! draws. Pure data; the store fills it in (`Store::stats`).
//!
//! A run's cost is the one it reported, else its live estimate (as budgets count it); a run
//! belongs to the local day, and to a `since` window, by when it ended, else when it started.
//! Times are seconds; a figure without a single sample is `None` (JSON `null`), never 0.

use std::collections::BTreeMap;

use serde::Serialize;

use super::sanitize::one_line;
use super::{Printable, Status};

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// The first local day counted (`YYYY-MM-DD`), `None` for all time.
    pub since: Option<String>,
    /// The time zone days are counted in (an IANA name when it has one).
    pub time_zone: String,
    /// What every counted run cost.
    pub total_cost_usd: f64,
    /// What runs cost since the local midnight that began today (not bounded by `since`).
    pub today_cost_usd: f64,
    /// Runs counted.
    pub runs: i64,
    /// Uncached input tokens of those runs.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Input tokens read from the prompt cache.
    pub cache_read_tokens: i64,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: i64,
    /// Runs per outcome (`"implemented": 3`); runs still going are `"running"`.
    pub by_outcome: BTreeMap<String, i64>,
    /// Failed runs per failure class (`"crash": 2`); classes with none are left out.
    pub failures: BTreeMap<String, i64>,
    /// Cost, tokens and mean cost and time of the runs of each outcome.
    pub per_outcome: BTreeMap<String, Usage>,
    /// The same per kind of issue (feature, bug, chore, feedback).
    pub per_kind: BTreeMap<String, Usage>,
    /// The same per model, as the agent named it (`"unknown"` when it named none).
    pub by_model: BTreeMap<String, Usage>,
    /// The same per agent id (the runner that ran them).
    pub by_agent: BTreeMap<String, Usage>,
    /// How implement runs went per prompt template (`"none"`: without one), and per model.
    pub by_template: BTreeMap<String, TemplateStats>,
    /// Cost and runs per local day that had runs, oldest first.
    pub by_day: Vec<DaySpend>,
    /// The most expensive issues, most expensive first.
    pub top_issues: Vec<IssueSpend>,
    /// How long work took from the event log, and how often it went right the first time.
    pub flow: Flow,
}

/// What a group of runs used.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Runs in the group.
    pub runs: i64,
    /// Their cost together.
    pub cost_usd: f64,
    /// Uncached input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Cache-read tokens.
    pub cache_read_tokens: i64,
    /// Cache-write tokens.
    pub cache_write_tokens: i64,
    /// The mean cost of a run.
    pub mean_cost_usd: Option<f64>,
    /// The mean wall-clock time of a run that ended, start to end.
    pub mean_duration_secs: Option<f64>,
}

/// How the implement runs that carried one template went (a run counts when it ended).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TemplateUsage {
    /// Implement runs.
    pub runs: i64,
    /// Of those, the first runs of their issues.
    pub first_runs: i64,
    /// Of those, the ones that reached review on that try, no human answer needed (as
    /// [`Flow::first_try_reviews`] counts them).
    pub first_try_reviews: i64,
    /// `first_try_reviews / first_runs`, `None` without a first run.
    pub success_rate: Option<f64>,
    /// What the runs cost together.
    pub cost_usd: f64,
    /// The mean cost of a run.
    pub mean_cost_usd: Option<f64>,
    /// The mean turns of the runs that reported turns.
    pub mean_turns: Option<f64>,
    /// The mean wall-clock time of a run, start to end.
    pub mean_duration_secs: Option<f64>,
}

/// [`TemplateUsage`] of one template, in all and per model (`"unknown"` when none was named).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TemplateStats {
    /// Every model together.
    #[serde(flatten)]
    pub all: TemplateUsage,
    /// Per model.
    pub by_model: BTreeMap<String, TemplateUsage>,
}

/// One local day's spend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaySpend {
    /// The local day, `YYYY-MM-DD`.
    pub day: String,
    /// What its runs cost.
    pub cost_usd: f64,
    /// How many runs it had.
    pub runs: i64,
}

/// One issue's spend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueSpend {
    /// The issue.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Where it is now.
    pub status: Status,
    /// What its counted runs cost.
    pub cost_usd: f64,
    /// How many runs it had.
    pub runs: i64,
}

/// A distribution of durations, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Durations {
    /// How many issues it was measured on.
    pub samples: i64,
    /// Their mean.
    pub mean_secs: Option<f64>,
    /// Their median (the mean of the middle two for an even count).
    pub median_secs: Option<f64>,
}

impl Durations {
    /// The summary of `millis` (one value per issue).
    pub fn of_millis(mut millis: Vec<i64>) -> Durations {
        if millis.is_empty() {
            return Durations::default();
        }
        millis.sort_unstable();
        let n = millis.len();
        let secs = |ms: f64| ms / 1000.0;
        let sum: f64 = millis.iter().map(|&m| m as f64).sum();
        let mid = if n % 2 == 1 {
            millis[n / 2] as f64
        } else {
            (millis[n / 2 - 1] as f64 + millis[n / 2] as f64) / 2.0
        };
        Durations {
            samples: i64::try_from(n).unwrap_or(i64::MAX),
            mean_secs: Some(secs(sum / n as f64)),
            median_secs: Some(secs(mid)),
        }
    }
}

/// Flow metrics, from the status changes in the event log.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Flow {
    /// Created → first moved to done, over issues that first reached done in the window.
    pub lead_time: Durations,
    /// First ready (created ready, or moved there) → first moved to in_review after it, over
    /// issues that first reached review in the window.
    pub cycle_time: Durations,
    /// Time spent blocked (waiting for a human), per issue that was blocked in the window: each
    /// stay in blocked, cut to the window (a stay not yet over counts until now).
    pub blocked_time: Durations,
    /// All that blocked time together.
    pub blocked_total_secs: f64,
    /// Issues whose first implement run ended in the window.
    pub first_runs: i64,
    /// Of those, the ones that reached review on the first try: that first run ended
    /// `implemented` (it committed a change and handed it on) and the issue first entered
    /// in_review before any second implement run began (so a failed check that sent it back
    /// to the agent is not a success).
    pub first_try_reviews: i64,
    /// `first_try_reviews / first_runs`, `None` without a first run.
    pub success_rate: Option<f64>,
}

impl Printable for Stats {
    fn printable(mut self) -> Stats {
        let keys = |m: BTreeMap<String, Usage>| -> BTreeMap<String, Usage> {
            m.into_iter().map(|(k, v)| (one_line(&k), v)).collect()
        };
        self.by_model = keys(self.by_model);
        self.by_agent = keys(self.by_agent);
        self.by_template = std::mem::take(&mut self.by_template)
            .into_iter()
            .map(|(k, mut t)| {
                t.by_model = t
                    .by_model
                    .into_iter()
                    .map(|(m, u)| (one_line(&m), u))
                    .collect();
                (one_line(&k), t)
            })
            .collect();
        self.time_zone = one_line(&self.time_zone);
        for issue in &mut self.top_issues {
            issue.title = one_line(&issue.title);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_a_mean_and_a_median_or_nothing() {
        assert_eq!(Durations::of_millis(vec![]), Durations::default());
        let d = Durations::of_millis(vec![4_000, 1_000, 10_000]);
        assert_eq!(
            (d.samples, d.mean_secs, d.median_secs),
            (3, Some(5.0), Some(4.0))
        );
        let even = Durations::of_millis(vec![1_000, 3_000]);
        assert_eq!(even.median_secs, Some(2.0));
    }

    #[test]
    fn printable_strips_what_people_and_agents_named() {
        let mut s = Stats::default();
        s.by_model.insert("m\u{1b}[2J".into(), Usage::default());
        s.top_issues.push(IssueSpend {
            id: 1,
            title: "a\nb\u{202e}".into(),
            status: Status::Done,
            cost_usd: 0.0,
            runs: 0,
        });
        let s = s.printable();
        assert!(s.by_model.keys().all(|k| !k.contains('\u{1b}')));
        assert!(!s.top_issues[0].title.contains(['\n', '\u{202e}']));
    }
}
