//! How a run ends, in words: each verdict, and each way a run can fail, becomes the issue's
//! next status and the comments that say why. Pure (the queue pause and the commit happen in
//! the run; their texts are here), so every ending is tested without a process.

use super::error::RunnerError;
use super::outcome::{Hold, Verdict};
use crate::domain::{format_millis, Actor, AgentKind, AuthorKind, RunOutcome, Status};
use crate::store::RunEnd;

/// What the author of system comments is called.
const SYSTEM_AUTHOR: &str = "autopilot";

/// A comment to add: author, kind, text.
type Comment = (String, AuthorKind, String);

/// A comment by autopilot itself.
pub(super) fn system(body: String) -> Comment {
    (SYSTEM_AUTHOR.to_string(), AuthorKind::System, body)
}

/// How a run ends that failed: blocked, with the error (and the agent's stderr) in a comment.
pub(super) fn failed(error: String, stderr_tail: Option<String>) -> RunEnd {
    let mut body = format!("The run failed: {error}");
    if let Some(tail) = stderr_tail.as_ref().filter(|t| !t.trim().is_empty()) {
        body.push_str(&format!(
            "\n\nLast lines of the agent's stderr:\n```\n{}\n```",
            tail.trim_end()
        ));
    }
    body.push_str("\n\nComment on this issue to hand it back to ready.");
    RunEnd {
        outcome: Some(RunOutcome::Failed),
        error: Some(error),
        stderr_tail,
        move_to: Some((Status::Blocked, Actor::System)),
        comments: vec![system(body)],
        ..RunEnd::default()
    }
}

/// How a run ends whose issue asks for an agent this runner cannot start: blocked before any
/// agent ran, saying which and how to go on.
pub(super) fn agent_unavailable(id: i64, want: AgentKind, why: &str) -> RunEnd {
    let error = format!("the {want} agent is not available: {why}");
    let body = format!(
        "This issue asks for the {want} agent, which is not available here: {why}.\n\n\
         Configure it, or give the issue another agent (`autopilot-tui edit {id} --agent \"\"` \
         goes back to the configured one), then comment to hand it back to ready."
    );
    RunEnd {
        outcome: Some(RunOutcome::Failed),
        error: Some(error),
        move_to: Some((Status::Blocked, Actor::System)),
        comments: vec![system(body)],
        ..RunEnd::default()
    }
}

/// How a run ends that could not go on: a failure, worded for the error's kind.
pub(super) fn from_error(e: RunnerError) -> RunEnd {
    let error = e.to_string();
    let body = match e {
        RunnerError::BaseConflict {
            base,
            branch,
            worktree,
            files,
        } => format!(
            "Before rerunning, merging the new commits of {base} into {branch} conflicts in:\n{}\n\n\
             The merge was aborted: the branch and the worktree ({worktree}) are exactly as they were. \
             Resolve it there (git merge {base}) or move the issue back, then comment to hand it back to ready.",
            files.iter().map(|f| format!("- {f}")).collect::<Vec<_>>().join("\n")
        ),
        RunnerError::LeftElsewhere {
            place,
            branch,
            worktree,
        } => format!(
            "The agent left the worktree on {place}, which is not its own work on top of the issue branch {branch}. \
             Nothing was committed and {branch} is unchanged; the agent's work is still in the worktree at {worktree}. \
             Bring it onto {branch} there (for example `git -C {worktree} switch {branch}` after committing or stashing it), \
             then comment to hand the issue back to ready."
        ),
        _ => return failed(error, None),
    };
    RunEnd {
        outcome: Some(RunOutcome::Failed),
        error: Some(error),
        move_to: Some((Status::Blocked, Actor::System)),
        comments: vec![system(body)],
        ..RunEnd::default()
    }
}

/// How a run ends that autopilot-tui's shutdown stopped: not the issue's fault, so it goes
/// back to ready instead of being parked.
pub(super) fn shut_down(worktree: &str) -> RunEnd {
    RunEnd {
        outcome: Some(RunOutcome::Interrupted),
        error: Some("autopilot-tui shut down during the run".into()),
        move_to: Some((Status::Ready, Actor::System)),
        comments: vec![system(format!(
            "Interrupted: autopilot-tui shut down while the agent was working. Handed back to ready; the partial transcript is kept and the worktree is at {worktree}."
        ))],
        ..RunEnd::default()
    }
}

