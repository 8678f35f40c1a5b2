//! Why a run failed ([`FailureClass`]), and `[runner] retry`: which failures go back to the
//! agent at once, on the same claim, and how often. Pure, so every rule is tested without a
//! process.

use super::outcome::{Observed, Verdict};
use crate::domain::FailureClass;

/// Most retries `[runner] max_retries` allows.
pub const MAX_RETRIES: u32 = 5;

/// The classes retried when `[runner] retry_on` is not set.
pub const DEFAULT_RETRY_ON: [FailureClass; 4] = [
    FailureClass::ApiError,
    FailureClass::Crash,
    FailureClass::Stalled,
    FailureClass::Timeout,
];

/// The classes `retry_on` may name, and why the others may not.
pub fn not_retryable(class: FailureClass) -> Option<&'static str> {
    match class {
        FailureClass::Stopped => Some("a person (or a lost claim) stopped the run"),
        FailureClass::Budget => Some("a spending cap stopped the run"),
        FailureClass::RateLimit => {
            Some("a rate limit already holds the queue and hands the issue back by itself")
        }
        FailureClass::ChecksFailed => {
            Some("failed checks go back to the agent through [checks] fix_attempts")
        }
        _ => None,
    }
}

/// What `[runner] retry` does with a failed run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RetryMode {
    /// Blocks, as without retries.
    #[default]
    None,
    /// Runs the agent again as it was.
    Same,
    /// Asks a cheap model what went wrong, then runs the agent again with its diagnosis.
    Analyze,
}

impl std::str::FromStr for RetryMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(RetryMode::None),
            "same" => Ok(RetryMode::Same),
            "analyze" => Ok(RetryMode::Analyze),
            other => Err(format!(
                "unknown retry mode {other:?}: use \"none\", \"same\" or \"analyze\""
            )),
        }
    }
}

/// `[runner] retry`, `max_retries`, `retry_on`, `analyze_model`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// What a retry is.
    pub mode: RetryMode,
    /// Retries per claim before the issue blocks as without retries.
    pub max_retries: u32,
    /// The failure classes retried.
    pub on: Vec<FailureClass>,
    /// The model of the `analyze` run.
    pub analyze_model: String,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            mode: RetryMode::None,
            max_retries: 1,
            on: DEFAULT_RETRY_ON.to_vec(),
            analyze_model: "haiku".into(),
        }
    }
}

impl RetryPolicy {
    /// Whether a run that failed as `class` goes again, after `done` retries on this claim.
    pub fn retries(&self, class: Option<FailureClass>, done: u32) -> bool {
        self.mode != RetryMode::None
            && done < self.max_retries
            && class.is_some_and(|c| self.on.contains(&c) && not_retryable(c).is_none())
    }
}

/// The class of a run's verdict: `None` for a run that did not fail (a question, a change).
/// `stop` is the class the stop's reason was given with.
pub fn classify(verdict: &Verdict, obs: &Observed, stop: FailureClass) -> Option<FailureClass> {
    Some(match verdict {
        Verdict::Stopped(_) => stop,
        Verdict::OverBudget(_) => FailureClass::Budget,
        Verdict::RateLimited { .. } => FailureClass::RateLimit,
        Verdict::Failed(_) => {
            let reported = obs.result.as_ref().is_some_and(|r| r.is_error);
            if reported || !obs.api_errors.is_empty() {
                FailureClass::ApiError
            } else {
                FailureClass::Crash
            }
        }
        Verdict::NoChanges(_) => FailureClass::NoChanges,
        Verdict::Blocked(_) | Verdict::Implemented(_) => return None,
    })
}

/// The thread's note that a failed run goes again.
pub fn retry_note(
    n: u32,
    max: u32,
    class: FailureClass,
    error: Option<&str>,
    analyzed: bool,
) -> String {
    let why = error
        .map(|e| {
            crate::domain::sanitize::one_line(e)
                .chars()
                .take(300)
                .collect::<String>()
        })
        .filter(|e| !e.trim().is_empty())
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    let how = if analyzed {
        "with a diagnosis of what went wrong"
    } else {
        "as it was"
    };
    format!("Retry {n}/{max} after {class}{why}. The agent runs again {how}, on the same claim.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::agent::claude::parse_line;

    fn observed(lines: &[&str]) -> Observed {
        let mut obs = Observed::default();
        for l in lines {
            for ev in parse_line(l.as_bytes()) {
                obs.observe(ev);
            }
        }
        obs
    }

    #[test]
    fn failures_are_classed_by_what_the_agent_reported() {
        let none = Observed::default();
        let failed = Verdict::Failed("the agent exited with status 3".into());
        assert_eq!(
            classify(&failed, &none, FailureClass::Stopped),
            Some(FailureClass::Crash)
        );
        let api = observed(&[
            r#"{"type":"result","subtype":"success","is_error":true,"result":"API Error: 500 overloaded","session_id":"s"}"#,
        ]);
        assert_eq!(
            classify(&failed, &api, FailureClass::Stopped),
            Some(FailureClass::ApiError)
        );
        let stop = Verdict::Stopped("stopped as stalled".into());
        assert_eq!(
            classify(&stop, &none, FailureClass::Stalled),
            Some(FailureClass::Stalled)
        );
        assert_eq!(
            classify(&stop, &none, FailureClass::Stopped),
            Some(FailureClass::Stopped)
        );
        assert_eq!(
            classify(
                &Verdict::OverBudget("x".into()),
                &none,
                FailureClass::Stopped
            ),
            Some(FailureClass::Budget)
        );
        assert_eq!(
            classify(
                &Verdict::NoChanges(String::new()),
                &none,
                FailureClass::Stopped
            ),
            Some(FailureClass::NoChanges)
        );
        let limited = Verdict::RateLimited {
            message: "x".into(),
            resets_at: None,
        };
        assert_eq!(
            classify(&limited, &none, FailureClass::Stopped),
            Some(FailureClass::RateLimit)
        );
        assert_eq!(
            classify(&Verdict::Blocked("q".into()), &none, FailureClass::Stopped),
            None
        );
        assert_eq!(
            classify(
                &Verdict::Implemented("s".into()),
                &none,
                FailureClass::Stopped
            ),
            None
        );
    }

    #[test]
    fn a_policy_retries_its_classes_up_to_its_bound_and_never_a_stop() {
        let mut p = RetryPolicy::default();
        assert!(
            !p.retries(Some(FailureClass::Crash), 0),
            "none retries nothing"
        );
        p.mode = RetryMode::Same;
        assert!(p.retries(Some(FailureClass::Crash), 0));
        assert!(
            !p.retries(Some(FailureClass::Crash), 1),
            "bounded by max_retries"
        );
        assert!(
            !p.retries(Some(FailureClass::NoChanges), 0),
            "not in retry_on"
        );
        assert!(!p.retries(None, 0));
        p.on = vec![FailureClass::Stopped, FailureClass::Budget];
        assert!(!p.retries(Some(FailureClass::Stopped), 0));
        assert!(!p.retries(Some(FailureClass::Budget), 0));
    }

    #[test]
    fn the_retry_note_says_which_retry_and_why_on_one_line() {
        assert_eq!(
            retry_note(1, 2, FailureClass::Crash, Some("the agent exited\nwith status 3"), false),
            "Retry 1/2 after crash: the agent exited with status 3. The agent runs again as it was, on the same claim."
        );
        assert!(retry_note(1, 1, FailureClass::Stalled, None, true)
            .ends_with("with a diagnosis of what went wrong, on the same claim."));
    }
}
