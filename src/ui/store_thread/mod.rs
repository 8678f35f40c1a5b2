//! The UI's own store connection on a dedicated thread: typed requests in, typed replies out on
//! the UI event channel. It also watches `data_version` so commits by the runner, the CLI or
//! another process show up within a poll interval, without the UI task ever touching SQLite.

use crate::store::sql::StoreUrl;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

use crate::domain::redact::Redactor;
use crate::domain::sanitize::{one_line, strip_all};
use crate::domain::Printable;
use crate::domain::{now_millis, AuthorKind, Event, Issue, IssueDetail, Millis, Status};
use crate::runner::agent::Adapter;
use crate::runner::events::LineKind;
use crate::runner::PaneLine;
use crate::store::{
    IssueEdit, NewIssue, PauseState, Result as StoreResult, ReviewMarks, StatusCounts, Stop, Store,
};

/// How often the thread checks whether another connection committed.
pub const POLL: Duration = Duration::from_millis(300);
mod cards;
use cards::{board, questions};

/// Most transcript lines loaded for one run view (its last ones).
const TRANSCRIPT_LIMIT: i64 = 20_000;

/// What the UI asks of the store.
#[derive(Debug, Clone)]
pub enum StoreRequest {
    /// The visible windows of the columns.
    Board {
        /// Request generation, echoed back so stale replies can be dropped.
        gen: u64,
        /// Card filter text.
        filter: String,
        /// `(offset, limit)` per column, in `Status::ALL` order.
        windows: [(i64, i64); Status::ALL.len()],
    },
    /// Every blocked issue with its question.
    Inbox,
    /// One issue with thread and runs.
    Detail(i64),
    /// A run's stored transcript, rendered to display lines.
    Transcript(i64),
    /// Create an issue.
    Create(NewIssue),
    /// Edit an issue.
    Update(i64, IssueEdit),
    /// Edit an issue and the issues it waits for: the dependencies first, and when they are
    /// refused (a cycle, a missing issue) nothing is changed.
    UpdateWithDeps {
        /// The issue.
        id: i64,
        /// Its fields.
        edit: IssueEdit,
        /// Dependencies to add.
        add: Vec<i64>,
        /// Dependencies to remove.
        remove: Vec<i64>,
    },
    /// Move an issue (as a human).
    Move(i64, Status),
    /// Archive a done issue.
    Archive(i64),
    /// Delete a backlog issue that never ran.
    Delete(i64),
    /// Add a human comment (a blocked issue flips to ready).
    Comment(i64, String),
    /// Answer a blocked issue's fields (`Store::answer`, as the CLI's `answer`).
    Answer(i64, crate::ui::state::answer::Answers),
    /// In review → ready with a comment.
    RequestChanges(i64, String),
    /// Write the pause setting (when no runner runs in this process).
    SetPaused(bool),
    /// Ask the runner of an issue, in whichever process, to stop it.
    RequestStop(i64),
    /// The draft of a change request, when accepting the issue last conflicted (`R`).
    ChangesDraft(i64),
    /// The stats overlay's report (see `money::report`).
    Stats,
    /// The search overlay's hits (see `search::search`).
    Search {
        /// Request generation, echoed back so stale replies can be dropped.
        gen: u64,
        /// The FTS5 query as typed.
        query: String,
        /// Most hits.
        limit: i64,
    },
    /// A run's transcript and the first line holding `term` (a search hit's matched word).
    TranscriptAt {
        /// The run.
        run_id: i64,
        /// What the line holds.
        term: String,
    },
    /// Look for commits now rather than at the next poll: the in-process runner just wrote
    /// something to show. Answered by a `Changed` unless that commit was already reported.
    Poll,
}

/// Live work shown on an in-progress card.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveInfo {
    /// Agent id.
    pub agent: String,
    /// Run start (epoch ms).
    pub started_at: Millis,
    /// Cost reported so far.
    pub cost_usd: Option<f64>,
    /// The live estimate stored on the run.
    pub estimate_usd: Option<f64>,
}

