//! `[runner] retry`, `max_retries`, `retry_on`, `analyze_model`: checked when read, resolved
//! into the runner's [`RetryPolicy`].

use anyhow::bail;

use super::RunnerSection;
use crate::domain::FailureClass;
use crate::runner::failure::{not_retryable, RetryMode, RetryPolicy, MAX_RETRIES};

/// Refuses a retry setting that cannot mean anything, or one that would retry a stop or a cap.
pub fn check(r: &RunnerSection, name: &dyn Fn(&str) -> String) -> anyhow::Result<()> {
    if let Some(mode) = &r.retry {
        if let Err(e) = mode.parse::<RetryMode>() {
            bail!("{}: {e}", name("retry"));
        }
    }
    if let Some(n) = r.max_retries.filter(|n| *n > MAX_RETRIES) {
        bail!(
            "{} = {n}: at most {MAX_RETRIES} retries (each is a whole run, with its cost)",
            name("max_retries")
        );
    }
    for class in r.retry_on.iter().flatten() {
        let parsed: FailureClass = match class.parse() {
            Ok(c) => c,
            Err(_) => bail!(
                "{}: unknown failure class {:?}: use api_error, crash, stalled, timeout or no_changes",
                name("retry_on"),
                crate::domain::sanitize::one_line(class)
            ),
        };
        if let Some(why) = not_retryable(parsed) {
            bail!("{}: {parsed} is never retried: {why}", name("retry_on"));
        }
    }
    if r.analyze_model
        .as_ref()
        .is_some_and(|m| m.trim().is_empty())
    {
        bail!("{}: the model name is empty", name("analyze_model"));
    }
    Ok(())
}

/// The policy the settings describe (checked already: what does not parse reads as the default).
/// An `analyze` persona's model wins over `analyze_model`.
pub fn policy(
    r: &RunnerSection,
    personas: &std::collections::BTreeMap<String, super::PersonaEntry>,
) -> RetryPolicy {
    let default = RetryPolicy::default();
    RetryPolicy {
        mode: r
            .retry
            .as_deref()
            .and_then(|m| m.parse().ok())
            .unwrap_or(default.mode),
        max_retries: r
            .max_retries
            .unwrap_or(default.max_retries)
            .min(MAX_RETRIES),
        on: match &r.retry_on {
            Some(list) => list.iter().filter_map(|c| c.parse().ok()).collect(),
            None => default.on,
        },
        analyze_model: personas
            .get(crate::runner::personas::ANALYZE)
            .and_then(|p| p.model.clone())
            .or_else(|| r.analyze_model.clone())
            .unwrap_or(default.analyze_model),
    }
}
