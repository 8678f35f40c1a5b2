//! `[runner] retry`: a failed run whose class the policy retries ends with a note in the thread
//! instead of blocking, and the agent goes again on the same claim. With `analyze`, a cheap
//! model first (role `analyze`, a run of its own with its own cost; `[runner] analyze_model`)
//! reads the tail of the failed run's transcript, read-only like the planner, and says what
//! went wrong; its answer goes into the thread and the next implementing run's prompt.

use super::agent::{AgentRequest, ModelChoice};
use super::drive::drive_agent;
use super::failure::{retry_note, RetryMode};
use super::outcome::{decide, Verdict};
use super::run::{close_run, open_run, RunContext};
use super::verdict::system;
use crate::domain::transcript_text::push_search_text;
use crate::domain::{FailureClass, RunOutcome, RunRole};
use crate::store::RunEnd;

/// Transcript lines of the failed run the analyst reads (its newest).
const TAIL_LINES: i64 = 80;
/// Most characters of that tail in the prompt (its end).
const TAIL_CHARS: usize = 12_000;
/// Most characters of a diagnosis carried into the thread and the next prompt.
pub const DIAGNOSIS_MAX: usize = 4_000;

/// Ends the failed run of `ctx` (its `end`) with the note of retry `n` instead of its move,
/// then, with `analyze`, runs the analyst in `cwd`. The message for the next run's prompt:
/// the diagnosis, when there is one.
pub(super) async fn again(
    ctx: &RunContext<'_>,
    mut end: RunEnd,
    n: u32,
    cwd: std::path::PathBuf,
) -> Option<String> {
    let policy = &ctx.settings().retry;
    let class = end.failure.unwrap_or(FailureClass::Crash);
    let analyzing = policy.mode == RetryMode::Analyze;
    let note = retry_note(
        n,
        policy.max_retries,
        class,
        end.error.as_deref(),
        analyzing,
    );
    end.move_to = None;
    end.comments = vec![system(note)];
    let error = end.error.clone().unwrap_or_else(|| class.to_string());
    let stderr = end.stderr_tail.clone().unwrap_or_default();
    close_run(ctx, end).await;
    if !analyzing {
        return None;
    }
    let (run_id, diagnosis) = diagnose(ctx, ctx.run_id, &error, &stderr, cwd).await?;
    Some(format!(
        "What went wrong last time (diagnosis by run {run_id}):\n{diagnosis}"
    ))
}

/// What the analyst is told: the issue, how the run failed, and what its transcript ended with.
pub fn prompt(title: &str, error: &str, stderr: &str, tail: &str) -> String {
    let mut p = format!(
        "You are diagnosing a failed run of a coding agent, not implementing anything. Do not \
         edit, create, commit or run anything that changes the repository; read files if you \
         need to.\n\nThe issue: {title}\nHow the run failed: {error}\n"
    );
    if !stderr.trim().is_empty() {
        p.push_str(&format!(
            "\nThe agent's last stderr lines:\n```\n{}\n```\n",
            stderr.trim_end()
        ));
    }
    p.push_str(&format!(
        "\nThe end of the run's transcript:\n```\n{}\n```\n\n\
         Answer in at most ten lines: what went wrong, and what the agent should do differently \
         when it runs again.\n",
        tail.trim_end()
    ));
    p
}

/// The end of `text`, at most `max` characters, cut on a character boundary.
fn last_chars(text: &str, max: usize) -> &str {
    let skip = text.chars().count().saturating_sub(max);
    text.char_indices()
        .nth(skip)
        .map_or("", |(i, _)| &text[i..])
}