/// One card: the issue plus what its column shows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// The issue.
    pub issue: Issue,
    /// First line of the agent's question (blocked cards).
    pub question: Option<String>,
    /// The open run (in-progress cards).
    pub live: Option<LiveInfo>,
    /// How the checks and the reviewer ended on the latest change (review cards).
    pub review: ReviewMarks,
    /// What all its runs cost so far, running ones by their estimate.
    pub spend_usd: f64,
    /// The dependencies not done yet (backlog and ready cards): what holds a claim back.
    pub waits_on: Vec<i64>,
    /// `(done, total)` subtasks, for a parent.
    pub progress: Option<(i64, i64)>,
}

/// A loaded window of one column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnWindow {
    /// Index of the first card.
    pub offset: i64,
    /// The cards.
    pub cards: Vec<Card>,
}

/// One blocked issue in the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxItem {
    /// The issue.
    pub issue_id: i64,
    /// Its title.
    pub title: String,
    /// The agent's question (whole).
    pub question: String,
    /// Who asked.
    pub asked_by: String,
    /// When (epoch ms), for newest-first order.
    pub asked_at: Millis,
    /// The issue's branch, once a run started (for its diff).
    pub branch: Option<String>,
    /// The branch it started from.
    pub base: Option<String>,
    /// The fields its question asks for (the answer form's; printable).
    pub needs: Vec<crate::domain::needs::Need>,
}

/// What the store thread sends back.
#[derive(Debug, Clone)]
pub enum StoreReply {
    /// Column windows and counts.
    Board {
        /// The request generation.
        gen: u64,
        /// Counts per column (filtered).
        counts: StatusCounts,
        /// Windows in `Status::ALL` order.
        columns: Vec<ColumnWindow>,
    },
    /// The inbox, newest question first.
    Inbox(Vec<InboxItem>),
    /// An issue's detail.
    Detail(Box<IssueDetail>),
    /// A run's transcript.
    Transcript {
        /// The run.
        run_id: i64,
        /// Display lines.
        lines: Vec<PaneLine>,
    },
    /// A change request's draft (None: nothing to suggest).
    ChangesDraft {
        /// The issue.
        issue_id: i64,
        /// The text, printable.
        text: Option<String>,
    },
    /// A mutation succeeded.
    Done {
        /// What to tell the user.
        message: String,
        /// The issue as it is now.
        issue: Option<Box<Issue>>,
    },
    /// A request failed; the message is for the user.
    Failed(String),
    /// What today's runs cost so far (local day); sent with every `Changed`.
    Spend(f64),
    /// The stats overlay's report.
    Stats(Box<StatsReport>),
    /// The search overlay's hits, or why the query cannot be read.
    Search {
        /// The request generation.
        gen: u64,
        /// Hits, best first, or the store's message.
        result: Result<Vec<SearchRow>, String>,
    },
    /// A run's transcript opened at a search hit.
    TranscriptAt {
        /// The run.
        run_id: i64,
        /// Display lines.
        lines: Vec<PaneLine>,
        /// The first line holding the hit's word, when one shown does.
        at: Option<usize>,
    },
    /// Runs of other processes: started, printing, ended (see `remote`).
    Remote(Vec<RemoteUpdate>),
    /// Something was committed (here or elsewhere): new events and the pause state.
    Changed {
        /// Events since the last report.
        events: Vec<Event>,
        /// Whether claiming is paused, or held after a rate limit.
        pause: PauseState,
    },
}

/// What the thread knows of the commits it has reported. `data_version` changes with every
/// commit of another connection (the runner's slots, the CLI, another process); this thread's
/// own writes are reported as they are made.
struct Watch {
    /// The newest event reported.
    last_event: i64,
    /// `data_version` when the thread last looked.
    seen: i64,
    /// `data_version` when the UI was last told to reload: whatever it reloaded covered every
    /// commit up to there, so a nudge about one of those commits costs nothing.
    reported: i64,
}

impl Watch {
    fn new(store: &Store) -> Watch {
        let version = store.data_version().unwrap_or(0);
        Watch {
            last_event: store.max_event_id().unwrap_or(0),
            seen: version,
            reported: version,
        }
    }

