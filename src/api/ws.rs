//! `GET /api/autopilot/ws`: every event of the log, live, as one JSON text message each.
//!
//! A client starts at the newest event (or replays from `?after=ID`, at most [`REPLAY_CAP`]
//! events), then follows the server's one tailer ([`super::tail::Hub`]). A client too slow for
//! the channel gets `{"type":"lagged",…}` and a close frame naming the id to resume after:
//! the server never buffers more than the channel's bounded window for anyone.

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};

use super::tail::{render, Published};
use super::{ApiError, ApiState};

/// The most events one connection replays from `?after=ID` before it must reconnect.
pub const REPLAY_CAP: i64 = 1000;

/// The subprotocol the server speaks; a browser offers it beside `autopilot.token.<token>`.
pub const PROTOCOL: &str = "autopilot";

/// The close code for a client that fell behind or hit the replay cap (1013: try again later).
const CLOSE_AGAIN: u16 = 1013;

/// The WebSocket route (behind the token: the middleware also reads `?token=` and the
/// subprotocol for it, since browsers cannot set `Authorization` on a WebSocket).
pub fn routes() -> Router<ApiState> {
    Router::new().route("/api/autopilot/ws", get(upgrade))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// Replay the events after this id first.
    after: Option<i64>,
    /// Read by the middleware; named here so it is not refused as unknown.
    #[allow(dead_code)]
    token: Option<String>,
}

async fn upgrade(
    State(state): State<ApiState>,
    params: Result<Query<Params>, QueryRejection>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad(format!("bad query: {}", e.body_text())))?;
    let rx = state.events.subscribe();
    let start = state.with_store(|s| Ok(s.max_event_id()?)).await?;
    let cursor = state.events.ensure_tailing(start);
    // Without `after`, the client starts now; an `after` beyond the log starts now too.
    let from = params.after.filter(|a| *a < start).unwrap_or(start);
    Ok(ws
        .protocols([PROTOCOL])
        .on_upgrade(move |socket| follow(socket, state, rx, from, cursor))
        .into_response())
}

/// What a client is sent next from the channel.
#[derive(Debug, PartialEq)]
enum Next {
    /// An event it has not had.
    Event(Published),
    /// It fell behind by this many events.
    Lagged(u64),
    /// The server is going away.
    Closed,
}

/// The next event after `sent` (the channel may repeat ones the replay already sent).
async fn next(rx: &mut broadcast::Receiver<Published>, sent: i64) -> Next {
    loop {
        match rx.recv().await {
            Ok(p) if p.id <= sent => continue,
            Ok(p) => return Next::Event(p),
            Err(RecvError::Lagged(n)) => return Next::Lagged(n),
            Err(RecvError::Closed) => return Next::Closed,
        }
    }
}

/// Tells a client it must reconnect with `?after=<sent>`, and closes.
async fn send_lagged(socket: &mut WebSocket, missed: Option<u64>, sent: i64, why: &str) {
    let msg = serde_json::json!({ "type": "lagged", "missed": missed, "after": sent });
    let _ = socket.send(Message::Text(msg.to_string().into())).await;
    let frame = CloseFrame {
        code: CLOSE_AGAIN,
        reason: format!("{why}: reconnect with ?after={sent}").into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn follow(
    mut socket: WebSocket,
    state: ApiState,
    mut rx: broadcast::Receiver<Published>,
    from: i64,
    cursor: i64,
) {
    let mut sent = from;
    if from < cursor {
        let events = state
            .with_store(move |s| Ok(s.events_since(from, REPLAY_CAP + 1)?))
            .await;
        let events = match events {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("WebSocket replay failed: {}", e.message);
                return;
            }
        };
        let capped = events.len() as i64 > REPLAY_CAP;
        for e in events.iter().take(REPLAY_CAP as usize) {
            if socket.send(Message::Text(render(e).json)).await.is_err() {
                return;
            }
            sent = e.id;
        }
        if capped {
            send_lagged(&mut socket, None, sent, "replay capped").await;
            return;
        }
    }
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                // Pings are answered by the protocol layer; anything else is ignored.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            item = next(&mut rx, sent) => match item {
                Next::Event(p) => {
                    if socket.send(Message::Text(p.json)).await.is_err() {
                        return;
                    }
                    sent = p.id;
                }
                Next::Lagged(n) => {
                    send_lagged(&mut socket, Some(n), sent, "lagged behind").await;
                    return;
                }
                Next::Closed => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn p(id: i64) -> Published {
        Published {
            id,
            json: format!("{id}").into(),
        }
    }

    #[tokio::test]
    async fn next_skips_what_the_replay_sent_and_reports_a_lag() {
        let (tx, mut rx) = broadcast::channel(2);
        for id in [3, 4] {
            tx.send(p(id)).unwrap();
        }
        assert_eq!(next(&mut rx, 3).await, Next::Event(p(4)));
        for id in [5, 6, 7] {
            tx.send(p(id)).unwrap();
        }
        assert_eq!(next(&mut rx, 4).await, Next::Lagged(1));
        drop(tx);
        assert_eq!(next(&mut rx, 7).await, Next::Closed);
    }
}