/// What a verdict leads to.
#[derive(Debug)]
// One per run, moved once: boxing the common variant buys nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Ending {
    /// The run ends like this.
    Now(RunEnd),
    /// The queue is paused first; then the run ends as [`rate_limited`] says.
    PauseQueue {
        /// What the agent said.
        message: String,
        /// When the limit resets (epoch ms), when the agent said so.
        resets_at: Option<i64>,
    },
    /// The work is committed first; then the run ends as [`implemented`] says. The text is
    /// the agent's summary.
    Commit(String),
}

/// The ending of a verdict, for the agent `agent_id` that worked in `worktree`.
pub(super) fn ending(
    verdict: Verdict,
    agent_id: &str,
    worktree: &str,
    stderr_tail: Option<String>,
) -> Ending {
    Ending::Now(match verdict {
        Verdict::RateLimited { message, resets_at } => {
            return Ending::PauseQueue { message, resets_at }
        }
        Verdict::Implemented(summary) => return Ending::Commit(summary),
        Verdict::Stopped(why) => RunEnd {
            outcome: Some(RunOutcome::Stopped),
            error: Some(why.clone()),
            move_to: Some((Status::Blocked, Actor::System)),
            comments: vec![system(format!(
                "The run was {why}. The agent's process group was terminated; the partial transcript is kept and the worktree is at {worktree}. Comment to hand it back to ready."
            ))],
            ..RunEnd::default()
        },
        Verdict::OverBudget(said) => RunEnd {
            outcome: Some(RunOutcome::Stopped),
            error: Some(format!("stopped by Claude Code at its per-run budget: {said}")),
            move_to: Some((Status::Blocked, Actor::System)),
            comments: vec![system(format!(
                "The run was stopped by Claude Code at its per-run budget (--max-budget-usd, from [budget] per_run_usd): {said}. \
                 The partial transcript is kept and the worktree is at {worktree}. To let a run spend more, raise per_run_usd \
                 under [budget] in autopilot.toml; then comment to hand it back to ready."
            ))],
            ..RunEnd::default()
        },
        Verdict::Failed(error) => failed(error, stderr_tail),
        Verdict::Blocked(question) => RunEnd {
            outcome: Some(RunOutcome::Blocked),
            move_to: Some((Status::Blocked, Actor::Agent)),
            needs: crate::domain::needs::parse(&question),
            comments: vec![(agent_id.to_string(), AuthorKind::Agent, question)],
            ..RunEnd::default()
        },
        Verdict::NoChanges(last_words) => {
            let mut body = "The agent finished without changing any file and without asking a question (no `BLOCKED:` line).".to_string();
            if !last_words.trim().is_empty() {
                body.push_str(&format!("\n\nIts last words:\n{}", last_words.trim()));
            }
            body.push_str("\n\nComment with more detail to hand it back to ready.");
            RunEnd {
                outcome: Some(RunOutcome::NoChanges),
                move_to: Some((Status::Blocked, Actor::System)),
                comments: vec![system(body)],
                ..RunEnd::default()
            }
        }
    })
}

/// How a rate-limited run ends once the queue holds: back to ready, not counted as a failure.
pub(super) fn rate_limited(message: &str, hold: &Hold) -> RunEnd {
    let clamp_note = hold
        .clamped
        .as_ref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    RunEnd {
        outcome: Some(RunOutcome::Interrupted),
        error: Some(hold.reason.clone()),
        move_to: Some((Status::Ready, Actor::System)),
        comments: vec![system(format!(
            "The agent hit a rate or usage limit ({message}). The whole queue is paused until {}{clamp_note} and resumes by itself; \
             this issue went back to ready (not counted as a failure) and will be retried.",
            format_millis(hold.until)
        ))],
        ..RunEnd::default()
    }
}

/// What the runner tells its watchers about a queue held after a rate limit.
pub(super) fn queue_paused(hold: &Hold) -> String {
    format!(
        "Queue paused until {} ({}); it resumes by itself.",
        format_millis(hold.until),
        hold.reason
    )
}

