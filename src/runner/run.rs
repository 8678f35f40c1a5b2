//! One run, from the claim to the final store transaction: the workspace
//! ([`super::workspace`]), the agent ([`super::drive`]), what the worktree holds afterwards,
//! and the verdict worded by [`super::verdict`].

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::agent::AgentRequest;
use super::agent::ModelChoice;
use super::drive::{drive_agent, Attempt};
use super::error::{self, RunnerError, Step};
use super::events::RunnerEvent;
use super::failure::classify;
use super::notify::NotifyEvent;
use super::outcome::{decide, rate_limit_hold};
use super::personas::{self, IMPLEMENT};
use super::review::checks::{self, Next};
use super::verdict::{self, Ending};
use super::workspace::{self, Workspace};
use super::{git, prompt, Db, Runner, RunnerSettings};
use crate::domain::{
    now_millis, Actor, Comment, FailureClass, Issue, RunOutcome, RunRole, Status, Tokens,
};
use crate::store::RunEnd;

/// Why a run is being stopped: the first reason given wins, with its failure class.
#[derive(Debug, Clone, Default)]
pub(super) struct StopReason(Arc<Mutex<Option<(String, FailureClass)>>>);

impl StopReason {
    /// Gives the reason (a person's stop, a lost claim), unless one was given already.
    pub fn set(&self, text: String) {
        self.set_as(FailureClass::Stopped, text);
    }

    /// Gives the reason and its class (a limit: timeout, stall, budget), unless one was given.
    pub fn set_as(&self, class: FailureClass, text: String) {
        if let Ok(mut r) = self.0.lock() {
            r.get_or_insert((text, class));
        }
    }

    /// The reason given, if any.
    pub fn get(&self) -> Option<String> {
        self.0
            .lock()
            .ok()
            .and_then(|r| r.as_ref().map(|(t, _)| t.clone()))
    }

    /// The class of the reason given (`stopped` when none was).
    pub fn class(&self) -> FailureClass {
        self.0
            .lock()
            .ok()
            .and_then(|r| r.as_ref().map(|(_, c)| *c))
            .unwrap_or(FailureClass::Stopped)
    }
}

/// What every step of one run needs: the runner and the store, where the run happens and
/// for whom, and how it is stopped.
#[derive(Clone)]
pub(super) struct RunContext<'a> {
    /// The runner (settings, adapter, event channel).
    pub runner: &'a Runner,
    /// The slot's store connection.
    pub db: &'a Db,
    /// The slot the run occupies (its pane).
    pub slot: usize,
    /// The agent id the slot records.
    pub agent_id: &'a str,
    /// The run.
    pub run_id: i64,
    /// The claimed issue.
    pub issue: &'a Issue,
    /// Fires to stop this run: a person, a limit, a lost claim, or the shutdown.
    pub stop: CancellationToken,
    /// Why `stop` fired.
    pub reason: StopReason,
    /// Fires when the whole runner shuts down.
    pub shutdown: &'a CancellationToken,
    /// What failed in the checks of the previous run, or what the reviewer asked to change,
    /// as the agent's newest message.
    pub fix: Option<&'a str>,
}

