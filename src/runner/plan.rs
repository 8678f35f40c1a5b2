//! `split`: a planner run (role `plan`: a session of its own, with its own cost) reads an issue
//! in the repository root without changing anything, and answers with a block of
//! `SUBTASK: title — description` lines; those become the issue's subtasks, in backlog, for a
//! person to hand off. An answer without such lines creates nothing, and the run is kept.

use tokio_util::sync::CancellationToken;

use super::agent::{AgentRequest, ModelChoice};
use super::drive::drive_agent;
use super::events::RunnerEvent;
use super::outcome::{decide, Verdict};
use super::run::{RunContext, StopReason};
use super::{Db, Runner};
use crate::domain::sanitize::{one_line, strip_all};
use crate::domain::{Comment, Issue, RunOutcome, RunRole, Status};
use crate::store::RunEnd;

/// Most subtasks one split creates; further lines are left out.
pub const MAX_SUBTASKS: usize = 20;
/// Most characters of a subtask's title (the rest goes to its body).
const TITLE_MAX: usize = 120;
/// Most characters of a subtask's description.
const BODY_MAX: usize = 2_000;

/// What a split made.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The planner's run.
    pub run_id: i64,
    /// The new subtasks, in the planner's order.
    pub created: Vec<i64>,
    /// How many further lines were left out past [`MAX_SUBTASKS`].
    pub dropped: usize,
}

/// The planner's prompt: the issue and its thread, and the answer's format.
pub fn prompt(issue: &Issue, comments: &[Comment]) -> String {
    format!(
        "You are planning, not implementing. Split issue #{id} below into small subtasks that \
         an agent can each finish and a person can review on its own. The current directory is \
         the repository: read any file you need, but do not edit, create, commit or run \
         anything that changes it.\n\n{issue_text}\n\
         End your answer with the subtasks, one per line, in the order they should be done, \
         each exactly like this (at most {MAX_SUBTASKS}):\n\
         SUBTASK: <short title> — <one-line description>\n",
        id = issue.id,
        issue_text = super::prompt::issue_and_thread(issue, comments),
    )
}

/// The subtasks of an answer: every `SUBTASK:` line (a list bullet before it is allowed), its
/// title and description split at ` — ` (or ` - `), made one printable line each; lines with an
/// empty title are skipped. At most [`MAX_SUBTASKS`]; the count of the rest.
pub fn parse(answer: &str) -> (Vec<(String, String)>, usize) {
    let mut found = Vec::new();
    for line in answer.lines() {
        let line = line.trim().trim_start_matches(['-', '*', '•']).trim_start();
        let Some(rest) = strip_prefix_ci(line, "SUBTASK:") else {
            continue;
        };
        // The leading space lets a line with no title (`SUBTASK: — text`) split too.
        let rest = format!(" {}", one_line(rest).trim());
        let (title, body) = match rest.split_once(" — ").or_else(|| rest.split_once(" - ")) {
            Some((t, b)) => (t.trim().to_string(), b.trim().to_string()),
            None => (rest.trim().to_string(), String::new()),
        };
        let title = title.trim_matches(['*', '`', '"']).trim().to_string();
        if title.is_empty() {
            continue;
        }
        let (title, body) = if title.chars().count() > TITLE_MAX {
            let short: String = title.chars().take(TITLE_MAX).collect();
            (
                format!("{short}…"),
                format!("{title}\n\n{body}").trim().to_string(),
            )
        } else {
            (title, body)
        };
        found.push((title, body.chars().take(BODY_MAX).collect()));
    }
    let dropped = found.len().saturating_sub(MAX_SUBTASKS);
    found.truncate(MAX_SUBTASKS);
    (found, dropped)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A planner's place in this process while it runs: its stop entry (by issue, as a slot's run
/// has, so that a person's stop, a stop request and the daily budget's stop reach it) and its
/// pane, numbered past the slots so that it never takes a slot's pane. Both are given back on
/// drop, however the planner ends.
pub(super) struct PlanSlot<'a> {
    runner: &'a Runner,
    issue_id: i64,
    /// The pane's slot number.
    pub slot: usize,
    offset: usize,
}

