//! The reviewer pass (`[review] agent = true`): once a change passed its checks, a reviewer run
//! (role `review`: a session of its own, never the implementer's, with its own cost) reads the
//! issue, the thread and the branch's diff, and answers `APPROVE` or `CHANGES: …`. Changes go
//! back to the implementer on the same claim, at most `max_cycles` times; then, or on approval,
//! the issue goes to review. A reviewer that fails does not block the issue: a person reviews
//! it anyway.

mod answer;

use std::path::{Path, PathBuf};

use self::answer::Answer;
use super::checks::Next;
use crate::domain::{Actor, AuthorKind, DiffStat, RunOutcome, RunRole, Status};
use crate::runner::agent::AgentRequest;
use crate::runner::drive::drive_agent;
use crate::runner::error::{self, Step};
use crate::runner::outcome::{decide, Verdict};
use crate::runner::run::{close_run, open_run, RunContext};
use crate::runner::verdict::{shut_down, system};
use crate::runner::workspace::Workspace;
use crate::store::RunEnd;

/// `[review]` as the runner uses it.
#[derive(Debug, Clone, Default)]
pub struct Reviewer {
    /// Whether a reviewer run reads each change that passed its checks.
    pub agent: bool,
    /// How many times the reviewer's changes go back to the implementer before a person
    /// decides.
    pub max_cycles: u32,
    /// The reviewer's instructions (absolute), instead of the built-in ones.
    pub prompt_file: Option<PathBuf>,
}

/// Most bytes of reviewer instructions read from a `prompt_file`.
const INSTRUCTIONS_MAX: u64 = 256 << 10;

/// Reads a `prompt_file`: it must exist, be UTF-8 and at most 256 KiB. The error says which.
pub fn read_instructions(path: &Path) -> Result<String, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > INSTRUCTIONS_MAX {
        return Err(format!(
            "{} holds {} bytes; instructions are at most {} KiB",
            path.display(),
            meta.len(),
            INSTRUCTIONS_MAX >> 10
        ));
    }
    let data = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    String::from_utf8(data).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// Runs the reviewer on the change of `ws`, which passed its checks, and closes its run. `diff`
/// is the change's size, stored when the issue goes to review; `cycles_before` counts the
/// reviewer's changes that went back to the implementer during this claim already.
pub(in crate::runner) async fn review(
    ctx: &RunContext<'_>,
    ws: &Workspace,
    diff: Option<DiffStat>,
    cycles_before: u32,
) -> Next {
    let title = crate::domain::sanitize::strip_all(&format!("review: {}", ctx.issue.title));
    let Some(run_id) = open_run(ctx, RunRole::Review, &title).await else {
        return Next::Done;
    };
    let rc = RunContext {
        run_id,
        fix: None,
        ..ctx.clone()
    };
    let (mut end, next) = reviewed(&rc, ws, cycles_before).await;
    if matches!(end.move_to, Some((Status::InReview, _))) {
        end.diff = diff;
    }
    close_run(&rc, end).await;
    next
}

