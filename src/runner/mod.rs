//! The runner: slots that claim ready issues, prepare a worktree, run an agent in it, and turn
//! what happened into a review, a question or a failure — every step committed to the store
//! before it is reported.

pub mod agent;
mod answers;
pub mod budget;
mod db;
mod drive;
mod error;
mod estimate;
pub mod events;
pub mod failure;
pub mod git;
pub mod github;
mod ingest;
mod learnings;
pub mod lock;
pub mod notify;
pub mod outcome;
pub mod personas;
mod pipeline;
pub mod plan;
pub mod process;
pub mod prompt;
pub mod recovery;
pub mod remote;
mod retry;
pub mod review;
mod run;
pub mod setup;
pub mod takeover;
pub mod templates;
mod transcripts;
mod verdict;
mod workspace;

use crate::store::sql::StoreUrl;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

pub use db::Db;
pub use error::RunnerError;
pub use events::{Estimate, LineKind, PaneLine, RunnerCommand, RunnerEvent};

use agent::Adapter;

/// Everything a runner needs to know, resolved from configuration.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// The main repository.
    pub repo_root: PathBuf,
    /// Where worktrees go.
    pub worktrees: PathBuf,
    /// The database file.
    pub db: StoreUrl,
    /// Parallel slots.
    pub slots: usize,
    /// Agent identity (slots append their number).
    pub agent_id: String,
    /// How often to look for work made ready elsewhere.
    pub poll: Duration,
    /// Whether the runner watches the database for work other processes made claimable. A
    /// TUI's runner does not: the TUI's store thread watches already and wakes it.
    pub watch_store: bool,
    /// Claim lease length.
    pub lease: Duration,
    /// Base branch, else the repo's current branch.
    pub base_branch: Option<String>,
    /// Expired claims after which an issue parks in blocked.
    pub max_interruptions: i64,
    /// Commit author name.
    pub commit_name: String,
    /// Commit author e-mail.
    pub commit_email: String,
    /// Push and open a PR after a successful run.
    pub push: bool,
    /// Shared mode ([`crate::config::Config::shared_mode`]): the remote is required, every
    /// branch is pushed after each run and fetched before a rerun.
    pub shared: bool,
    /// Claude's permission mode (checked before claiming).
    pub permission_mode: String,
    /// Longest a run may take before it is stopped (`None`: no limit).
    pub max_run: Option<Duration>,
    /// Longest an agent may stay silent before it counts as stalled and is stopped.
    pub stall: Option<Duration>,
    /// How long the queue waits after a rate limit that does not say when it resets.
    pub rate_limit_backoff: Duration,
    /// Most transcript bytes stored per run; later lines are dropped with a marker.
    pub transcript_cap: u64,
    /// Secrets are replaced with markers before anything is stored, committed or pushed.
    pub redactor: Arc<crate::domain::redact::Redactor>,
    /// Completion checks run on each committed change before it goes to review.
    pub checks: review::checks::Checks,
    /// The optional reviewer run after the checks pass.
    pub review: review::reviewer::Reviewer,
    /// `[budget]`: the daily and per-issue caps, and what the daily one does to running agents.
    pub budget: budget::Budget,
    /// Token prices for the live cost estimate.
    pub prices: Arc<crate::domain::pricing::PriceTable>,
    /// `[budget] per_run_usd`: a run whose estimate reaches it is stopped.
    pub per_run_usd: Option<f64>,
    /// `[notify]`: the command run when an issue needs a person.
    pub notify: notify::Notify,
    /// `[worktree]`: files copied into a new worktree and its setup command.
    pub worktree: setup::WorktreeSetup,
    /// `[templates]` and the template directories: the "Guidelines" a prompt carries.
    pub templates: templates::TemplateSet,
    /// `[runner] retry`: which failed runs go again at once, and how.
    pub retry: failure::RetryPolicy,
    /// `[personas]` and `[pipeline]`: each role's instructions, model and effort, and the
    /// personas that run after the implementer.
    pub personas: personas::Personas,
}

/// The most agent slots one process runs. Each slot holds its own database connection, the
/// agent's pipes and the git commands it runs; far more exhaust the process's file descriptors
/// (and memory) before they do any work. More agents: start another process on the database.
pub const MAX_SLOTS: usize = 64;