impl<'a> PlanSlot<'a> {
    /// Takes the stop entry of `issue_id` and the lowest free planner pane; `Err` when this
    /// process already runs an agent on the issue.
    fn take(
        runner: &'a Runner,
        issue_id: i64,
        stop: &CancellationToken,
        reason: &StopReason,
    ) -> Result<PlanSlot<'a>, String> {
        let mut stops = runner
            .stops
            .lock()
            .map_err(|_| "the runner's stop map is poisoned".to_string())?;
        if stops.contains_key(&issue_id) {
            return Err(format!(
                "#{issue_id} has an agent running here: wait for it or stop it first (nothing was run)"
            ));
        }
        let mut planners = runner
            .planners
            .lock()
            .map_err(|_| "the runner's planner list is poisoned".to_string())?;
        let offset = (0..).find(|n| !planners.contains(n)).unwrap_or(0);
        planners.insert(offset);
        stops.insert(issue_id, (stop.clone(), reason.clone()));
        Ok(PlanSlot {
            runner,
            issue_id,
            slot: runner.settings.slots + offset,
            offset,
        })
    }
}

impl Drop for PlanSlot<'_> {
    fn drop(&mut self) {
        if let Ok(mut m) = self.runner.stops.lock() {
            m.remove(&self.issue_id);
        }
        if let Ok(mut p) = self.runner.planners.lock() {
            p.remove(&self.offset);
        }
    }
}