/// The agent's summary as its comment says it.
pub(super) fn summary_text(summary: &str) -> String {
    if summary.trim().is_empty() {
        "(the agent gave no summary)".to_string()
    } else {
        summary.trim().to_string()
    }
}

/// What an implemented run left on its branch.
#[derive(Debug)]
pub(super) struct Commit<'a> {
    /// The commit the branch points at now.
    pub sha: &'a str,
    /// The issue branch.
    pub branch: &'a str,
    /// Its base.
    pub base: &'a str,
    /// Commits the agent made itself.
    pub own: usize,
    /// Whether autopilot committed what the agent left uncommitted.
    pub ours: bool,
    /// Where the agent had left the worktree, when its work was brought back onto the branch.
    pub moved: Option<String>,
    /// The pull request's address, or why pushing failed (`None`: not pushed).
    pub pushed: Option<Result<String, RunnerError>>,
}

/// How an implemented run ends: in review, with the agent's summary (as [`summary_text`]
/// words it) and a note of exactly which commits the branch holds.
pub(super) fn implemented(agent_id: &str, summary: String, c: &Commit<'_>) -> RunEnd {
    let short = c.sha.get(..10).unwrap_or(c.sha);
    let (branch, base) = (c.branch, c.base);
    let mut note = match (c.own, c.ours) {
        (0, _) => format!("Committed {short} on branch {branch} (base {base})."),
        (n, true) => format!(
            "The agent made {n} commit(s) of its own on branch {branch}; autopilot committed the rest as {short} (base {base})."
        ),
        (n, false) => format!(
            "The agent made {n} commit(s) of its own on branch {branch}, up to {short} (base {base})."
        ),
    };
    if let Some(place) = &c.moved {
        note.push_str(&format!(
            "\n\nThe agent had left the worktree on {place}; its work was brought back onto {branch}."
        ));
    }
    match &c.pushed {
        Some(Ok(url)) if url.is_empty() => note.push_str(&format!(
            "\n\nPushed {branch} to {}.",
            super::remote::REMOTE
        )),
        Some(Ok(url)) => note.push_str(&format!("\n\nPull request: {url}")),
        Some(Err(e)) => note.push_str(&format!("\n\nPush / pull request failed: {e}")),
        None => {}
    }
    RunEnd {
        outcome: Some(RunOutcome::Implemented),
        move_to: Some((Status::InReview, Actor::Agent)),
        comments: vec![
            (agent_id.to_string(), AuthorKind::Agent, summary),
            system(note),
        ],
        ..RunEnd::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::git::GitError;

    fn now(ending: Ending) -> RunEnd {
        match ending {
            Ending::Now(end) => end,
            other => panic!("not an end yet: {other:?}"),
        }
    }

    fn body(end: &RunEnd) -> &str {
        &end.comments[0].2
    }

    fn end_of(verdict: Verdict) -> Ending {
        ending(verdict, "agent-1", "/wt/7", Some("boom\n".into()))
    }

    #[test]
    fn claudes_budget_stop_blocks_the_issue_naming_the_setting() {
        let end = now(end_of(Verdict::OverBudget(
            "over $2 (reported cost $2.01)".into(),
        )));
        assert_eq!(end.outcome, Some(RunOutcome::Stopped));
        assert_eq!(end.move_to, Some((Status::Blocked, Actor::System)));
        let text = body(&end);
        assert!(text.contains("over $2 (reported cost $2.01)"), "{text}");
        assert!(text.contains("raise per_run_usd under [budget]"), "{text}");
        assert!(text.contains("/wt/7"), "{text}");
    }

    #[test]
    fn a_stop_blocks_the_issue_and_says_where_the_work_is() {
        let end = now(end_of(Verdict::Stopped("stopped by me".into())));
        assert_eq!(end.outcome, Some(RunOutcome::Stopped));
        assert_eq!(end.error.as_deref(), Some("stopped by me"));
        assert_eq!(end.move_to, Some((Status::Blocked, Actor::System)));
        assert_eq!(end.comments[0].0, "autopilot");
        assert_eq!(end.comments[0].1, AuthorKind::System);
        assert_eq!(
            body(&end),
            "The run was stopped by me. The agent's process group was terminated; the partial \
             transcript is kept and the worktree is at /wt/7. Comment to hand it back to ready."
        );
    }

    #[test]
    fn a_failure_blocks_the_issue_with_the_stderr_tail() {
        let end = now(end_of(Verdict::Failed(
            "the agent exited with status 2".into(),
        )));
        assert_eq!(end.outcome, Some(RunOutcome::Failed));
        assert_eq!(end.error.as_deref(), Some("the agent exited with status 2"));
        assert_eq!(end.stderr_tail.as_deref(), Some("boom\n"));
        assert_eq!(end.move_to, Some((Status::Blocked, Actor::System)));
        assert_eq!(
            body(&end),
            "The run failed: the agent exited with status 2\n\nLast lines of the agent's stderr:\n\
             ```\nboom\n```\n\nComment on this issue to hand it back to ready."
        );
        let quiet = failed("x".into(), Some("  \n".into()));
        assert_eq!(
            body(&quiet),
            "The run failed: x\n\nComment on this issue to hand it back to ready."
        );
    }

    #[test]
    fn a_question_is_the_agents_own_comment() {
        let end = now(end_of(Verdict::Blocked("BLOCKED: which database?".into())));
        assert_eq!(end.outcome, Some(RunOutcome::Blocked));
        assert_eq!(end.error, None);
        assert_eq!(end.move_to, Some((Status::Blocked, Actor::Agent)));
        assert_eq!(
            end.comments,
            vec![(
                "agent-1".to_string(),
                AuthorKind::Agent,
                "BLOCKED: which database?".to_string()
            )]
        );
    }

    #[test]
    fn a_questions_needs_lines_are_its_fields() {
        let end = now(end_of(Verdict::Blocked(
            "which database?\nNEEDS: DB_URL — the URL\nNEEDS: PATH — no\nNEEDS: DB_PASS (secret) — its password".into(),
        )));
        let names: Vec<_> = end
            .needs
            .iter()
            .map(|n| (n.name.as_str(), n.secret))
            .collect();
        assert_eq!(names, [("DB_URL", false), ("DB_PASS", true)]);
        assert!(
            body(&end).contains("NEEDS: PATH — no"),
            "the question keeps every line"
        );
    }

    #[test]
    fn no_changes_quotes_the_last_words_when_there_are_any() {
        let end = now(end_of(Verdict::NoChanges("  all done  ".into())));
        assert_eq!(end.outcome, Some(RunOutcome::NoChanges));
        assert_eq!(end.move_to, Some((Status::Blocked, Actor::System)));
        assert_eq!(
            body(&end),
            "The agent finished without changing any file and without asking a question (no \
             `BLOCKED:` line).\n\nIts last words:\nall done\n\nComment with more detail to hand \
             it back to ready."
        );
        let silent = now(end_of(Verdict::NoChanges(" ".into())));
        assert!(!body(&silent).contains("last words"), "{}", body(&silent));
    }

    #[test]
    fn a_rate_limit_pauses_the_queue_and_hands_the_issue_back() {
        let Ending::PauseQueue { message, resets_at } = end_of(Verdict::RateLimited {
            message: "usage limit".into(),
            resets_at: Some(5),
        }) else {
            panic!("the queue is paused first");
        };
        assert_eq!((message.as_str(), resets_at), ("usage limit", Some(5)));
        let hold = Hold {
            until: 0,
            reason: "rate limited: usage limit".into(),
            clamped: Some("cut".into()),
        };
        let end = rate_limited("usage limit", &hold);
        assert_eq!(end.outcome, Some(RunOutcome::Interrupted));
        assert_eq!(end.error.as_deref(), Some("rate limited: usage limit"));
        assert_eq!(end.move_to, Some((Status::Ready, Actor::System)));
        let until = format_millis(0);
        assert_eq!(
            body(&end),
            format!(
                "The agent hit a rate or usage limit (usage limit). The whole queue is paused \
                 until {until} (cut) and resumes by itself; this issue went back to ready (not \
                 counted as a failure) and will be retried."
            )
        );
        assert_eq!(
            queue_paused(&hold),
            format!(
                "Queue paused until {until} (rate limited: usage limit); it resumes by itself."
            )
        );
    }

    #[test]
    fn an_implemented_run_goes_to_review_with_its_commits() {
        let summary = "Added the thing.".to_string();
        assert!(matches!(
            end_of(Verdict::Implemented(summary.clone())),
            Ending::Commit(s) if s == summary
        ));
        let mut commit = Commit {
            sha: "0123456789abcdef",
            branch: "ap/7-x",
            base: "main",
            own: 0,
            ours: true,
            moved: None,
            pushed: None,
        };
        let end = implemented("agent-1", summary_text(" Added the thing. "), &commit);
        assert_eq!(end.outcome, Some(RunOutcome::Implemented));
        assert_eq!(end.move_to, Some((Status::InReview, Actor::Agent)));
        assert_eq!(end.comments[0].2, "Added the thing.");
        assert_eq!(
            end.comments[1].2,
            "Committed 0123456789 on branch ap/7-x (base main)."
        );
        commit.own = 2;
        commit.moved = Some("a detached HEAD".into());
        commit.pushed = Some(Err(RunnerError::Git(GitError {
            command: "git push".into(),
            stderr: "denied".into(),
        })));
        let end = implemented("agent-1", summary_text(""), &commit);
        assert_eq!(end.comments[0].2, "(the agent gave no summary)");
        assert_eq!(
            end.comments[1].2,
            "The agent made 2 commit(s) of its own on branch ap/7-x; autopilot committed the \
             rest as 0123456789 (base main).\n\nThe agent had left the worktree on a detached \
             HEAD; its work was brought back onto ap/7-x.\n\nPush / pull request failed: `git \
             push` failed: denied"
        );
        commit.ours = false;
        commit.pushed = Some(Ok("https://example.com/pr/1".into()));
        commit.moved = None;
        let end = implemented("agent-1", summary_text("x"), &commit);
        assert_eq!(
            end.comments[1].2,
            "The agent made 2 commit(s) of its own on branch ap/7-x, up to 0123456789 (base \
             main).\n\nPull request: https://example.com/pr/1"
        );
    }

    #[test]
    fn errors_end_the_run_blocked_and_two_of_them_explain_themselves() {
        let end = from_error(RunnerError::BaseConflict {
            base: "main".into(),
            branch: "ap/7-x".into(),
            worktree: "/wt/7".into(),
            files: vec!["a.rs".into(), "b.rs".into()],
        });
        assert_eq!(end.outcome, Some(RunOutcome::Failed));
        assert_eq!(
            end.error.as_deref(),
            Some("merging main into ap/7-x conflicts")
        );
        assert_eq!(end.move_to, Some((Status::Blocked, Actor::System)));
        assert_eq!(
            body(&end),
            "Before rerunning, merging the new commits of main into ap/7-x conflicts in:\n- \
             a.rs\n- b.rs\n\nThe merge was aborted: the branch and the worktree (/wt/7) are \
             exactly as they were. Resolve it there (git merge main) or move the issue back, \
             then comment to hand it back to ready."
        );
        let end = from_error(RunnerError::LeftElsewhere {
            place: "branch other".into(),
            branch: "ap/7-x".into(),
            worktree: "/wt/7".into(),
        });
        assert_eq!(
            end.error.as_deref(),
            Some("the agent left the worktree on branch other, not on ap/7-x")
        );
        assert!(
            body(&end).starts_with("The agent left the worktree on branch other, which is not")
                && body(&end).contains("`git -C /wt/7 switch ap/7-x`"),
            "{}",
            body(&end)
        );
        let end = from_error(RunnerError::Step {
            step: "cannot read the thread".into(),
            error: Box::new(RunnerError::Store(crate::store::StoreError::Invalid(
                "gone".into(),
            ))),
        });
        assert_eq!(end.outcome, Some(RunOutcome::Failed));
        assert!(
            body(&end).starts_with("The run failed: cannot read the thread: "),
            "{}",
            body(&end)
        );
        assert_eq!(end.stderr_tail, None);
    }

    #[test]
    fn shutdown_hands_the_issue_back_to_ready() {
        let end = shut_down("/wt/7");
        assert_eq!(end.outcome, Some(RunOutcome::Interrupted));
        assert_eq!(
            end.error.as_deref(),
            Some("autopilot-tui shut down during the run")
        );
        assert_eq!(end.move_to, Some((Status::Ready, Actor::System)));
        assert!(
            body(&end).ends_with("the worktree is at /wt/7."),
            "{}",
            body(&end)
        );
    }
}