/// Checks a slot count (from `--agents` or `[runner] slots`); the error says why.
pub fn check_slots(n: usize) -> Result<(), String> {
    if n == 0 {
        Err("0 runs no agent; use at least 1 (or --no-runner to open the TUI only to watch)".into())
    } else if n > MAX_SLOTS {
        Err(format!(
            "at most {MAX_SLOTS} agents per process: each holds a database connection, pipes and \
             git processes, and thousands exhaust the process's file descriptors; for more, run \
             another `autopilot-tui run` on the same database"
        ))
    } else {
        Ok(())
    }
}

impl RunnerSettings {
    /// The agent id a slot records.
    pub fn slot_agent_id(&self, slot: usize) -> String {
        format!("{}-{}", self.agent_id, slot + 1)
    }
}

/// Checks what would make every run fail before any issue is claimed (for Claude Code: it
/// refuses to bypass permissions as root unless `IS_SANDBOX=1`), for this process's user and
/// `$IS_SANDBOX`: claiming anyway would burn the queue into blocked issues one after another.
pub fn preflight_here(adapter: &dyn Adapter, permission_mode: &str) -> Result<(), String> {
    let sandbox = std::env::var("IS_SANDBOX").ok();
    adapter.preflight(
        permission_mode,
        nix::unistd::geteuid().is_root(),
        sandbox.as_deref(),
    )
}

/// Stop requests for the runs of this process, by issue.
type StopMap = Arc<Mutex<HashMap<i64, (CancellationToken, run::StopReason)>>>;

/// A runner: `slots` tasks sharing a wake-up signal and a stop map.
pub struct Runner {
    settings: Arc<RunnerSettings>,
    adapter: Arc<dyn Adapter>,
    /// The other agents an issue may ask for.
    agents: agent::Agents,
    events: mpsc::UnboundedSender<RunnerEvent>,
    wake: Arc<Notify>,
    stops: StopMap,
    draining: std::sync::atomic::AtomicBool,
    /// The end of the daily budget's hold this process last reported (reported once).
    budget_reported: Mutex<Option<crate::domain::Millis>>,
    /// The panes of running planners, as offsets past the slots (see [`plan::PlanSlot`]).
    planners: Mutex<std::collections::BTreeSet<usize>>,
    /// `[notify] command`s under way: the runner waits for them (each time-limited) before
    /// it returns, so a notice of the last run is not cut off by the process's exit.
    notices: tokio_util::task::TaskTracker,
    /// Slots waiting for work: the store is watched for news only while one is.
    idle: AtomicUsize,
    /// Stores every run's output, grouped into few transactions.
    transcripts: transcripts::Transcripts,
    /// The secret answers of the claims running here, for their agents' environments.
    answers: answers::Answers,
}

/// How often the store is looked at for work another process made claimable: `data_version`
/// is read from shared memory, so a look costs microseconds and writes nothing.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// Resolves at a shared store's next commit; never for a store without a feed.
async fn changed(feed: Option<&crate::store::Feed>) {
    match feed {
        Some(feed) => feed.changed().await,
        None => std::future::pending().await,
    }
}

/// Counts a slot as idle while it lives.
struct IdleSlot<'a>(&'a AtomicUsize);

impl<'a> IdleSlot<'a> {
    fn new(count: &'a AtomicUsize) -> IdleSlot<'a> {
        count.fetch_add(1, Ordering::SeqCst);
        IdleSlot(count)
    }
}

impl Drop for IdleSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Runner {
    /// A runner that reports to `events`.
    pub fn new(
        settings: RunnerSettings,
        adapter: Arc<dyn Adapter>,
        events: mpsc::UnboundedSender<RunnerEvent>,
    ) -> Runner {
        let transcripts =
            transcripts::Transcripts::start(settings.db.clone(), Arc::clone(&settings.redactor));
        Runner {
            settings: Arc::new(settings),
            adapter,
            agents: agent::Agents::default(),
            events,
            wake: Arc::new(Notify::new()),
            stops: Arc::default(),
            draining: std::sync::atomic::AtomicBool::new(false),
            budget_reported: Mutex::new(None),
            planners: Mutex::default(),
            notices: tokio_util::task::TaskTracker::new(),
            idle: AtomicUsize::new(0),
            transcripts,
            answers: answers::Answers::default(),
        }
    }