impl RunContext<'_> {
    /// The runner's settings.
    pub fn settings(&self) -> &RunnerSettings {
        &self.runner.settings
    }

    /// The adapter of the issue's agent (the runner's own when it has none, or one not
    /// available: [`RunContext::execute`] blocks those before any agent runs).
    pub fn adapter(&self) -> std::sync::Arc<dyn super::agent::Adapter> {
        self.runner
            .adapter_for(self.issue.agent)
            .unwrap_or_else(|_| std::sync::Arc::clone(&self.runner.adapter))
    }

    /// Reports to the runner's watchers.
    pub fn emit(&self, ev: RunnerEvent) {
        self.runner.emit(ev);
    }

    /// The run between its claim and its final transaction: what the store records, and the
    /// comments that say why; and the workspace, once it was prepared.
    async fn execute(&self) -> (RunEnd, Option<Workspace>) {
        if let (Some(want), Err(why)) =
            (self.issue.agent, self.runner.adapter_for(self.issue.agent))
        {
            return (verdict::agent_unavailable(self.issue.id, want, &why), None);
        }
        let ws = match workspace::prepare(self).await {
            Ok(ws) => ws,
            Err(e) => return (verdict::from_error(e), None),
        };
        let id = self.issue.id;
        let comments = match self
            .db
            .call(move |st| st.comments(id))
            .await
            .step("cannot read the thread")
        {
            Ok(c) => c,
            Err(e) => return (verdict::from_error(e), Some(ws)),
        };
        let attempt = match self.attempt(&ws, &comments).await {
            Ok(a) => a,
            Err(e) => return (verdict::from_error(e), Some(ws)),
        };
        super::learnings::keep(self, &attempt).await;
        let end = match self.conclude(&ws, &attempt).await {
            Ok(end) => end,
            Err(e) => verdict::from_error(e),
        };
        (attempt.with_stats(end), Some(ws))
    }

    /// Runs the agent with the whole thread in its prompt, once more without resuming if its
    /// old session is gone.
    async fn attempt(&self, ws: &Workspace, comments: &[Comment]) -> Result<Attempt, RunnerError> {
        let issue = self.issue;
        let resume = issue.session_id.clone();
        let note = prompt::conflict_note(&ws.base, &ws.conflicts);
        let mut req = AgentRequest {
            prompt: prompt::build_with(issue, comments, &ws.branch, resume.is_some(), self.fix)
                + &note,
            cwd: ws.worktree.clone(),
            resume,
            issue_id: issue.id,
            prompt_file: None,
            choice: (self.settings().personas).choice(IMPLEMENT, ModelChoice::of(issue)),
            read_only: false,
        };
        let learned = super::learnings::relevant(self).await;
        req.prompt = prompt::with_learnings(&learned, req.prompt);
        let guidelines = self.guidelines().await;
        let role = self.settings().personas.instructions(IMPLEMENT).await?;
        let dress = |p| personas::dress(IMPLEMENT, role.as_deref(), guidelines.as_ref(), p);
        req.prompt = dress(req.prompt);
        let mut seq = 0i64;
        let earlier = self.earlier_usage(req.resume.as_deref()).await;
        let mut attempt = drive_agent(self, &req, &mut seq).await?;
        if let Some(usage) = attempt
            .observed
            .result
            .as_mut()
            .and_then(|r| r.usage.as_deref_mut())
        {
            usage.tokens = usage.tokens.map(|t| t.less(earlier));
        }
        if req.resume.is_some()
            && attempt.stopped.is_none()
            && self
                .adapter()
                .resume_failed(&attempt.stderr_tail, attempt.observed.saw_init)
        {
            tracing::info!(
                issue_id = issue.id,
                "session could not be resumed; starting a new one"
            );
            req.resume = None;
            let fresh = prompt::build_with(issue, comments, &ws.branch, false, self.fix) + &note;
            req.prompt = dress(prompt::with_learnings(&learned, fresh));
            return drive_agent(self, &req, &mut seq).await;
        }
        Ok(attempt)
    }

    /// The template this run's prompt carries, recorded on the run; one that cannot be read
    /// (deleted since it was chosen) is left out and the thread says so.
    async fn guidelines(&self) -> Option<super::templates::Loaded> {
        let set = &self.settings().templates;
        let name = set.name_for(self.issue)?;
        let (id, run_id) = (self.issue.id, self.run_id);
        match set.load(&name, &self.settings().redactor) {
            Ok(t) => {
                let n = name.clone();
                if let Err(e) = self
                    .db
                    .call(move |st| st.set_run_template(run_id, &n))
                    .await
                {
                    tracing::warn!(issue_id = id, "cannot record the run's template: {e}");
                }
                Some(t)
            }
            Err(why) => {
                let text = format!(
                    "Template {name:?} could not be used, so this run's prompt has no guidelines: {why}. Add the file back, or choose another with `autopilot-tui edit {id} --template NAME` (\"\" for none)."
                );
                let posted = self
                    .db
                    .call(move |st| {
                        st.add_comment(id, "autopilot", crate::domain::AuthorKind::System, &text)
                    })
                    .await;
                if let Err(e) = posted {
                    tracing::warn!(issue_id = id, "cannot note the missing template: {e}");
                }
                None
            }
        }
    }

    /// The tokens this issue's earlier runs on `session` used, for adapters whose usage counts
    /// the whole session (none otherwise, and none when they cannot be read: the run's usage
    /// is then its session's, too high rather than lost).
    async fn earlier_usage(&self, session: Option<&str>) -> Tokens {
        let Some(session) = session.filter(|_| self.runner.adapter.usage_is_session_total()) else {
            return Tokens::default();
        };
        let (issue_id, session) = (self.issue.id, session.to_string());
        let runs = self.db.call(move |st| st.runs(issue_id)).await;
        let mut sum = Tokens::default();
        for run in runs.unwrap_or_default() {
            if run.session_id.as_deref() == Some(session.as_str()) {
                sum += Tokens {
                    input: run.input_tokens.unwrap_or(0),
                    output: run.output_tokens.unwrap_or(0),
                    cache_read: run.cache_read_tokens.unwrap_or(0),
                    cache_write: run.cache_write_tokens.unwrap_or(0),
                };
            }
        }
        sum
    }

    /// What the agent's attempt means, from what it said and what the worktree holds.
    async fn conclude(&self, ws: &Workspace, attempt: &Attempt) -> Result<RunEnd, RunnerError> {
        let wt_text = ws.path_text();
        // Shutting down is not the issue's fault: hand it back instead of parking it.
        if self.shutdown.is_cancelled() && attempt.stopped.is_some() {
            return Ok(verdict::shut_down(&wt_text));
        }
        let (wt, head_before) = (ws.worktree.clone(), ws.head_before.clone());
        let has_changes =
            error::git(move || Ok(git::has_changes(&wt)? || git::head(&wt).ok() != head_before))
                .await
                .step("could not inspect the worktree")?;
        let stopped = attempt
            .stopped
            .clone()
            .or_else(|| self.reason.get().filter(|_| self.stop.is_cancelled()));
        let verdict = decide(
            &attempt.observed,
            attempt.exit_code,
            stopped,
            has_changes,
            self.adapter().reports_result(),
        );
        let failure = classify(&verdict, &attempt.observed, self.reason.class());
        match verdict::ending(verdict, self.agent_id, &wt_text, attempt.stderr_tail()) {
            Ending::Now(end) => Ok(RunEnd { failure, ..end }),
            Ending::PauseQueue { message, resets_at } => Ok(RunEnd {
                failure,
                ..self.pause_queue(&message, resets_at).await
            }),
            Ending::Commit(summary) => workspace::commit_and_review(self, ws, summary).await,
        }
    }

    /// Holds the whole queue after a rate limit; the issue goes back to ready.
    async fn pause_queue(&self, message: &str, resets_at: Option<i64>) -> RunEnd {
        let backoff = self.settings().rate_limit_backoff;
        let hold = rate_limit_hold(message, resets_at, now_millis(), backoff);
        let (until, why, agent) = (hold.until, hold.reason.clone(), self.agent_id.to_string());
        if let Err(e) = self
            .db
            .call(move |st| st.pause_until(until, &why, Actor::Agent, &agent))
            .await
        {
            self.emit(RunnerEvent::Problem(format!(
                "could not pause the queue after a rate limit: {e}"
            )));
        }
        self.emit(RunnerEvent::Problem(verdict::queue_paused(&hold)));
        verdict::rate_limited(message, &hold)
    }
}

