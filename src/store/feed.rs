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
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::sql::PgUrl;

/// The channel every commit notifies.
pub(crate) const CHANNEL: &str = "autopilot_changes";
/// What a write transaction runs before it commits.
pub(crate) const NOTIFY: &str = "NOTIFY autopilot_changes";

/// How long the listener waits without news before it checks the connection is alive.
const HEARTBEAT: Duration = Duration::from_secs(30);
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

/// The feed of the database `url` names, its listener started on first use.
pub(crate) fn feed(url: &PgUrl) -> Arc<Feed> {
    static FEEDS: OnceLock<Mutex<HashMap<String, Arc<Feed>>>> = OnceLock::new();
    let feeds = FEEDS.get_or_init(Mutex::default);
    // A poisoned map still holds working feeds: a listener that panicked only stopped itself.
    let mut feeds = feeds.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(feed) = feeds.get(url.secret()) {
        return Arc::clone(feed);
    }
    let feed = Arc::new(Feed::default());
    let (listener, target) = (Arc::clone(&feed), url.clone());
    let started = std::thread::Builder::new()
        .name("store-feed".into())
        .spawn(move || listen(&target, &listener));
    if let Err(e) = started {
        // Without a listener the count stands still: watchers still see their own writes and
        // reload on their timers, so this is worth a warning, not a failure.
        tracing::warn!("cannot start the change listener for {url}: {e}");
    }
    feeds.insert(url.secret().to_string(), Arc::clone(&feed));
    feed
}

/// Listens for ever, reconnecting after every loss.
fn listen(url: &PgUrl, feed: &Feed) {
    let mut backoff = BACKOFF.0;
    let mut connected_before = false;
    loop {
        let mut client = match url.config().connect(postgres::NoTls) {
            Ok(client) => client,
            Err(e) => {
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
        if connected_before {
            // Whatever was committed while the connection was down was not heard: everyone
            // reloads once.
            tracing::info!("change listener: reconnected to {url}");
            feed.bump();
        }
        connected_before = true;
        match hear(&mut client, feed) {
            Ok(()) => tracing::warn!("change listener: the server closed the connection"),
            Err(e) => tracing::warn!("change listener: lost the connection to {url}: {e}"),
        }
    }
}

/// Counts notifications until the connection ends.
fn hear(client: &mut postgres::Client, feed: &Feed) -> Result<(), postgres::Error> {
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
        if heard {
            feed.bump();
        } else if client.is_closed() {
            return Ok(());
        } else {
            // Quiet for a while: make sure the connection is still there (a cut network
            // would otherwise leave the listener deaf until TCP gives up, hours later).
            client.batch_execute("")?;
        }
    }
}
