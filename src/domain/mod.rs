//! Domain types, typed events and actors, the pure issue state machine, secret redaction and
//! the one way text is made safe for a terminal. Nothing here does I/O.

pub mod cap;
pub mod clock;
mod event;
pub mod learning;
pub mod needs;
pub mod pricing;
mod printable;
pub mod redact;
pub mod sanitize;
pub mod schedule;
mod state;
pub mod stats;
pub mod template;
pub mod transcript_text;
mod types;

pub use event::{ActorId, Event, EventKind, IssueChanges, ParseActorError};
pub use printable::Printable;
pub use state::{legal_targets, transition, TransitionError};
pub use types::{
    Actor, AgentKind, AuthorKind, Child, Comment, DepLink, DiffStat, Effort, FailureClass, Issue,
    IssueDetail, Kind, ListedIssue, ModelTokens, ParseEnumError, Run, RunOutcome, RunRole,
    RunUsage, Status, Tokens,
};

/// Milliseconds since the Unix epoch, the one time unit stored everywhere.
pub type Millis = i64;

/// The current wall-clock time in milliseconds since the Unix epoch.
pub fn now_millis() -> Millis {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// Formats epoch milliseconds as RFC 3339 UTC (`2026-11-21T23:47:01.123Z`) for JSON and display.
pub fn format_millis(ms: Millis) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => {
            let fmt = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            );
            t.format(&fmt).unwrap_or_else(|_| ms.to_string())
        }
        Err(_) => ms.to_string(),
    }
}

/// Turns a title into a short, branch-safe slug (`Fix the login bug!` → `fix-the-login-bug`).
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for ch in title.chars() {
        if ch.is_ascii_alphanumeric() {
            slug.push(ch.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        "issue".to_string()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_branch_safe() {
        assert_eq!(slugify("Fix the login bug!"), "fix-the-login-bug");
        assert_eq!(slugify("  ../../etc  "), "etc");
        assert_eq!(slugify("日本語"), "issue");
        assert!(slugify(&"a very long title ".repeat(10)).len() <= 40);
    }

    #[test]
    fn millis_format_as_rfc3339() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