/// Runs one claimed issue to its end: the agent's run, the checks of what it committed, the
/// reviewer when one is configured, and the agent again while failing checks or the reviewer's
/// changes go back to it. Never panics and never leaves the issue
/// in progress without reporting why: every run ends in `finish_run`.
pub(super) async fn run_issue(
    r: &Runner,
    db: &Db,
    slot: usize,
    agent_id: &str,
    issue: Issue,
    shutdown: &CancellationToken,
) {
    let issue_id = issue.id;
    let (mut stop, mut reason) = (shutdown.child_token(), StopReason::default());
    if let Ok(mut m) = r.stops.lock() {
        m.insert(issue_id, (stop.clone(), reason.clone()));
    }
    let mut renewer = spawn_lease_renewer(r, db, agent_id, issue_id, &stop, &reason);
    let mut retries = 0u32;
    let ready =
        super::setup::before_first_run(r, db, slot, agent_id, issue, &stop, &reason, shutdown);
    let (mut issue, mut fix, mut failed, mut cycles) = (ready.await, None::<String>, 0u32, 0u32);
    while let Some(issue) = issue.as_mut() {
        let title = crate::domain::sanitize::strip_all(&issue.title);
        let Some(run_id) = start(r, db, slot, agent_id, issue_id, RunRole::Implement, title).await
        else {
            break;
        };
        let ctx = RunContext {
            runner: r,
            db,
            slot,
            agent_id,
            run_id,
            issue: &*issue,
            stop: stop.clone(),
            reason: reason.clone(),
            shutdown,
            fix: fix.as_deref(),
        };
        let (mut end, ws) = ctx.execute().await;
        if let Some(ws) = &ws {
            end.comments
                .extend(ws.notes.iter().map(|n| verdict::system(n.clone())));
        }
        let committed = end.outcome == Some(RunOutcome::Implemented)
            && matches!(end.move_to, Some((Status::InReview, _)));
        let retrying = !committed
            && !shutdown.is_cancelled()
            && r.settings.retry.retries(end.failure, retries);
        let cwd = ws
            .as_ref()
            .map_or_else(|| r.settings.repo_root.clone(), |w| w.worktree.clone());
        let mut again = None;
        let next = match ws.filter(|_| committed) {
            Some(ws) => match checks::after_commit(&ctx, &ws, end, failed).await {
                Next::Review(diff) => super::pipeline::after_checks(&ctx, &ws, diff, cycles).await,
                next => next,
            },
            None if retrying => {
                retries += 1;
                // A stall or a time limit fired the claim's stop: the next runs get a new one.
                (stop, reason) = (shutdown.child_token(), StopReason::default());
                if let Ok(mut m) = r.stops.lock() {
                    m.insert(issue_id, (stop.clone(), reason.clone()));
                }
                renewer.abort();
                renewer = spawn_lease_renewer(r, db, agent_id, issue_id, &stop, &reason);
                let ctx = RunContext {
                    stop: stop.clone(),
                    reason: reason.clone(),
                    ..ctx.clone()
                };
                again = Some(super::retry::again(&ctx, end, retries, cwd).await);
                Next::Done
            }
            None => {
                close_run(&ctx, end).await;
                Next::Done
            }
        };
        // An issue whose spend reached its cap is parked instead of going round again.
        if again.is_some() || matches!(next, Next::Fix(_) | Next::Revise(_)) {
            let cap = r.settings.budget.per_issue_usd;
            match db.call(move |s| s.park_over_budget(issue_id, cap)).await {
                Ok(false) => {}
                Ok(true) => {
                    notify_parked(r, db, issue_id).await;
                    break;
                }
                Err(e) => r.emit(RunnerEvent::Problem(format!(
                    "cannot check the budget of #{issue_id}: {e}"
                ))),
            }
        }
        // The agent goes again at once, in this slot, on the same claim: the issue keeps its
        // branch and its session, and no other work gets in between.
        match next {
            _ if again.is_some() => fix = again.flatten(),
            Next::Fix(message) => {
                failed += 1;
                fix = Some(message);
            }
            Next::Revise(message) => {
                cycles += 1;
                fix = Some(message);
            }
            Next::Done | Next::Review(_) => break,
        }
        match db.call(move |s| s.issue(issue_id)).await {
            Ok(fresh) => *issue = fresh,
            Err(e) => {
                r.emit(RunnerEvent::Problem(format!(
                    "cannot read #{issue_id} to send it back to the agent: {e}"
                )));
                break;
            }
        }
    }
    renewer.abort();
    if let Ok(mut m) = r.stops.lock() {
        m.remove(&issue_id);
    }
    r.emit(RunnerEvent::StoreChanged);
}