/// Runs the analyst on the failed run `failed_run` of `ctx`'s issue, in `cwd`: its run id and
/// diagnosis, which its run's comment carries; `None` when there is none (its run's comment,
/// or the runner's problem report, says why; the run, when one started, is kept).
async fn diagnose(
    ctx: &RunContext<'_>,
    failed_run: i64,
    error: &str,
    stderr: &str,
    cwd: std::path::PathBuf,
) -> Option<(i64, String)> {
    let tail = match ctx
        .db
        .call(move |st| st.last_chunks(failed_run, TAIL_LINES))
        .await
    {
        Ok(tail) => tail,
        Err(e) => {
            ctx.emit(super::RunnerEvent::Problem(format!(
                "cannot read run {failed_run}'s transcript to diagnose it: {e}"
            )));
            Vec::new()
        }
    };
    let mut text = String::new();
    for chunk in &tail {
        for line in chunk.lines().filter(|l| !l.is_empty()) {
            push_search_text(line, &mut text);
        }
    }
    let title = crate::domain::sanitize::one_line(&ctx.issue.title);
    let title = format!("analyze: {title}");
    let run_id = open_run(ctx, RunRole::Analyze, &title).await?;
    let actx = RunContext {
        run_id,
        ..ctx.clone()
    };
    let mut asked = prompt(
        &ctx.issue.title,
        error,
        stderr,
        last_chars(&text, TAIL_CHARS),
    );
    match ctx
        .settings()
        .personas
        .instructions(super::personas::ANALYZE)
        .await
    {
        Ok(Some(r)) => {
            asked = super::personas::with_instructions(super::personas::ANALYZE, &r, asked)
        }
        Ok(None) => {}
        Err(e) => ctx.emit(super::RunnerEvent::Problem(format!(
            "the analyst runs with its built-in instructions only: {e}"
        ))),
    }
    let req = AgentRequest {
        prompt: asked,
        cwd,
        resume: None,
        issue_id: ctx.issue.id,
        prompt_file: None,
        choice: ctx.settings().personas.choice(
            super::personas::ANALYZE,
            ModelChoice {
                model: Some(ctx.settings().retry.analyze_model.clone()),
                ..ModelChoice::default()
            },
        ),
        read_only: true,
    };
    let (end, answer) = match drive_agent(&actx, &req, &mut 0).await {
        Err(e) => (
            RunEnd::ended(RunOutcome::Failed, e.to_string()),
            Err(e.to_string()),
        ),
        Ok(attempt) => {
            let verdict = decide(
                &attempt.observed,
                attempt.exit_code,
                attempt.stopped.clone(),
                false,
                actx.adapter().reports_result(),
            );
            let (end, answer) = match verdict {
                Verdict::Blocked(_) | Verdict::Implemented(_) | Verdict::NoChanges(_) => {
                    let said = attempt.observed.final_text();
                    let said: String = said.trim().chars().take(DIAGNOSIS_MAX).collect();
                    if said.is_empty() {
                        let why = "the analyst gave no answer".to_string();
                        (RunEnd::ended(RunOutcome::Failed, why.clone()), Err(why))
                    } else {
                        let done = RunEnd {
                            outcome: Some(RunOutcome::Analyzed),
                            ..RunEnd::default()
                        };
                        (done, Ok(crate::domain::sanitize::strip_all(&said)))
                    }
                }
                other => {
                    let why = format!("the analyst did not answer: {other:?}");
                    (RunEnd::ended(RunOutcome::Failed, why.clone()), Err(why))
                }
            };
            let mut end = attempt.with_stats(end);
            // The issue's session stays its implementer's.
            end.session_id = None;
            (end, answer)
        }
    };
    let mut end = end;
    end.comments = vec![system(match &answer {
        Ok(diagnosis) => format!("Diagnosis by run {run_id} (analyze):\n{diagnosis}"),
        Err(why) => format!(
            "No diagnosis from run {run_id} (analyze): {why}. The agent runs again as it was."
        ),
    })];
    close_run(&actx, end).await;
    answer.ok().map(|a| (run_id, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_carries_the_failure_and_the_transcripts_end() {
        let p = prompt(
            "Fix it",
            "the agent exited with status 3",
            "boom",
            "read src/a.rs",
        );
        assert!(p.starts_with("You are diagnosing a failed run"), "{p}");
        assert!(
            p.contains("How the run failed: the agent exited with status 3"),
            "{p}"
        );
        assert!(p.contains("```\nboom\n```"), "{p}");
        assert!(p.contains("```\nread src/a.rs\n```"), "{p}");
        assert!(!prompt("t", "e", "  ", "x").contains("stderr"));
        assert_eq!(last_chars("añb", 2), "ñb");
        assert_eq!(last_chars("ab", 5), "ab");
    }
}
