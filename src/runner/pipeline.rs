//! The pipeline after the implementer (`[pipeline] KIND = ["implement", "tester", "review"]`):
//! once the implementer's change passed its checks, each custom persona runs in order in the
//! issue's worktree, on its branch, as a run of its own (role `persona`, its name recorded,
//! its own session, model and cost); what it changes is committed on the branch. One that fails
//! or asks a question blocks the issue as the implementer's failure would. Then the reviewer
//! (`review` in the pipeline) reads the whole change, else the last persona moves the issue to
//! review.

use super::agent::{AgentRequest, ModelChoice};
use super::drive::drive_agent;
use super::error::{self, RunnerError, Step};
use super::failure::classify;
use super::outcome::{decide, Verdict};
use super::personas::Persona;
use super::review::checks::Next;
use super::review::reviewer;
use super::run::{close_run, open_run, RunContext};
use super::verdict::{self, Ending};
use super::workspace::{self, Workspace};
use super::{git, prompt};
use crate::domain::sanitize::strip_all;
use crate::domain::{Actor, Comment, DiffStat, Issue, RunOutcome, RunRole, Status};
use crate::store::RunEnd;

/// Runs the custom personas of the issue's pipeline, then the reviewer when it reads the
/// change. `diff` is the change's size so far, stored when the issue goes to review.
pub(super) async fn after_checks(
    ctx: &RunContext<'_>,
    ws: &Workspace,
    mut diff: Option<DiffStat>,
    cycles: u32,
) -> Next {
    let s = ctx.settings();
    let kind = ctx.issue.kind;
    let reviewing = s.personas.reviews(kind, s.review.agent);
    let steps: Vec<Persona> = s
        .personas
        .after_implementer(kind)
        .into_iter()
        .cloned()
        .collect();
    for (n, persona) in steps.iter().enumerate() {
        let last = n + 1 == steps.len() && !reviewing;
        match run_persona(ctx, ws, persona, diff.take(), last).await {
            Some(d) => diff = d,
            None => return Next::Done,
        }
    }
    if reviewing {
        reviewer::review(ctx, ws, diff, cycles).await
    } else {
        Next::Done
    }
}

/// One persona's run, closed. `Some(diff)` (the change's size now) when the next step may
/// go; `None` when the issue moved (blocked, or to review after the `last` step) or the run
/// could not be opened.
async fn run_persona(
    ctx: &RunContext<'_>,
    ws: &Workspace,
    persona: &Persona,
    diff: Option<DiffStat>,
    last: bool,
) -> Option<Option<DiffStat>> {
    let title = strip_all(&format!("{}: {}", persona.name, ctx.issue.title));
    let run_id = open_run(ctx, RunRole::Persona, &title).await?;
    let name = persona.name.clone();
    if let Err(e) = ctx
        .db
        .call(move |st| st.set_run_persona(run_id, &name))
        .await
    {
        tracing::warn!(
            issue_id = ctx.issue.id,
            "cannot record the run's persona: {e}"
        );
    }
    let pc = RunContext {
        run_id,
        fix: None,
        ..ctx.clone()
    };
    let mut end = match persona_end(&pc, ws, persona).await {
        Ok(end) => end,
        Err(e) => verdict::from_error(e),
    };
    // The issue's session stays the implementer's, which its next run resumes.
    end.session_id = None;
    // Its words are the persona's own, as the reviewer's are the reviewer's.
    for (author, kind, _) in &mut end.comments {
        if *kind == crate::domain::AuthorKind::Agent {
            *author = format!("{}:{}", persona.name, ctx.agent_id);
        }
    }
    let carried = end.diff.take().or(diff);
    let next = match end.move_to {
        Some((Status::InReview, _)) if last => {
            end.diff = carried;
            None
        }
        Some((Status::InReview, _)) | None => {
            end.move_to = None;
            Some(carried)
        }
        Some(_) => None,
    };
    close_run(&pc, end).await;
    next
}

