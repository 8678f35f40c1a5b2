//! One writer of agent output per process. Every run's output pipeline hands its batches to
//! a single thread with its own connection, which stores what all runs sent in one
//! transaction. At a human pace a commit per line per run (255 a second for 64 agents) cost
//! about 350 µs of CPU each, mostly the commit itself; grouped, the same lines take a few
//! commits a second. A run's lines wait at most [`LINGER`] for company, and not at all when
//! every run already sent its share or enough bytes are waiting.

use crate::store::sql::StoreUrl;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::domain::redact::Redactor;
use crate::store::{Append, Store, StoreError};

/// The longest a share waits for other runs' shares before it is committed.
const LINGER: Duration = Duration::from_millis(100);
/// Bytes waiting that are committed at once: a flood gains nothing from waiting.
const ENOUGH_BYTES: usize = 256 << 10;

/// A share the store did not take, handed back so its lines are kept for the next try.
pub(super) struct Refused {
    /// Why.
    pub error: StoreError,
    /// The share, when the writer could hand it back (not if its thread is gone).
    pub append: Option<Box<Append>>,
}

/// A share and where its answer goes.
struct Request {
    append: Append,
    reply: tokio::sync::oneshot::Sender<Result<i64, Refused>>,
}

impl Request {
    /// The bytes of output the share carries.
    fn bytes(&self) -> usize {
        self.append
            .batches
            .iter()
            .map(crate::store::TranscriptBatch::bytes)
            .sum()
    }
}

/// Where a share's store comes from: opened on the writer's thread at its first share, or
/// handed in (tests that set a lock timeout).
enum Source {
    Open(StoreUrl, Arc<Redactor>),
    Ready(Box<Store>),
}

/// The process's transcript writer: a handle to clone into every output pipeline.
#[derive(Clone)]
pub struct Transcripts {
    requests: mpsc::Sender<Request>,
    /// Pipelines alive: a batch is committed early once each has sent its share.
    writers: Arc<AtomicUsize>,
    /// Transactions committed (or tried), for tests of the grouping.
    #[cfg_attr(not(test), allow(dead_code))]
    commits: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Transcripts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcripts")
            .field("writers", &self.writers.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Counts one output pipeline among the writers while it lives.
pub(super) struct Joined(Arc<AtomicUsize>);

impl Drop for Joined {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Transcripts {
    /// A writer for the database at `path`, opening its connection on its first share. The
    /// thread ends when the last handle is dropped.
    pub fn start(path: StoreUrl, redactor: Arc<Redactor>) -> Transcripts {
        Self::spawn(Source::Open(path, redactor), LINGER)
    }

    /// A writer storing through `store`, letting shares wait up to `linger` for company.
    #[cfg(test)]
    pub(super) fn with_store(store: Store, linger: Duration) -> Transcripts {
        Self::spawn(Source::Ready(Box::new(store)), linger)
    }

    fn spawn(source: Source, linger: Duration) -> Transcripts {
        let (requests, rx) = mpsc::channel();
        let writers = Arc::new(AtomicUsize::new(0));
        let commits = Arc::new(AtomicUsize::new(0));
        let shared = Shared {
            writers: Arc::clone(&writers),
            commits: Arc::clone(&commits),
            linger,
        };
        let spawned = std::thread::Builder::new()
            .name("transcripts".into())
            .spawn(move || serve(source, &rx, &shared));
        if let Err(e) = spawned {
            // Every share then fails with this, and the pipelines keep their lines as they
            // do for a locked database.
            tracing::error!("could not start the transcript writer: {e}");
        }
        Transcripts {
            requests,
            writers,
            commits,
        }
    }

    /// Transactions the writer has committed or tried.
    #[cfg(test)]
    pub(super) fn commits(&self) -> usize {
        self.commits.load(Ordering::SeqCst)
    }

    /// Counts a pipeline among the writers until the guard drops.
    pub(super) fn join(&self) -> Joined {
        self.writers.fetch_add(1, Ordering::SeqCst);
        Joined(Arc::clone(&self.writers))
    }

    /// Stores `append` with the other runs' shares; returns the lines stored.
    pub(super) async fn append(&self, append: Append) -> Result<i64, Refused> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if let Err(mpsc::SendError(req)) = self.requests.send(Request { append, reply }) {
            return Err(Refused {
                error: gone(),
                append: Some(Box::new(req.append)),
            });
        }
        answer.await.unwrap_or_else(|_| {
            Err(Refused {
                error: gone(),
                append: None,
            })
        })
    }
}

fn gone() -> StoreError {
    StoreError::Invalid("the transcript writer stopped".into())
}

/// What the writer's thread shares with the handles.
struct Shared {
    writers: Arc<AtomicUsize>,
    commits: Arc<AtomicUsize>,
    linger: Duration,
}

/// The writer's thread: gathers shares, commits them together, answers each.
fn serve(mut source: Source, rx: &mpsc::Receiver<Request>, shared: &Shared) {
    let mut last_commit: Option<Instant> = None;
    while let Ok(first) = rx.recv() {
        let mut bytes = first.bytes();
        let mut batch = vec![first];
        let due = last_commit.map(|t| t + shared.linger);
        loop {
            let everyone = batch.len() >= shared.writers.load(Ordering::SeqCst);
            let wait = due.map_or(Duration::ZERO, |d| {
                d.saturating_duration_since(Instant::now())
            });
            if everyone || bytes >= ENOUGH_BYTES || wait.is_zero() {
                break;
            }
            match rx.recv_timeout(wait) {
                Ok(more) => {
                    bytes += more.bytes();
                    batch.push(more);
                }
                Err(_) => break,
            }
        }
        batch.extend(rx.try_iter());
        last_commit = Some(Instant::now());
        shared.commits.fetch_add(1, Ordering::SeqCst);
        commit(&mut source, batch);
    }
}

/// Commits `batch` and answers every share in it.
fn commit(source: &mut Source, batch: Vec<Request>) {
    let store = match source {
        Source::Ready(store) => store,
        Source::Open(path, redactor) => match Store::open_url(path, Arc::clone(redactor))
            .and_then(|mut s| s.for_output_only().map(|()| s))
        {
            Ok(store) => {
                *source = Source::Ready(Box::new(store));
                let Source::Ready(store) = source else {
                    return;
                };
                store
            }
            Err(e) => {
                let text = e.to_string();
                for r in batch {
                    let error = StoreError::Invalid(text.clone());
                    let _ = r.reply.send(Err(Refused {
                        error,
                        append: Some(Box::new(r.append)),
                    }));
                }
                return;
            }
        },
    };
    let (appends, replies): (Vec<Append>, Vec<_>) =
        batch.into_iter().map(|r| (r.append, r.reply)).unzip();
    match store.append_transcripts(&appends) {
        Ok(results) => {
            for ((append, reply), result) in appends.into_iter().zip(replies).zip(results) {
                let _ = reply.send(result.map_err(|error| Refused {
                    error,
                    append: Some(Box::new(append)),
                }));
            }
        }
        Err(e) => {
            let text = e.to_string();
            for (append, reply) in appends.into_iter().zip(replies) {
                let _ = reply.send(Err(Refused {
                    error: StoreError::Invalid(text.clone()),
                    append: Some(Box::new(append)),
                }));
            }
        }
    }
}

#[cfg(test)]
#[path = "transcripts_tests.rs"]
mod tests;