/// Opens a run of `role` on the claimed issue and tells the watchers, whose pane for the
/// slot shows `title`. `None` when the store refused (reported).
pub(super) async fn start(
    r: &Runner,
    db: &Db,
    slot: usize,
    agent_id: &str,
    issue_id: i64,
    role: RunRole,
    title: String,
) -> Option<i64> {
    let owner = agent_id.to_string();
    let host = crate::sys::host_name();
    match db
        .call(move |s| s.start_run_as(issue_id, &owner, slot as i64, &host, role))
        .await
    {
        Ok(run_id) => {
            r.emit(RunnerEvent::RunStarted {
                slot,
                run_id,
                issue_id,
                title,
                agent_id: agent_id.to_string(),
            });
            Some(run_id)
        }
        Err(e) => {
            r.emit(RunnerEvent::Problem(format!(
                "cannot start a run for #{issue_id}: {e}"
            )));
            None
        }
    }
}

/// Opens another run of `role` on the issue of `ctx` (a check after the agent's run).
pub(super) async fn open_run(ctx: &RunContext<'_>, role: RunRole, title: &str) -> Option<i64> {
    let (r, db, slot, agent) = (ctx.runner, ctx.db, ctx.slot, ctx.agent_id);
    start(r, db, slot, agent, ctx.issue.id, role, title.to_string()).await
}