    /// The agents besides its own that issues may ask for (`--agent`); without them an issue
    /// naming an agent other than the default is blocked as asking for one not available.
    #[must_use]
    pub fn with_agents(mut self, agents: agent::Agents) -> Runner {
        self.agents = agents;
        self
    }

    /// The adapter for an issue wanting `agent`, or why it cannot run here.
    fn adapter_for(
        &self,
        agent: Option<crate::domain::AgentKind>,
    ) -> Result<Arc<dyn Adapter>, String> {
        self.agents.pick(&self.adapter, agent)
    }

    fn emit(&self, ev: RunnerEvent) {
        let _ = self.events.send(ev);
    }

    /// Runs the slots until `cancel` fires (running agents are stopped then) or, with `once`,
    /// until nothing is ready and every slot is idle.
    pub async fn run(
        self,
        once: bool,
        mut commands: mpsc::UnboundedReceiver<RunnerCommand>,
        cancel: CancellationToken,
    ) -> anyhow::Result<()> {
        if let Err(problem) = preflight_here(self.adapter.as_ref(), &self.settings.permission_mode)
        {
            self.emit(RunnerEvent::Problem(problem.clone()));
            anyhow::bail!(problem);
        }
        if self.settings.shared {
            let repo = self.settings.repo_root.clone();
            let checked = tokio::task::spawn_blocking(move || remote::check_pushable(&repo))
                .await
                .unwrap_or_else(|e| Err(format!("the remote check failed: {e}")));
            if let Err(problem) = checked {
                self.emit(RunnerEvent::Problem(problem.clone()));
                anyhow::bail!(problem);
            }
        }
        let db = Db::open(&self.settings.db, Arc::clone(&self.settings.redactor)).await?;
        let max = self.settings.max_interruptions;
        // Runs of this host whose runner died are closed now, and their orphaned agents
        // killed, instead of waiting for their leases to expire.
        let dead = db
            .call(move |s| recovery::recover_dead_runs(s, max))
            .await?;
        let released = db.call(move |s| s.release_expired(max)).await?;
        if !released.is_empty() || !dead.is_empty() {
            self.emit(RunnerEvent::StoreChanged);
        }
        let this = Arc::new(self);
        let mut slots = tokio::task::JoinSet::new();
        for slot in 0..this.settings.slots {
            let me = Arc::clone(&this);
            let cancel = cancel.clone();
            slots.spawn(async move { me.slot_loop(slot, once, cancel).await });
        }
        let reaper_every = this.settings.lease.max(Duration::from_secs(1));
        let mut reap = tokio::time::interval(reaper_every);
        reap.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Stop requests from other processes (`autopilot-tui stop`, another TUI) are looked
        // for only while this process runs agents.
        let mut stop_poll = tokio::time::interval(Duration::from_millis(400));
        stop_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // With `on_exceed = "stop"`, today's spend is summed while agents run (one query).
        let mut budget_poll = tokio::time::interval(Duration::from_secs(1));
        budget_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Another process (the CLI, a TUI, the API) makes work claimable at any moment: idle
        // slots hear of it within WATCH_EVERY instead of at their next poll.
        let mut watch = tokio::time::interval(WATCH_EVERY);
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seen = db
            .call(|s| Ok((s.data_version()?, s.max_event_id()?)))
            .await?;
        // A shared server says when something was committed: no need to wait for the tick.
        let feed = db.call(|s| Ok(s.change_feed())).await?;
        // Planners run beside the slots; the runner ends only once they have closed their runs
        // too (a quit stops them through `cancel`).
        let mut planners = tokio::task::JoinSet::new();
        let mut slots_done = false;
        loop {
            tokio::select! {
                done = slots.join_next(), if !slots_done => match done {
                    None if planners.is_empty() => break,
                    None => slots_done = true,
                    Some(Ok(Ok(()))) => {}
                    Some(Ok(Err(e))) => {
                        this.emit(RunnerEvent::Problem(format!("runner slot stopped: {e:#}")));
                        tracing::error!("slot failed: {e:#}");
                    }
                    Some(Err(e)) => tracing::error!("slot task panicked: {e}"),
                },
                Some(cmd) = commands.recv() => match cmd {
                    RunnerCommand::Split { issue_id } => {
                        let me = Arc::clone(&this);
                        planners.spawn(me.split(issue_id, cancel.clone()));
                    }
                    cmd => this.command(&db, cmd).await,
                },
                Some(_) = planners.join_next(), if !planners.is_empty() => {
                    if slots_done && planners.is_empty() {
                        break;
                    }
                }
                _ = stop_poll.tick() => if this.has_runs() { this.poll_stop_requests(&db).await },
                _ = budget_poll.tick() => if this.has_runs() { this.poll_daily_budget(&db).await },
                _ = watch.tick(), if this.settings.watch_store => if this.idle.load(Ordering::SeqCst) > 0 {
                    this.watch_store(&db, &mut seen).await;
                },
                () = changed(feed.as_deref()), if this.settings.watch_store => if this.idle.load(Ordering::SeqCst) > 0 {
                    this.watch_store(&db, &mut seen).await;
                },
                _ = reap.tick() => {
                    match db.call(move |s| s.release_expired(max)).await {
                        Ok(ids) if !ids.is_empty() => {
                            this.emit(RunnerEvent::StoreChanged);
                            this.wake.notify_waiters();
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!("lease reaper: {e}"),
                    }
                }
            }
        }
        this.notices.close();
        this.notices.wait().await;
        Ok(())
    }

    /// Wakes the idle slots when the store moved (`seen`: its `data_version` and newest event
    /// when last looked) in a way that can have freed work.
    async fn watch_store(&self, db: &Db, seen: &mut (i64, i64)) {
        let (version, after) = *seen;
        let looked = db
            .call(move |s| {
                let now = s.data_version()?;
                if now == version {
                    return Ok((now, after, false));
                }
                let (newest, news) = s.news_since(after)?;
                Ok((now, newest, news))
            })
            .await;
        match looked {
            Ok((version, newest, news)) => {
                *seen = (version, newest);
                if news {
                    self.wake.notify_waiters();
                }
            }
            Err(e) => tracing::warn!("store watch: {e}"),
        }
    }

    fn has_runs(&self) -> bool {
        self.stops.lock().is_ok_and(|m| !m.is_empty())
    }

    fn stop_run(&self, issue_id: i64, why: String) -> bool {
        self.stop_run_as(issue_id, crate::domain::FailureClass::Stopped, why)
    }

    /// Stops the run on `issue_id` for a reason of `class`; false when none runs here.
    fn stop_run_as(&self, issue_id: i64, class: crate::domain::FailureClass, why: String) -> bool {
        let entry = self
            .stops
            .lock()
            .ok()
            .and_then(|m| m.get(&issue_id).cloned());
        match entry {
            Some((token, reason)) => {
                reason.set_as(class, why);
                token.cancel();
                true
            }
            None => false,
        }
    }

    async fn poll_stop_requests(&self, db: &Db) {
        let ids: Vec<i64> = self
            .stops
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        match db.call(move |s| s.stop_requests(&ids)).await {
            Ok(requests) => {
                for (issue_id, by) in requests {
                    self.stop_run(issue_id, format!("stopped by {by}"));
                }
            }
            Err(e) => tracing::warn!("cannot read stop requests: {e}"),
        }
    }

    async fn command(self: &Arc<Self>, db: &Db, cmd: RunnerCommand) {
        match cmd {
            // Run beside the slots by the loop in `run`, which keeps them until they end.
            RunnerCommand::Split { .. } => {}
            RunnerCommand::Wake => self.wake.notify_waiters(),
            RunnerCommand::Drain => {
                self.draining
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                self.wake.notify_waiters();
            }
            RunnerCommand::Stop { issue_id, by } => {
                if !self.stop_run(issue_id, format!("stopped by {by}")) {
                    // Another process runs it: leave a request its runner will see, or
                    // recover the issue at once when that runner is gone.
                    match db
                        .call(move |s| recovery::stop_issue(s, issue_id, &by))
                        .await
                    {
                        Ok(crate::store::Stop::Requested(_)) => {}
                        Ok(crate::store::Stop::Recovered { .. }) => {
                            self.emit(RunnerEvent::StoreChanged);
                        }
                        Err(e) => self.emit(RunnerEvent::Problem(format!(
                            "cannot stop #{issue_id}: {e}"
                        ))),
                    }
                }
            }
            RunnerCommand::SetPaused { paused, by } => {
                match db
                    .call(move |s| s.set_paused(paused, crate::domain::Actor::Human, &by))
                    .await
                {
                    Ok(()) => {
                        self.emit(RunnerEvent::Paused(paused));
                        if !paused {
                            self.wake.notify_waiters();
                        }
                    }
                    Err(e) => {
                        self.emit(RunnerEvent::Problem(format!("could not change pause: {e}")))
                    }
                }
            }
        }
    }

    /// A planner's run on `issue_id` (`split`), reported as [`RunnerEvent::Split`]; `shutdown`
    /// stops it when the runner ends.
    async fn split(self: Arc<Self>, issue_id: i64, shutdown: CancellationToken) {
        let result = plan::split(&self, issue_id, &shutdown)
            .await
            .map(|s| s.created)
            .map_err(|e| crate::domain::sanitize::strip_all(&e));
        self.emit(RunnerEvent::StoreChanged);
        self.emit(RunnerEvent::Split { issue_id, result });
    }

    async fn slot_loop(
        self: Arc<Self>,
        slot: usize,
        once: bool,
        cancel: CancellationToken,
    ) -> anyhow::Result<()> {
        let db = Db::open(&self.settings.db, Arc::clone(&self.settings.redactor)).await?;
        let agent_id = self.settings.slot_agent_id(slot);
        let lease_ms = i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX);
        loop {
            // Register for wake-ups before looking, so a wake between the look and the wait
            // is not lost.
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cancel.is_cancelled() || self.draining.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(());
            }
            let (id, caps) = (agent_id.clone(), self.settings.budget.caps());
            let claimed = match db.call(move |s| s.claim_within(&id, lease_ms, &caps)).await {
                Ok(c) => {
                    if !c.parked.is_empty() {
                        self.emit(RunnerEvent::StoreChanged);
                    }
                    for parked in &c.parked {
                        run::notify_parked(&self, &db, *parked).await;
                    }
                    if let Some(hold) = &c.daily {
                        self.daily_budget_reached(hold);
                    }
                    c.issue.map(|i| (i, c.secrets))
                }
                Err(e) => {
                    self.emit(RunnerEvent::Problem(format!("cannot claim work: {e}")));
                    None
                }
            };
            match claimed {
                Some((issue, secrets)) => {
                    self.emit(RunnerEvent::StoreChanged);
                    let _held = self.answers.hold(issue.id, secrets);
                    run::run_issue(&self, &db, slot, &agent_id, issue, &cancel).await;
                }
                None if once => return Ok(()),
                None => {
                    // After a rate limit, wake when the hold ends rather than a poll later;
                    // likewise when the earliest scheduled issue (`--at`) comes due.
                    let held = db
                        .call(|s| s.pause_state())
                        .await
                        .ok()
                        .and_then(|p| p.until);
                    let due = db
                        .call(|s| s.next_scheduled(crate::domain::now_millis()))
                        .await
                        .ok()
                        .flatten();
                    let until = |t: crate::domain::Millis| {
                        Duration::from_millis(
                            u64::try_from(t - crate::domain::now_millis()).unwrap_or(0) + 50,
                        )
                    };
                    let nap = [held, due]
                        .into_iter()
                        .flatten()
                        .map(until)
                        .fold(self.settings.poll, Duration::min);
                    let _idle = IdleSlot::new(&self.idle);
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep(nap) => {
                            if held.is_some() && slot == 0 {
                                self.emit(RunnerEvent::ProblemCleared);
                            }
                        }
                        () = cancel.cancelled() => return Ok(()),
                    }
                }
            }
        }
    }
}
