//! `[notify] command`: a shell command run when an issue needs a person (blocked, in review,
//! a failed or stopped run, a budget cap), so that people who are not looking hear of it.
//!
//! It fires from the runner that made the move, once: every TUI watching the database sees the
//! move too, but only the process whose slot finished the run runs the command (N open boards
//! do not notify N times). It runs on a task of its own, limited in time and killed after, so
//! a slow or hanging command never holds up the runner; its output and failures are logged.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::redact::Redactor;
use crate::domain::{RunOutcome, Status};

/// Most bytes of one value passed in the environment (a question may be long).
const VALUE_CAP: usize = 16 << 10;
/// Most bytes of the command's output written to the log.
const LOG_CAP: usize = 4 << 10;

/// `[notify]` as the runner uses it.
#[derive(Debug, Clone, Default)]
pub struct Notify {
    /// The shell command (`None`: nothing runs).
    pub command: Option<String>,
    /// How long it may run before it is killed.
    pub timeout: Duration,
}

/// What happened, as `AUTOPILOT_EVENT` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyEvent {
    /// The issue waits for a person's answer.
    Blocked,
    /// The change waits for a person's review.
    InReview,
    /// The run failed.
    Failed,
    /// The run was stopped (a person, a limit).
    Stopped,
    /// A spending cap parked the issue.
    Budget,
}

impl NotifyEvent {
    /// The value of `AUTOPILOT_EVENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::Blocked => "blocked",
            NotifyEvent::InReview => "in_review",
            NotifyEvent::Failed => "failed",
            NotifyEvent::Stopped => "stopped",
            NotifyEvent::Budget => "budget",
        }
    }

    /// What a finished run means for a person: a failed or stopped run says so first (the
    /// issue usually blocks too); otherwise where the issue went. `None`: nobody is needed.
    pub fn of_run(outcome: RunOutcome, status: Status) -> Option<NotifyEvent> {
        match (outcome, status) {
            (RunOutcome::Failed, Status::Blocked) => Some(NotifyEvent::Failed),
            (RunOutcome::Stopped, Status::Blocked) => Some(NotifyEvent::Stopped),
            (_, Status::Blocked) => Some(NotifyEvent::Blocked),
            (_, Status::InReview) => Some(NotifyEvent::InReview),
            _ => None,
        }
    }
}

/// One notification: the event and the issue it is about.
#[derive(Debug, Clone)]
pub struct Notice {
    /// What happened.
    pub event: NotifyEvent,
    /// The issue.
    pub issue_id: i64,
    /// Its title.
    pub title: String,
    /// The question or the reason (the newest comment of the move), if any.
    pub question: String,
}

/// A value safe for the environment and for whoever prints it: escape sequences and control
/// characters removed (newlines and tabs kept), no NUL (which `exec` refuses), secrets
/// redacted, and at most [`VALUE_CAP`] bytes.
pub fn env_value(text: &str, redactor: &Redactor) -> String {
    let clean = crate::domain::sanitize::strip_all(&redactor.text(text)).replace('\0', "");
    capped(clean, VALUE_CAP)
}

/// `text` cut to at most `cap` bytes (on a character boundary), marked when cut.
fn capped(mut text: String, cap: usize) -> String {
    if text.len() > cap {
        let mut end = cap;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Runs the command for `notice` on a task of its own in `tasks` (never awaited by the run
/// that fired it). Needs a tokio runtime; does nothing without a command.
pub fn fire(
    tasks: &tokio_util::task::TaskTracker,
    settings: &Notify,
    redactor: &Arc<Redactor>,
    notice: Notice,
) {
    let Some(command) = settings.command.clone() else {
        return;
    };
    let (timeout, redactor) = (settings.timeout, Arc::clone(redactor));
    tasks.spawn(async move {
        run(&command, timeout, &redactor, &notice).await;
    });
}

/// Runs the command through `sh` in a process group of its own, killing the group at the
/// timeout; what it printed and how it ended go to the log.
async fn run(command: &str, timeout: Duration, redactor: &Redactor, notice: &Notice) {
    let (event, id) = (notice.event.as_str(), notice.issue_id);
    let shell = which::which("sh").unwrap_or_else(|_| std::path::PathBuf::from("/bin/sh"));
    let mut cmd = tokio::process::Command::new(shell);
    cmd.arg("-c")
        .arg(command)
        .env("AUTOPILOT_EVENT", event)
        .env("AUTOPILOT_ISSUE_ID", id.to_string())
        .env("AUTOPILOT_ISSUE_TITLE", env_value(&notice.title, redactor))
        .env("AUTOPILOT_QUESTION", env_value(&notice.question, redactor))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(
                event,
                issue_id = id,
                "[notify] command could not start: {e}"
            );
            return;
        }
    };
    let pgid = child.id().unwrap_or(0);
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => {
            let text = logged(&out.stdout, &out.stderr, redactor);
            if out.status.success() {
                tracing::info!(event, issue_id = id, output = %text, "[notify] command ran");
            } else {
                tracing::warn!(event, issue_id = id, status = %out.status, output = %text, "[notify] command failed");
            }
        }
        Ok(Err(e)) => tracing::warn!(event, issue_id = id, "[notify] command failed: {e}"),
        Err(_) => {
            // The future owning the child is gone (killed on drop); its children go with
            // the group.
            super::process::signal_group(pgid, nix::sys::signal::Signal::SIGKILL);
            tracing::warn!(
                event,
                issue_id = id,
                "[notify] command killed after {} s ([notify] timeout_seconds)",
                timeout.as_secs()
            );
        }
    }
}

/// Output for the log: both streams, redacted, printable, capped.
fn logged(stdout: &[u8], stderr: &[u8], redactor: &Redactor) -> String {
    let mut text = String::from_utf8_lossy(stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(stderr));
    capped(
        crate::domain::sanitize::one_line(&redactor.text(&text)),
        LOG_CAP,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_lose_escapes_nul_and_secrets_and_are_capped() {
        let r = Redactor::builtin();
        let v = env_value("a\u{1b}]0;pwned\u{7}b\0c\u{1b}[31mred\nline2", &r);
        assert_eq!(v, "abcred\nline2");
        let secret = env_value("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789", &r);
        assert!(!secret.contains("abcdefghijklmnop"), "{secret}");
        let long = env_value(&"é".repeat(VALUE_CAP), &r);
        assert!(
            long.len() <= VALUE_CAP + 3 && long.ends_with('…'),
            "{}",
            long.len()
        );
    }

    #[test]
    fn a_failed_or_stopped_run_names_itself_before_the_block() {
        use NotifyEvent as E;
        let of = NotifyEvent::of_run;
        assert_eq!(of(RunOutcome::Failed, Status::Blocked), Some(E::Failed));
        assert_eq!(of(RunOutcome::Stopped, Status::Blocked), Some(E::Stopped));
        assert_eq!(of(RunOutcome::Blocked, Status::Blocked), Some(E::Blocked));
        assert_eq!(of(RunOutcome::Passed, Status::InReview), Some(E::InReview));
        assert_eq!(of(RunOutcome::Interrupted, Status::Ready), None);
        assert_eq!(of(RunOutcome::Passed, Status::InProgress), None);
    }
}
