//! The event tailer behind the WebSocket: one per server, not one per client.
//!
//! Events reach every client from the event log, so a write by any process on the database
//! (the CLI, a runner, another TUI) is seen, not only this one's. A thread with a connection of
//! its own reads `PRAGMA data_version` every [`TICK`]; only when it moved does it ask for the
//! new events, render each once as JSON and fan them out through a bounded broadcast channel.
//! The thread exists only while a client is connected.

use crate::store::sql::StoreUrl;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::domain::redact::Redactor;
use crate::domain::{Event, Millis};
use crate::store::Store;

/// How often the tailer looks at `data_version` while a client is connected.
pub const TICK: Duration = Duration::from_millis(250);

/// Events the channel holds for the slowest client before it has lagged.
pub const CHANNEL: usize = 1024;

/// Events read per query.
const BATCH: i64 = 256;

/// One event, rendered once for every client.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// The event's id (clients skip what they already sent).
    pub id: i64,
    /// The message text.
    pub json: Utf8Bytes,
}

/// The message a client receives for one event.
#[derive(Debug, Serialize)]
struct Message<'a> {
    id: i64,
    #[serde(rename = "type")]
    kind: &'a str,
    issue_id: Option<i64>,
    ts: Millis,
    actor: String,
    data: serde_json::Value,
}

/// An event as the JSON text a client receives:
/// `{"id", "type", "issue_id", "ts", "actor", "data"}`.
pub fn render(event: &Event) -> Published {
    let mut value = serde_json::to_value(&event.kind).unwrap_or_default();
    let kind = match value.get_mut("kind").map(serde_json::Value::take) {
        Some(serde_json::Value::String(k)) => k,
        _ => String::new(),
    };
    let data = value
        .get_mut("data")
        .map(serde_json::Value::take)
        .unwrap_or_default();
    let msg = Message {
        id: event.id,
        kind: &kind,
        issue_id: event.issue_id,
        ts: event.ts,
        actor: event.actor.to_string(),
        data,
    };
    // A struct of strings, numbers and JSON values always serializes.
    let json = serde_json::to_string(&msg).unwrap_or_default();
    Published {
        id: event.id,
        json: json.into(),
    }
}

/// The server's one tailer and the channel it feeds.
#[derive(Debug)]
pub struct Hub {
    db: StoreUrl,
    redactor: Arc<Redactor>,
    tx: broadcast::Sender<Published>,
    /// Whether the thread runs; the thread and joining clients decide under this lock.
    running: Mutex<bool>,
    /// The newest event id published (set before it is sent).
    cursor: AtomicI64,
}

impl Hub {
    /// A hub for the database at `db`; no thread runs until a client joins.
    pub fn new(db: StoreUrl, redactor: Arc<Redactor>) -> Hub {
        let (tx, _) = broadcast::channel(CHANNEL);
        Hub {
            db,
            redactor,
            tx,
            running: Mutex::new(false),
            cursor: AtomicI64::new(0),
        }
    }