/// The reviewer's run and what it leads to.
async fn reviewed(rc: &RunContext<'_>, ws: &Workspace, cycles_before: u32) -> (RunEnd, Next) {
    let settings = &rc.settings().review;
    let to_review = |comment: String, outcome: RunOutcome| RunEnd {
        outcome: Some(outcome),
        move_to: Some((Status::InReview, Actor::Agent)),
        comments: vec![system(comment)],
        ..RunEnd::default()
    };
    let failure = |error: String| RunEnd {
        error: Some(error.clone()),
        ..to_review(answer::failed(&error, None), RunOutcome::Failed)
    };
    // Read for each review, so edits apply without a restart; its absence was reported when
    // the configuration was loaded, and a file gone since is this review's failure.
    let instructions = match settings.prompt_file.clone() {
        None => None,
        Some(path) => {
            match error::blocking("reviewer prompt", move || read_instructions(&path)).await {
                Ok(Ok(text)) => Some(text),
                Ok(Err(e)) => return (failure(format!("[review] prompt_file: {e}")), Next::Done),
                Err(e) => return (failure(e.to_string()), Next::Done),
            }
        }
    };
    let id = rc.issue.id;
    let comments = match rc.db.call(move |st| st.comments(id)).await {
        Ok(c) => c,
        Err(e) => return (failure(format!("cannot read the thread: {e}")), Next::Done),
    };
    let (wt, base, branch) = (ws.worktree.clone(), ws.base.clone(), ws.branch.clone());
    let (diff, truncated) =
        match error::git(move || super::diff::raw_between(&wt, &base, &branch, answer::DIFF_CAP))
            .await
            .step("could not read the change to review it")
        {
            Ok(d) => d,
            Err(e) => return (failure(e.to_string()), Next::Done),
        };
    let req = AgentRequest {
        prompt: answer::prompt(
            rc.issue,
            &comments,
            &ws.branch,
            &ws.base,
            instructions.as_deref(),
            &diff,
            truncated,
        ),
        cwd: ws.worktree.clone(),
        // Its own session: the reviewer must not read the implementer's reasoning, nor the
        // implementer its own reviewer's.
        resume: None,
        issue_id: id,
        prompt_file: None,
        // The configured model (a `review` persona's, else the agent's): the issue's choice
        // is for the work, not for judging it.
        choice: (rc.settings().personas)
            .choice(crate::runner::personas::REVIEW, Default::default()),
        read_only: false,
    };
    let attempt = match drive_agent(rc, &req, &mut 0).await {
        Ok(a) => a,
        Err(e) => return (failure(e.to_string()), Next::Done),
    };
    let stopped = attempt
        .stopped
        .clone()
        .or_else(|| rc.reason.get().filter(|_| rc.stop.is_cancelled()));
    let mut end = if rc.shutdown.is_cancelled() && stopped.is_some() {
        shut_down(&ws.path_text())
    } else {
        let verdict = decide(
            &attempt.observed,
            attempt.exit_code,
            stopped,
            false,
            rc.adapter().reports_result(),
        );
        match verdict {
            Verdict::Stopped(why) | Verdict::OverBudget(why) => RunEnd {
                error: Some(why.clone()),
                ..to_review(answer::stopped(&why), RunOutcome::Stopped)
            },
            Verdict::Failed(error) | Verdict::RateLimited { message: error, .. } => {
                let tail = attempt.stderr_tail();
                RunEnd {
                    error: Some(error.clone()),
                    ..to_review(answer::failed(&error, tail.as_deref()), RunOutcome::Failed)
                }
            }
            Verdict::Blocked(_) | Verdict::Implemented(_) | Verdict::NoChanges(_) => {
                let text = attempt.observed.final_text();
                let (end, next) = verdict_end(rc, &answer::read(&text), &text, cycles_before);
                return (without_session(attempt.with_stats(end)), next);
            }
        }
    };
    end = without_session(attempt.with_stats(end));
    (end, Next::Done)
}

/// The end of a reviewer run that answered: its words as the reviewer's comment, then
/// approval (to review), changes back to the implementer, or — out of cycles — to review with
/// the last verdict.
fn verdict_end(rc: &RunContext<'_>, a: &Answer, text: &str, cycles_before: u32) -> (RunEnd, Next) {
    let max = rc.settings().review.max_cycles;
    let words = if text.trim().is_empty() {
        a.changes().unwrap_or_default().to_string()
    } else {
        text.trim().to_string()
    };
    let mut end = RunEnd {
        outcome: Some(RunOutcome::ChangesRequested),
        comments: vec![(answer::author(rc.agent_id), AuthorKind::Agent, words)],
        ..RunEnd::default()
    };
    let next = if *a == Answer::Approve {
        end.outcome = Some(RunOutcome::Approved);
        end.comments.push(system(answer::approved()));
        end.move_to = Some((Status::InReview, Actor::Agent));
        Next::Done
    } else if cycles_before < max {
        let cycle = cycles_before + 1;
        end.comments.push(system(answer::sent_back(a, cycle, max)));
        Next::Revise(answer::fix_message(a, cycle, max))
    } else {
        end.comments.push(system(answer::out_of_cycles(a, max)));
        end.move_to = Some((Status::InReview, Actor::Agent));
        Next::Done
    };
    (end, next)
}

/// `end` without the session: the issue's session stays the implementer's, which its next run
/// resumes (the run's own session is recorded as soon as it is known).
fn without_session(mut end: RunEnd) -> RunEnd {
    end.session_id = None;
    end
}
