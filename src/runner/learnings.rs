//! Learnings carried forward: the `LEARNED:` lines of a run's result are stored (the store
//! redacts and caps them), and the ones most relevant to an issue go into its prompts.

use super::drive::Attempt;
use super::events::RunnerEvent;
use super::prompt::LEARNINGS_MAX;
use super::run::RunContext;
use crate::domain::learning::{parse, Learning};

/// Stores the lessons the attempt's final result states, in one transaction with an event
/// each. A failure is reported and the run goes on: a lesson is worth less than the run.
pub(super) async fn keep(ctx: &RunContext<'_>, attempt: &Attempt) {
    let Some(text) = attempt
        .observed
        .result
        .as_ref()
        .and_then(|r| r.text.as_deref())
    else {
        return;
    };
    let lessons = parse(text);
    if lessons.is_empty() {
        return;
    }
    let (issue_id, run_id, agent) = (ctx.issue.id, ctx.run_id, ctx.agent_id.to_string());
    if let Err(e) = ctx
        .db
        .call(move |st| st.add_learnings(issue_id, run_id, &agent, &lessons))
        .await
    {
        ctx.emit(RunnerEvent::Problem(format!(
            "cannot store what run {run_id} of #{issue_id} learned: {e}"
        )));
    }
}

/// The learnings most relevant to the issue of `ctx` (its title and body matched against
/// them), leaving out its own: its agent has its thread and session already. None when they
/// cannot be read (logged): a prompt without them still works.
pub(super) async fn relevant(ctx: &RunContext<'_>) -> Vec<Learning> {
    let (title, body, id) = (
        ctx.issue.title.clone(),
        ctx.issue.body.clone(),
        ctx.issue.id,
    );
    let limit = i64::try_from(LEARNINGS_MAX).unwrap_or(i64::MAX);
    match ctx
        .db
        .call(move |st| st.relevant_learnings(&title, &body, Some(id), limit))
        .await
    {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(
                issue_id = id,
                "cannot read the learnings for the prompt: {e}"
            );
            Vec::new()
        }
    }
}