/// What one persona's run did: committed its changes (to review, as far as it is concerned),
/// changed nothing (passed), or failed, stopped or asked (blocked).
async fn persona_end(
    pc: &RunContext<'_>,
    ws: &Workspace,
    persona: &Persona,
) -> Result<RunEnd, RunnerError> {
    let s = pc.settings();
    let Some(text) = s.personas.instructions(&persona.name).await? else {
        return Err(RunnerError::Persona(format!(
            "[personas.{}] has no prompt_file",
            persona.name
        )));
    };
    let id = pc.issue.id;
    let comments = pc
        .db
        .call(move |st| st.comments(id))
        .await
        .step("cannot read the thread")?;
    let wt = ws.worktree.clone();
    let (head_before, refs_before) =
        error::git(move || Ok((git::head(&wt).ok(), git::ref_names(&wt)?)))
            .await
            .step("could not read the repository's refs")?;
    let here = Workspace {
        branch: ws.branch.clone(),
        worktree: ws.worktree.clone(),
        base: ws.base.clone(),
        head_before,
        refs_before,
        conflicts: Vec::new(),
        notes: Vec::new(),
    };
    let req = AgentRequest {
        prompt: persona_prompt(pc.issue, &comments, &here, &persona.name, &text),
        cwd: here.worktree.clone(),
        // Its own session: a persona reads the change, not the implementer's reasoning.
        resume: None,
        issue_id: id,
        prompt_file: None,
        choice: s.personas.choice(&persona.name, ModelChoice::default()),
        read_only: false,
    };
    let attempt = drive_agent(pc, &req, &mut 0).await?;
    let wt_text = here.path_text();
    let stopped = attempt
        .stopped
        .clone()
        .or_else(|| pc.reason.get().filter(|_| pc.stop.is_cancelled()));
    if pc.shutdown.is_cancelled() && stopped.is_some() {
        return Ok(attempt.with_stats(verdict::shut_down(&wt_text)));
    }
    let (wt, before) = (here.worktree.clone(), here.head_before.clone());
    let has_changes =
        error::git(move || Ok(git::has_changes(&wt)? || git::head(&wt).ok() != before))
            .await
            .step("could not inspect the worktree")?;
    let verdict = decide(
        &attempt.observed,
        attempt.exit_code,
        stopped,
        has_changes,
        pc.adapter().reports_result(),
    );
    let failure = classify(&verdict, &attempt.observed, pc.reason.class());
    let end = match verdict {
        Verdict::NoChanges(words) => RunEnd {
            outcome: Some(RunOutcome::Passed),
            move_to: Some((Status::InReview, Actor::Agent)),
            comments: vec![verdict::system(nothing_changed(&persona.name, &words))],
            ..RunEnd::default()
        },
        Verdict::RateLimited { message, .. } => {
            rate_limited(pc, message, &wt_text, attempt.stderr_tail())
        }
        other => match verdict::ending(other, pc.agent_id, &wt_text, attempt.stderr_tail()) {
            Ending::Commit(summary) => workspace::commit_and_review(pc, &here, summary).await?,
            Ending::Now(end) => RunEnd { failure, ..end },
            Ending::PauseQueue { message, .. } => {
                rate_limited(pc, message, &wt_text, attempt.stderr_tail())
            }
        },
    };
    Ok(attempt.with_stats(end))
}

/// A rate-limited persona as a failed one: the pipeline has no place to wait in, so the issue
/// blocks (with class `rate_limit`) rather than holding the whole queue mid-pipeline.
fn rate_limited(
    pc: &RunContext<'_>,
    message: String,
    wt_text: &str,
    tail: Option<String>,
) -> RunEnd {
    match verdict::ending(Verdict::Failed(message.clone()), pc.agent_id, wt_text, tail) {
        Ending::Now(end) => RunEnd {
            failure: Some(crate::domain::FailureClass::RateLimit),
            ..end
        },
        _ => RunEnd {
            outcome: Some(RunOutcome::Failed),
            error: Some(message),
            move_to: Some((Status::Blocked, Actor::System)),
            failure: Some(crate::domain::FailureClass::RateLimit),
            ..RunEnd::default()
        },
    }
}

/// The comment of a persona that changed no file.
fn nothing_changed(name: &str, words: &str) -> String {
    let words = words.trim();
    if words.is_empty() {
        format!("The `{name}` persona changed nothing.")
    } else {
        format!("The `{name}` persona changed nothing. It said:\n\n{words}")
    }
}

/// A custom persona's prompt: who it is and where, its instructions, the issue and thread.
fn persona_prompt(
    issue: &Issue,
    comments: &[Comment],
    ws: &Workspace,
    name: &str,
    instructions: &str,
) -> String {
    format!(
        "You are the `{name}` persona on issue #{id}. The implementer's change is committed on \
         branch `{branch}` (based on `{base}`); the current directory is that branch's worktree. \
         Do your part as your instructions say. Change files here if they ask you to: autopilot \
         commits what you leave (do not switch branches). End with a short summary of what you \
         did. If you cannot do your part without a person, end with a line `BLOCKED: <your \
         question>`.\n\nYour instructions:\n{}\n\n{}",
        instructions.trim_end(),
        prompt::issue_and_thread(issue, comments),
        id = issue.id,
        branch = ws.branch,
        base = ws.base,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persona_that_changed_nothing_says_so_with_its_words() {
        assert_eq!(
            nothing_changed("tester", "  "),
            "The `tester` persona changed nothing."
        );
        assert!(nothing_changed("tester", "All covered.").ends_with("It said:\n\nAll covered."));
    }
}