/// Runs the planner on issue `id` in the repository root and creates its subtasks. Refused,
/// with nothing run, while the queue is held (the daily budget, a rate limit) or when the
/// issue's spend reached its cap. The run shows in a pane of its own and stops like a slot's
/// (a person, a stop request, the daily budget, `shutdown`). `Err` says why nothing was created
/// (the run, when one started, is kept with its cost and transcript).
pub async fn split(
    runner: &Runner,
    id: i64,
    shutdown: &CancellationToken,
) -> Result<Split, String> {
    let s = &runner.settings;
    let db = Db::open(&s.db, std::sync::Arc::clone(&s.redactor))
        .await
        .map_err(|e| e.to_string())?;
    let issue = db
        .call(move |st| st.issue(id))
        .await
        .map_err(|e| e.to_string())?;
    if issue.status == Status::Done {
        return Err(format!(
            "#{id} is done: reopen it before splitting it (nothing was run)"
        ));
    }
    let agent_id = format!("{}-plan", s.agent_id);
    let (caps, owner) = (s.budget.caps(), agent_id.clone());
    let refusal = db
        .call(move |st| st.run_refusal(id, &caps, &owner))
        .await
        .map_err(|e| format!("cannot check the budget of #{id}: {e}"))?;
    if let Some(why) = refusal {
        return Err(format!("{why} (nothing was run)"));
    }
    let comments = db
        .call(move |st| st.comments(id))
        .await
        .map_err(|e| e.to_string())?;
    let role = s.personas.instructions(super::personas::PLAN).await;
    let role = role.map_err(|e| format!("{e} (nothing was run)"))?;
    let (stop, reason) = (shutdown.child_token(), StopReason::default());
    let place = PlanSlot::take(runner, id, &stop, &reason)?;
    let slot = place.slot;
    let (owner, host) = (agent_id.clone(), crate::sys::host_name());
    let run_id = db
        .call(move |st| st.start_run_as(id, &owner, slot as i64, &host, RunRole::Plan))
        .await
        .map_err(|e| format!("cannot start the planner's run: {e}"))?;
    runner.emit(RunnerEvent::RunStarted {
        slot,
        run_id,
        issue_id: id,
        title: format!("plan: {}", strip_all(&issue.title)),
        agent_id: agent_id.clone(),
    });
    let ctx = RunContext {
        runner,
        db: &db,
        slot,
        agent_id: &agent_id,
        run_id,
        issue: &issue,
        stop,
        reason,
        shutdown,
        fix: None,
    };
    let req = AgentRequest {
        prompt: match &role {
            Some(r) => super::personas::with_instructions(
                super::personas::PLAN,
                r,
                prompt(&issue, &comments),
            ),
            None => prompt(&issue, &comments),
        },
        cwd: s.repo_root.clone(),
        resume: None,
        issue_id: id,
        prompt_file: None,
        choice: s
            .personas
            .choice(super::personas::PLAN, ModelChoice::default()),
        read_only: true,
    };
    let (end, result) = match drive_agent(&ctx, &req, &mut 0).await {
        Err(e) => (
            RunEnd::ended(RunOutcome::Failed, e.to_string()),
            Err(e.to_string()),
        ),
        Ok(attempt) => {
            let stopped = attempt.stopped.clone().map(|why| match ctx.reason.get() {
                None if shutdown.is_cancelled() => "stopped: the runner shut down".to_string(),
                _ => why,
            });
            let verdict = decide(
                &attempt.observed,
                attempt.exit_code,
                stopped,
                false,
                ctx.adapter().reports_result(),
            );
            let (end, result) = match verdict {
                Verdict::Stopped(why) => (
                    RunEnd::ended(RunOutcome::Stopped, why.clone()),
                    Err(format!("the planner was {why}")),
                ),
                Verdict::OverBudget(said) => {
                    let why = format!("stopped by Claude Code at its per-run budget: {said}");
                    (
                        RunEnd::ended(RunOutcome::Stopped, why.clone()),
                        Err(format!("the planner was {why}")),
                    )
                }
                Verdict::Failed(why) | Verdict::RateLimited { message: why, .. } => (
                    RunEnd::ended(RunOutcome::Failed, why.clone()),
                    Err(format!("the planner failed: {why}")),
                ),
                Verdict::Blocked(_) | Verdict::Implemented(_) | Verdict::NoChanges(_) => {
                    let (subtasks, dropped) = parse(&attempt.observed.final_text());
                    if subtasks.is_empty() {
                        let why = "the planner's answer has no `SUBTASK: title — description` lines (nothing was created; its transcript is in the run)".to_string();
                        (RunEnd::ended(RunOutcome::Failed, why.clone()), Err(why))
                    } else {
                        let end = RunEnd {
                            outcome: Some(RunOutcome::Planned),
                            ..RunEnd::default()
                        };
                        (end, Ok((subtasks, dropped)))
                    }
                }
            };
            let mut end = attempt.with_stats(end);
            // The issue's session stays its implementer's.
            end.session_id = None;
            (end, result)
        }
    };
    let owner = agent_id.clone();
    let outcome = end.outcome.unwrap_or(RunOutcome::Failed);
    let summary = end.error.as_deref().map(strip_all).unwrap_or_default();
    let (after, _) = db
        .call(move |st| st.finish_run(run_id, &owner, &end))
        .await
        .map_err(|e| format!("cannot record the planner's run {run_id}: {e}"))?;
    runner.emit(RunnerEvent::RunFinished {
        slot,
        run_id,
        issue_id: id,
        outcome,
        status: after.status,
        summary,
    });
    drop(place);
    let (subtasks, dropped) = result.map_err(|e| format!("{e} (run {run_id})"))?;
    let note = format!("Planned by run {run_id}; hand off the ones to do.");
    let created = db
        .call(move |st| st.create_subtasks(id, &subtasks, &note))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Split {
        run_id,
        created,
        dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtask_lines_are_read_with_either_dash_and_bullets() {
        let answer = "I read the code.\n\nSUBTASK: Add the parser — reads the config file\n\
                      - SUBTASK: Wire it in - call it at startup\n\
                      subtask: **Docs**\nSUBTASK:   — no title\nnot a SUBTASK: line";
        let (got, dropped) = parse(answer);
        assert_eq!(dropped, 0);
        assert_eq!(
            got,
            vec![
                ("Add the parser".into(), "reads the config file".into()),
                ("Wire it in".into(), "call it at startup".into()),
                ("Docs".into(), String::new()),
            ]
        );
    }

    #[test]
    fn hostile_and_huge_answers_are_tamed() {
        let long = "x".repeat(500);
        let answer = format!(
            "SUBTASK: Evil \u{1b}]0;pwned\u{7}title\u{202e} — body \u{1b}[2J\nSUBTASK: {long}\n"
        );
        let (got, _) = parse(&answer);
        assert!(
            !got[0].0.contains('\u{1b}') && !got[0].0.contains('\u{202e}'),
            "{got:?}"
        );
        assert!(!got[0].1.contains('\u{1b}'), "{got:?}");
        assert_eq!(got[1].0.chars().count(), TITLE_MAX + 1);
        assert!(got[1].1.starts_with(&long));
        let many: String = (0..30).map(|i| format!("SUBTASK: t{i}\n")).collect();
        let (got, dropped) = parse(&many);
        assert_eq!((got.len(), dropped), (MAX_SUBTASKS, 10));
        assert_eq!(parse("no plan here").0, Vec::new());
    }
}
