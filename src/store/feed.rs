//! The change feed of a shared server: every write transaction on PostgreSQL sends a
//! notification on [`CHANNEL`] as it commits, and one listening connection per process and
//! database counts them. The UI, the runner's wake-up and the API's WebSocket read that count
//! where SQLite's `PRAGMA data_version` is read, so a look costs an atomic load and no round
//! trip; [`Feed::changed`] lets a task wait for the next change instead of looking.
//!
//! A dropped connection (a server restart, a network cut) is reconnected with backoff; the
//! count moves once the listener is back, so every watcher reloads whatever it missed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::sql::PgUrl;

/// The channel every commit notifies.
pub(crate) const CHANNEL: &str = "autopilot_changes";
/// What a write transaction runs before it commits.
pub(crate) const NOTIFY: &str = "NOTIFY autopilot_changes";

/// How long the listener waits without news before it checks that the connection is alive
/// and that a store still uses the feed (a round trip every few seconds, nothing more).
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long opening a store waits for its listener's first LISTEN.
const FIRST_LISTEN: Duration = Duration::from_secs(5);
/// The first and the longest wait between reconnection attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// The changes of one database, as one process's listener hears them.
#[derive(Debug, Default)]
pub struct Feed {
    version: AtomicI64,
    changed: tokio::sync::Notify,
}

impl Feed {
    /// A number that moves with every commit any process makes (and after a reconnection).
    pub fn version(&self) -> i64 {
        self.version.load(Ordering::Acquire)
    }

    /// Resolves at the next change after it is first polled.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    fn bump(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_waiters();
    }
}

/// The feed of the database `url` names, its listener started on first use. The listener
/// ends (and its connection closes) once no store of this process holds the feed.
pub(crate) fn feed(url: &PgUrl) -> Arc<Feed> {
    static FEEDS: OnceLock<Mutex<HashMap<String, Weak<Feed>>>> = OnceLock::new();
    let feeds = FEEDS.get_or_init(Mutex::default);
    // A poisoned map still holds working feeds: a listener that panicked only stopped itself.
    let mut feeds = feeds.lock().unwrap_or_else(|p| p.into_inner());
    feeds.retain(|_, feed| feed.strong_count() > 0);
    if let Some(feed) = feeds.get(url.secret()).and_then(Weak::upgrade) {
        return feed;
    }
    let feed = Arc::new(Feed::default());
    let (listener, target) = (Arc::downgrade(&feed), url.clone());
    let (ready, listening) = std::sync::mpsc::channel();
    let started = std::thread::Builder::new()
        .name("store-feed".into())
        .spawn(move || listen(&target, &listener, &ready));
    // Commits made after the store opened must be heard: wait for the first LISTEN (or the
    // first failure to connect, which the listener keeps retrying).
    if started.is_ok() && listening.recv_timeout(FIRST_LISTEN).is_err() {
        tracing::warn!("the change listener for {url} is not listening yet");
    }
    if let Err(e) = started {
        // Without a listener the count stands still: watchers still see their own writes and
        // reload on their timers, so this is worth a warning, not a failure.
        tracing::warn!("cannot start the change listener for {url}: {e}");
    }
    feeds.insert(url.secret().to_string(), Arc::downgrade(&feed));
    feed
}

/// Listens while a store holds the feed, reconnecting after every loss.
fn listen(url: &PgUrl, feed: &Weak<Feed>, ready: &std::sync::mpsc::Sender<()>) {
    let mut backoff = BACKOFF.0;
    let mut connected_before = false;
    while feed.strong_count() > 0 {
        let mut client = match url.config().connect(postgres::NoTls) {
            Ok(client) => client,
            Err(e) => {
                // Whoever waits for the first LISTEN is not kept waiting by a server that
                // is down; the store's own connection reports that.
                let _ = ready.send(());
                tracing::warn!(
                    "change listener: cannot connect to {url}: {e}; retrying in {backoff:?}"
                );
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(BACKOFF.1);
                continue;
            }
        };
        if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")) {
            tracing::warn!("change listener: LISTEN on {url} failed: {e}");
            std::thread::sleep(backoff);
            continue;
        }
        backoff = BACKOFF.0;
        let _ = ready.send(());
        if connected_before {
            // Whatever was committed while the connection was down was not heard: everyone
            // reloads once.
            tracing::info!("change listener: reconnected to {url}");
            if let Some(feed) = feed.upgrade() {
                feed.bump();
            }
        }
        connected_before = true;
        match hear(&mut client, feed) {
            Ok(true) => return,
            Ok(false) => tracing::warn!("change listener: the server closed the connection"),
            Err(e) => tracing::warn!("change listener: lost the connection to {url}: {e}"),
        }
    }
}

/// Counts notifications until the connection ends (`false`) or no store holds the feed any
/// more (`true`).
fn hear(client: &mut postgres::Client, feed: &Weak<Feed>) -> Result<bool, postgres::Error> {
    loop {
        let mut heard = false;
        {
            let mut notes = client.notifications();
            let mut iter = notes.timeout_iter(HEARTBEAT);
            while let Some(_note) = iter.next()? {
                heard = true;
                // One bump per batch: watchers only need to know that something moved.
                if iter.size_hint().0 == 0 {
                    break;
                }
            }
        }
        let Some(feed) = feed.upgrade() else {
            return Ok(true);
        };
        if heard {
            feed.bump();
        } else if client.is_closed() {
            return Ok(false);
        } else {
            // Quiet for a while: make sure the connection is still there (a cut network
            // would otherwise leave the listener deaf until TCP gives up, hours later).
            client.batch_execute("")?;
        }
    }
}