    /// The events to report after a batch that wrote (`mutated`) or was nudged; `None` when
    /// nothing on screen changed. Every state change writes an event, so commits without one
    /// (transcript lines, lease renewals) cost no reload, unless a nudge says otherwise: the
    /// in-process runner nudges after every commit it wants shown.
    fn check(&mut self, store: &Store, mutated: bool, nudged: bool) -> Option<Vec<Event>> {
        let version = store.data_version().unwrap_or(self.seen);
        let nudge_news = nudged && version != self.reported;
        if !mutated && !nudge_news && version == self.seen {
            return None;
        }
        self.seen = version;
        let mut events = Vec::new();
        loop {
            let page = store.events_since(self.last_event, 500).unwrap_or_default();
            let full = page.len() == 500;
            if let Some(e) = page.last() {
                self.last_event = e.id;
            }
            events.extend(page);
            if !full {
                break;
            }
        }
        if events.is_empty() && !mutated && !nudge_news {
            return None;
        }
        self.reported = version;
        Some(events)
    }
}

/// Runs the thread loop until the request channel closes. `send` returns false when the UI is
/// gone.
pub fn run(
    db: StoreUrl,
    redactor: Arc<Redactor>,
    renderer: Arc<dyn Adapter>,
    requests: Receiver<StoreRequest>,
    send: impl Fn(StoreReply) -> bool,
    author: String,
) {
    let mut store = match Store::open_url(&db, redactor) {
        Ok(s) => s,
        Err(e) => {
            send(StoreReply::Failed(format!("cannot open the database: {e}")));
            return;
        }
    };
    let mut watch = Watch::new(&store);
    let mut remote = Remote::new(i64::from(std::process::id()), crate::sys::host_name());
    let pause = pause_state(&store);
    let mut rollover = money::next_rollover(&pause, now_millis());
    if !send(StoreReply::Changed {
        events: Vec::new(),
        pause,
    }) || !send(StoreReply::Spend(money::today_spend(&store)))
    {
        return;
    }
    loop {
        let first = match requests.recv_timeout(POLL) {
            Ok(r) => Some(r),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch: Vec<StoreRequest> = first.into_iter().collect();
        batch.extend(requests.try_iter());
        let (mut mutated, mut nudged) = (false, false);
        for (i, req) in batch.iter().enumerate() {
            nudged |= matches!(req, StoreRequest::Poll);
            // Reads superseded by a later one of the same kind in this batch are skipped.
            let superseded = batch[i + 1..].iter().any(|later| same_read(req, later));
            if superseded {
                continue;
            }
            let (reply, wrote) = handle(&mut store, req, &author, renderer.as_ref());
            mutated |= wrote;
            if reply.is_some_and(|r| !send(r)) {
                return;
            }
        }
        let changed = watch.check(&store, mutated, nudged);
        let far = remote.look(&store, watch.seen, renderer.as_ref());
        if !far.is_empty() && !send(StoreReply::Remote(far)) {
            return;
        }
        let now = now_millis();
        if changed.is_some() || now >= rollover {
            let pause = pause_state(&store);
            rollover = money::next_rollover(&pause, now);
            let events = changed.map(Printable::printable).unwrap_or_default();
            if !send(StoreReply::Changed { events, pause })
                || !send(StoreReply::Spend(money::today_spend(&store)))
            {
                return;
            }
        }
    }
}

/// The pause state, its reason (agent text) cleaned for the terminal.
fn pause_state(store: &Store) -> PauseState {
    let mut pause = store.pause_state().unwrap_or_default();
    pause.reason = pause.reason.as_deref().map(strip_all);
    pause
}

fn same_read(a: &StoreRequest, b: &StoreRequest) -> bool {
    matches!(
        (a, b),
        (StoreRequest::Board { .. }, StoreRequest::Board { .. })
            | (StoreRequest::Inbox, StoreRequest::Inbox)
            | (StoreRequest::Stats, StoreRequest::Stats)
            | (StoreRequest::Search { .. }, StoreRequest::Search { .. })
    ) || matches!((a, b), (StoreRequest::Detail(x), StoreRequest::Detail(y)) if x == y)
}

/// Every blocked issue with its question, newest question first.
fn inbox(store: &Store) -> StoreResult<StoreReply> {
    let issues = store.issues_page(Status::Blocked, "", 0, 1_000)?;
    let mut asked = questions(store, &issues);
    let mut items: Vec<InboxItem> = issues
        .into_iter()
        .map(|i| {
            let q = asked.remove(&i.id).map(Printable::printable);
            let i = i.printable();
            InboxItem {
                issue_id: i.id,
                title: i.title,
                question: q.as_ref().map(|c| c.body.clone()).unwrap_or_default(),
                asked_by: q.as_ref().map(|c| c.author.clone()).unwrap_or_default(),
                asked_at: q.map(|c| c.created_at).unwrap_or(i.updated_at),
                branch: i.branch,
                base: i.base,
                needs: store.needs(i.id).unwrap_or_default(),
            }
        })
        .collect();
    items.sort_by(|a, b| {
        b.asked_at
            .cmp(&a.asked_at)
            .then(b.issue_id.cmp(&a.issue_id))
    });
    Ok(StoreReply::Inbox(items))
}

/// A run's stored transcript as display lines. The end of a long run matters most (its
/// result, its question): it shows the last lines and says how to get the rest.
fn transcript(store: &Store, run_id: i64, renderer: &dyn Adapter) -> StoreResult<StoreReply> {
    let run = store.run(run_id)?;
    // A check's output is plain text whatever the agent prints; an issue run by another
    // agent than the configured one reads in that agent's format.
    let agent = store.issue(run.issue_id).ok().and_then(|i| i.agent);
    let own = crate::runner::agent::reader_for(run.role, agent, renderer);
    let renderer = own.as_deref().unwrap_or(renderer);
    let skipped = (run.transcript_lines - TRANSCRIPT_LIMIT).max(0);
    let rows = store.transcript(run_id, skipped - 1, TRANSCRIPT_LIMIT)?;
    let issue_id = run.issue_id;
    let note = (skipped > 0).then(|| PaneLine {
        kind: LineKind::Meta,
        text: format!(
            "… the first {skipped} lines are not shown here; `autopilot-tui log {issue_id} --run {run_id}` prints them all"
        ),
    });
    let lines = note
        .into_iter()
        .chain(rows.iter().flat_map(|r| renderer.render_line(&r.line)))
        .collect();
    Ok(StoreReply::Transcript { run_id, lines })
}

/// When the issue's newest system comment is a conflicting accept's, a change request asking
/// the agent to merge the base and resolve the files it lists.
fn changes_draft(store: &Store, id: i64) -> StoreResult<StoreReply> {
    use crate::runner::review::accept;
    let issue = store.issue(id)?;
    let text = store
        .last_comment(id, AuthorKind::System)?
        .filter(|c| c.author == accept::CONFLICT_AUTHOR)
        .map(|c| {
            let files = accept::conflict_files(&c.body);
            let base = issue.base.as_deref().unwrap_or("the base branch");
            strip_all(&accept::conflict_change_request(base, &files))
        });
    Ok(StoreReply::ChangesDraft { issue_id: id, text })
}

/// Answers one request; the flag says whether it wrote. A `Poll` has no answer of its own.
fn handle(
    store: &mut Store,
    req: &StoreRequest,
    author: &str,
    renderer: &dyn Adapter,
) -> (Option<StoreReply>, bool) {
    let done = |message: String, issue: Issue| StoreReply::Done {
        message: strip_all(&message),
        issue: Some(Box::new(issue.printable())),
    };
    let read = |r: StoreResult<StoreReply>| {
        let reply = r.unwrap_or_else(|e| StoreReply::Failed(e.to_string()));
        (Some(reply), false)
    };
    let reply = match req {
        StoreRequest::Poll => return (None, false),
        StoreRequest::Board {
            gen,
            filter,
            windows,
        } => return read(board(store, *gen, filter, windows)),
        StoreRequest::Inbox => return read(inbox(store)),
        StoreRequest::Detail(id) => {
            let detail = store.issue_detail(*id);
            return read(detail.map(|d| StoreReply::Detail(Box::new(d.printable()))));
        }
        StoreRequest::Transcript(run_id) => return read(transcript(store, *run_id, renderer)),
        StoreRequest::ChangesDraft(id) => return read(changes_draft(store, *id)),
        StoreRequest::Search { gen, query, limit } => {
            return (Some(search::search(store, *gen, query, *limit)), false)
        }
        StoreRequest::TranscriptAt { run_id, term } => {
            return read(search::transcript_at(store, *run_id, term, renderer))
        }
        StoreRequest::Stats => {
            return read(money::report(store).map(|r| StoreReply::Stats(Box::new(r))))
        }
        StoreRequest::Create(new) => store
            .create_issue(new, author)
            .map(|i| done(format!("#{} created", i.id), i)),
        StoreRequest::Update(id, edit) => store
            .update_issue(*id, edit, author)
            .map(|i| done(format!("#{} saved", i.id), i)),
        StoreRequest::UpdateWithDeps {
            id,
            edit,
            add,
            remove,
        } => {
            let mut deps = store
                .dependencies_of(&[*id])
                .map(|mut m| m.remove(id).unwrap_or_default());
            if let Ok(d) = deps.as_mut() {
                d.retain(|x| !remove.contains(x));
                d.extend(
                    add.iter()
                        .filter(|x| !d.contains(x))
                        .copied()
                        .collect::<Vec<_>>(),
                );
            }
            deps.and_then(|d| store.set_dependencies(*id, &d, author))
                .and_then(|()| store.update_issue(*id, edit, author))
                .map(|i| done(format!("#{} saved", i.id), i))
        }
        StoreRequest::Move(id, to) => store
            .move_issue(*id, *to, crate::domain::Actor::Human, author)
            .map(|i| done(format!("#{} → {}", i.id, i.status), i)),
        StoreRequest::Archive(id) => store
            .archive_issue(*id, author)
            .and_then(|_| store.issue(*id))
            .map(|i| {
                let msg =
                    format!("#{id} archived (off the board; `unarchive {id}` brings it back)");
                done(msg, i)
            }),
        StoreRequest::Delete(id) => store
            .delete_issue(*id, author)
            .map(|gone| StoreReply::Done {
                message: format!("#{id} deleted: {}", one_line(&gone.title)),
                issue: None,
            }),
        StoreRequest::Comment(id, body) => store
            .add_comment(*id, author, AuthorKind::Human, body)
            .and_then(|_| store.issue(*id))
            .map(|i| {
                let msg = if i.status == Status::Ready {
                    format!("#{} answered → ready", i.id)
                } else {
                    format!("comment added to #{}", i.id)
                };
                done(msg, i)
            }),
        StoreRequest::Answer(id, answers) => store
            .answer(*id, author, &answers.0)
            .map(|(_, i)| done(format!("#{} answered → {}", i.id, i.status), i)),
        StoreRequest::RequestChanges(id, body) => store
            .request_changes(*id, author, body)
            .map(|i| done(format!("#{} changes requested → ready", i.id), i)),
        StoreRequest::RequestStop(id) => crate::runner::recovery::stop_issue(store, *id, author)
            .map(|stop| match stop {
                Stop::Requested(i) => done(format!("asked the runner of #{} to stop it", i.id), i),
                Stop::Recovered { issue, .. } => done(
                    format!(
                        "#{}: its runner is gone; parked in {}",
                        issue.id, issue.status
                    ),
                    issue,
                ),
            }),
        StoreRequest::SetPaused(p) => store
            .set_paused(*p, crate::domain::Actor::Human, author)
            .map(|()| StoreReply::Done {
                message: if *p {
                    "claiming paused".into()
                } else {
                    "claiming resumed".into()
                },
                issue: None,
            }),
    };
    match reply {
        Ok(r) => (Some(r), true),
        Err(e) => (Some(StoreReply::Failed(e.to_string())), false),
    }
}

/// Starts the thread; dropping the returned sender ends it. `renderer` draws stored
/// transcripts the way the live panes draw the agent's output.
pub fn spawn(
    db: StoreUrl,
    redactor: Arc<Redactor>,
    renderer: Arc<dyn Adapter>,
    author: String,
    send: impl Fn(StoreReply) -> bool + Send + 'static,
) -> std::io::Result<Sender<StoreRequest>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("autopilot-ui-store".into())
        .spawn(move || run(db, redactor, renderer, rx, send, author))?;
    Ok(tx)
}

mod money;
pub use money::{StatsReport, CHART_DAYS};
mod search;
pub use search::{line_of, SearchRow};
mod remote;
use remote::Remote;
pub use remote::{RemoteStart, RemoteUpdate};

#[cfg(test)]
mod tests;
