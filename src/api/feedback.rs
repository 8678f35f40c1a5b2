//! `POST /api/autopilot/feedback`: product feedback from any web page, without a token, as a
//! `feedback` issue in backlog. Small bodies only, a few posts a minute per client address,
//! and the only route a browser may call across origins.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::error::json_body;
use super::{ApiError, ApiState};
use crate::domain::sanitize::one_line;
use crate::domain::Kind;
use crate::store::NewIssue;

/// The largest feedback body (413 beyond).
pub const FEEDBACK_LIMIT: usize = 64 * 1024;

/// The longest title taken from a message's first line, in characters.
const TITLE_CHARS: usize = 80;

const PATH: &str = "/api/autopilot/feedback";

/// The feedback route, with its own smaller body limit.
pub fn routes() -> Router<ApiState> {
    Router::new().route(
        PATH,
        post(submit)
            .options(preflight)
            .layer(DefaultBodyLimit::max(FEEDBACK_LIMIT)),
    )
}

/// Posts per client address in a sliding minute.
#[derive(Debug)]
pub struct Limiter {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Limiter {
    /// A limiter allowing `per_minute` posts per address.
    pub fn new(per_minute: u32) -> Limiter {
        Limiter {
            per_minute,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one post from `ip`; false when it is one too many.
    fn admit(&self, ip: IpAddr, now: Instant) -> bool {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = Duration::from_secs(60);
        seen.retain(|_, times| {
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                times.pop_front();
            }
            !times.is_empty()
        });
        let times = seen.entry(ip).or_default();
        if times.len() >= self.per_minute as usize {
            return false;
        }
        times.push_back(now);
        true
    }
}

/// What a page posts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    message: String,
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

fn enabled(state: &ApiState) -> Result<(), ApiError> {
    match state.config.file.api.feedback {
        Some(false) => Err(ApiError::not_found(
            "feedback is switched off ([api] feedback = false)",
        )),
        _ => Ok(()),
    }
}

/// Any page may post here (and only here).
fn cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    r
}

async fn preflight(State(state): State<ApiState>) -> Response {
    if let Err(e) = enabled(&state) {
        return e.into_response();
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h: &mut HeaderMap = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    cors(r)
}

async fn submit(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    cors(match accept(&state, peer, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    })
}

async fn accept(
    state: &ApiState,
    peer: SocketAddr,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    enabled(state)?;
    if !state.feedback.admit(peer.ip(), Instant::now()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too much feedback from this address; try again in a minute",
        ));
    }
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("feedback is at most {FEEDBACK_LIMIT} bytes (nothing was added)"),
        ),
        _ => e.into(),
    })?;
    let b: FeedbackBody = json_body(&body)?;
    let new = issue_of(&b)?;
    let issue = state
        .with_store(move |store| Ok(store.create_issue(&new, "feedback")?))
        .await?;
    Ok((StatusCode::CREATED, Json(issue)).into_response())
}

/// The issue a message becomes: its first line (capped) for a title, the page and the user
/// under the whole message.
fn issue_of(b: &FeedbackBody) -> Result<NewIssue, ApiError> {
    let Some(first) = b.message.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Err(ApiError::bad(
            "feedback needs a message (nothing was added)",
        ));
    };
    let first = one_line(first);
    let mut title: String = first.chars().take(TITLE_CHARS).collect();
    if first.chars().count() > TITLE_CHARS {
        title.push('…');
    }
    let mut body = b.message.trim_end().to_string();
    body.push('\n');
    for (name, value) in [("page", &b.page), ("user", &b.user)] {
        if let Some(v) = value.as_deref().map(one_line).filter(|v| !v.is_empty()) {
            body.push_str(&format!("\n{name}: {v}"));
        }
    }
    Ok(NewIssue {
        title,
        body,
        kind: Kind::Feedback,
        ..NewIssue::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_forgets_a_post_after_a_minute() {
        let l = Limiter::new(2);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let t0 = Instant::now();
        assert!(l.admit(ip, t0));
        assert!(l.admit(ip, t0));
        assert!(!l.admit(ip, t0 + Duration::from_secs(59)));
        assert!(
            l.admit([127, 0, 0, 2].into(), t0),
            "another address has its own count"
        );
        assert!(l.admit(ip, t0 + Duration::from_secs(61)));
    }

    #[test]
    fn a_title_is_the_first_line_capped() {
        let b = FeedbackBody {
            message: format!("\n  {}\nsecond", "x".repeat(200)),
            page: Some("https://a/b".into()),
            user: Some("me@co\x1b[31m".into()),
        };
        let n = issue_of(&b).expect("issue");
        assert_eq!(n.title.chars().count(), TITLE_CHARS + 1);
        assert!(
            n.body.ends_with("page: https://a/b\nuser: me@co"),
            "{:?}",
            n.body
        );
        assert_eq!(n.kind, Kind::Feedback);
    }
}