/// Records the end of the run of `ctx` in one transaction (its comments and the issue's move)
/// and tells the watchers.
pub(super) async fn close_run(ctx: &RunContext<'_>, end: RunEnd) {
    let (r, slot, run_id, issue_id) = (ctx.runner, ctx.slot, ctx.run_id, ctx.issue.id);
    let outcome = end.outcome.unwrap_or(RunOutcome::Failed);
    let owner = ctx.agent_id.to_string();
    let summary = end
        .comments
        .first()
        .map(|(_, _, body)| crate::domain::sanitize::strip_all(body.lines().next().unwrap_or("")))
        .unwrap_or_default();
    let moves = end.move_to.is_some();
    let question = end.comments.first().map(|(_, _, body)| body.clone());
    match ctx
        .db
        .call(move |s| s.finish_run(run_id, &owner, &end))
        .await
    {
        Ok((issue, moved)) => {
            if let Some(event) =
                NotifyEvent::of_run(outcome, issue.status).filter(|_| moves && moved)
            {
                notify(r, event, &issue, question.unwrap_or_default());
            }
            if !moved {
                tracing::warn!(
                    issue_id,
                    "run finished after its claim was lost; issue left as {}",
                    issue.status
                );
            }
            r.emit(RunnerEvent::RunFinished {
                slot,
                run_id,
                issue_id,
                outcome,
                status: issue.status,
                summary,
            });
        }
        Err(e) => r.emit(RunnerEvent::Problem(format!(
            "cannot record the end of the run on #{issue_id}: {e}"
        ))),
    }
    r.emit(RunnerEvent::StoreChanged);
}

/// Runs `[notify] command` for `event` on `issue`, off the runner's path.
fn notify(r: &Runner, event: NotifyEvent, issue: &Issue, question: String) {
    let notice = super::notify::Notice {
        event,
        issue_id: issue.id,
        title: issue.title.clone(),
        question,
    };
    super::notify::fire(&r.notices, &r.settings.notify, &r.settings.redactor, notice);
}

/// Runs `[notify] command` for an issue this runner parked over its cap, with the comment
/// that says so.
pub(super) async fn notify_parked(r: &Runner, db: &Db, issue_id: i64) {
    let read = db
        .call(move |s| {
            let why = s.last_comment(issue_id, crate::domain::AuthorKind::System)?;
            Ok((s.issue(issue_id)?, why))
        })
        .await;
    match read {
        Ok((issue, why)) => {
            let why = why.map(|c| c.body).unwrap_or_default();
            notify(r, NotifyEvent::Budget, &issue, why);
        }
        Err(e) => tracing::warn!(issue_id, "cannot read the parked issue to notify: {e}"),
    }
}

/// Renews the claim every third of a lease; a claim found lost stops the run.
fn spawn_lease_renewer(
    r: &Runner,
    db: &Db,
    agent_id: &str,
    issue_id: i64,
    stop: &CancellationToken,
    reason: &StopReason,
) -> tokio::task::JoinHandle<()> {
    let lease = r.settings.lease;
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let (db, agent, stop, reason) = (
        db.clone(),
        agent_id.to_string(),
        stop.clone(),
        reason.clone(),
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(lease / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            let a = agent.clone();
            match db
                .call(move |s| s.renew_lease(issue_id, &a, lease_ms))
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    reason.set(
                        "the claim was lost (the issue was moved or its lease expired)".into(),
                    );
                    stop.cancel();
                    return;
                }
                Err(e) => tracing::warn!(issue_id, "lease renewal failed: {e}"),
            }
        }
    })
}