    /// A receiver of every event published from now on. Call [`Hub::ensure_tailing`] after.
    pub fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.tx.subscribe()
    }

    /// Starts the thread (from event `from`) unless it runs, and answers the newest id it has
    /// published or is about to: every later event reaches receivers subscribed before this
    /// call; the ones up to it a client reads from the store itself.
    pub fn ensure_tailing(self: &Arc<Self>, from: i64) -> i64 {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if !*running {
            self.cursor.store(from, Ordering::SeqCst);
            let hub = Arc::clone(self);
            match std::thread::Builder::new()
                .name("api-events".into())
                .spawn(move || hub.tail(from))
            {
                Ok(_) => *running = true,
                Err(e) => tracing::warn!("cannot start the API's event tailer: {e}"),
            }
        }
        self.cursor.load(Ordering::SeqCst)
    }

    /// Whether the thread runs now.
    pub fn tailing(&self) -> bool {
        *self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends the thread when no client listens (under the lock a joining client takes).
    fn done(&self) -> bool {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if self.tx.receiver_count() == 0 {
            *running = false;
            return true;
        }
        false
    }

    fn tail(&self, mut last: i64) {
        let mut store = None;
        let mut version = None;
        let mut failing = false;
        while !self.done() {
            match self.step(&mut store, &mut version, &mut last) {
                Ok(()) => failing = false,
                Err(e) => {
                    // Said once per failing stretch; the next tick tries again afresh.
                    if !failing {
                        tracing::warn!("the API's event tailer cannot read the store: {e}");
                    }
                    failing = true;
                    store = None;
                    version = None;
                }
            }
            std::thread::sleep(TICK);
        }
    }

    /// One look: nothing when `data_version` did not move; else every new event, in order.
    fn step(
        &self,
        store: &mut Option<Store>,
        version: &mut Option<i64>,
        last: &mut i64,
    ) -> crate::store::Result<()> {
        let s = match store {
            Some(s) => s,
            None => store.insert(Store::open_url(&self.db, Arc::clone(&self.redactor))?),
        };
        let now = s.data_version()?;
        if *version == Some(now) {
            return Ok(());
        }
        *version = Some(now);
        loop {
            let events = s.events_since(*last, BATCH)?;
            for e in &events {
                *last = e.id;
                self.cursor.store(e.id, Ordering::SeqCst);
                // No receiver left is not an error: `done` ends the thread next.
                let _ = self.tx.send(render(e));
            }
            if (events.len() as i64) < BATCH {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::NewIssue;
    use std::time::Instant;

    fn wait<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "timed out: {what}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn add(store: &mut Store, title: &str) -> i64 {
        let new = NewIssue {
            title: title.into(),
            ..NewIssue::default()
        };
        store.create_issue(&new, "ana").unwrap().id
    }

    #[test]
    fn one_thread_tails_while_someone_listens_and_none_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut writer = Store::open(&path).unwrap();
        add(&mut writer, "before");
        let hub = Arc::new(Hub::new(StoreUrl::Sqlite(path), Redactor::builtin()));
        assert!(!hub.tailing(), "no thread before a client joins");

        let mut rx = hub.subscribe();
        let start = writer.max_event_id().unwrap();
        assert_eq!(hub.ensure_tailing(start), start);
        let id = add(&mut writer, "a \"quoted\" \u{1b}[31m title");
        let got = wait("the event", || rx.try_recv().ok());
        let v: serde_json::Value = serde_json::from_str(got.json.as_str()).unwrap();
        assert_eq!(v["type"], "issue.created");
        assert_eq!(v["issue_id"], id);
        assert_eq!(v["actor"], "human:ana");
        assert_eq!(v["data"]["title"], "a \"quoted\" \u{1b}[31m title");
        assert!(
            !got.json.as_str().contains('\u{1b}'),
            "control characters are escaped in the JSON text"
        );

        drop(rx);
        wait("the thread to stop", || (!hub.tailing()).then_some(()));
    }

    #[test]
    fn a_lagging_receiver_learns_how_much_it_missed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut writer = Store::open(&path).unwrap();
        let hub = Arc::new(Hub::new(StoreUrl::Sqlite(path), Redactor::builtin()));
        let mut rx = hub.subscribe();
        hub.ensure_tailing(0);
        for i in 0..(CHANNEL + 10) {
            add(&mut writer, &format!("n{i}"));
        }
        let newest = writer.max_event_id().unwrap();
        wait("every event published", || {
            (hub.cursor.load(Ordering::SeqCst) == newest).then_some(())
        });
        let missed = match rx.try_recv() {
            Err(broadcast::error::TryRecvError::Lagged(n)) => n,
            other => panic!("expected a lag, got {other:?}"),
        };
        assert!(missed >= 10, "{missed}");
    }
}
