//! The HTTP API: axum on the process's tokio runtime, over the same store calls the CLI makes.
//!
//! The store is synchronous SQLite: every handler opens its own `Store` on the blocking pool
//! ([`ApiState::with_store`]), so a request never holds up the runtime or the TUI beside it.
//! `app` puts the token-protected routes ([`protected_routes`]) behind [`auth::require`] and
//! merges the public ones (the feedback ingress) beside them.

use crate::store::sql::StoreUrl;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context};
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::Router;

use crate::config::Config;
use crate::domain::redact::Redactor;
use crate::store::Store;

pub mod auth;
mod error;
mod feedback;
mod issues;
pub mod tail;
mod widget;
mod ws;

pub use auth::{Token, TokenSource, TOKEN_ENV};
pub use error::ApiError;

/// The largest request body any route reads (413 beyond).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler shares: where the database is, the token, the feedback settings.
#[derive(Clone)]
pub struct ApiState {
    /// The database every request opens.
    pub db: StoreUrl,
    /// The configured redaction, applied by the store to what it writes.
    pub redactor: Arc<Redactor>,
    /// The effective configuration (accepting an issue needs its merge settings).
    pub config: Arc<Config>,
    /// The bearer token.
    pub token: Arc<Token>,
    /// Feedback posts per client address in the last minute.
    pub feedback: Arc<feedback::Limiter>,
    /// The event tailer the WebSocket clients share.
    pub events: Arc<tail::Hub>,
}

impl ApiState {
    /// The state for a configuration and its token.
    pub fn new(config: Config, token: Token) -> ApiState {
        let per_minute = config
            .file
            .api
            .feedback_per_minute
            .unwrap_or(crate::config::DEFAULT_FEEDBACK_PER_MINUTE);
        ApiState {
            db: config.paths.db.clone(),
            redactor: Arc::clone(&config.redactor),
            feedback: Arc::new(feedback::Limiter::new(per_minute)),
            events: Arc::new(tail::Hub::new(
                config.paths.db.clone(),
                Arc::clone(&config.redactor),
            )),
            token: Arc::new(token),
            config: Arc::new(config),
        }
    }

    /// Runs `f` on a store of its own, on the blocking pool.
    pub async fn with_store<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    {
        let (db, red) = (self.db.clone(), Arc::clone(&self.redactor));
        tokio::task::spawn_blocking(move || {
            let mut store = Store::open_url(&db, red)?;
            f(&mut store)
        })
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the request failed: {e}"),
            )
        })?
    }
}

/// The routes behind the token. Another layer's routes (the WebSocket) merge in here.
pub fn protected_routes() -> Router<ApiState> {
    issues::routes().merge(ws::routes())
}

/// The routes open without a token (each decides for itself whether it is on).
pub fn public_routes() -> Router<ApiState> {
    feedback::routes().merge(widget::routes())
}

/// The whole API: protected and public routes, the body limit, JSON for every error.
pub fn app(state: ApiState) -> Router {
    let protected = protected_routes().route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require,
    ));
    protected
        .merge(public_routes())
        .fallback(|| async {
            ApiError::not_found("no such endpoint (the API lives under /api/autopilot/)")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Reads a listen address: `IP:PORT` (`localhost:PORT` is 127.0.0.1).
pub fn parse_listen(text: &str) -> anyhow::Result<SocketAddr> {
    let t = text.trim();
    let t2 = t
        .strip_prefix("localhost:")
        .map(|p| format!("127.0.0.1:{p}"));
    t2.as_deref().unwrap_or(t).parse().map_err(|_| {
        anyhow::anyhow!(
            "{:?} is not an address to listen on: give IP:PORT, like {}",
            crate::domain::sanitize::one_line(text),
            crate::config::DEFAULT_LISTEN
        )
    })
}

/// Binds the API's socket, refusing an address beyond loopback unless a person set the token.
pub fn bind(addr: SocketAddr, token: &Token) -> anyhow::Result<std::net::TcpListener> {
    if !addr.ip().is_loopback() && !token.source.configured() {
        bail!(
            "refusing to serve the API on {addr}, beyond this machine, with a generated token: set \
             {TOKEN_ENV} (or [api] token_file) to a token of your own first, or listen on 127.0.0.1"
        );
    }
    let listener = std::net::TcpListener::bind(addr).with_context(|| match addr.port() {
        0 => format!("cannot listen on {addr}"),
        p => format!(
            "cannot listen on {addr} (is port {p} in use? `--listen 127.0.0.1:0` picks a free one)"
        ),
    })?;
    listener
        .set_nonblocking(true)
        .context("cannot make the API socket non-blocking")?;
    Ok(listener)
}

/// A bound API, ready to run on a runtime.
pub struct Server {
    listener: std::net::TcpListener,
    state: ApiState,
}

impl Server {
    /// Resolves the token and binds `listen` (else `[api] listen`, else the default).
    pub fn bind(config: Config, listen: Option<&str>) -> anyhow::Result<Server> {
        let env = |k: &str| std::env::var(k).ok();
        let text = listen
            .map(str::to_string)
            .or_else(|| config.file.api.listen.clone())
            .unwrap_or_else(|| crate::config::DEFAULT_LISTEN.to_string());
        let addr = parse_listen(&text)?;
        let token = Token::resolve(&config, &env)?;
        let listener = bind(addr, &token)?;
        Ok(Server {
            listener,
            state: ApiState::new(config, token),
        })
    }

    /// Where it listens (the real port when 0 was asked for).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Where its token is, for a person.
    pub fn token_source(&self) -> &TokenSource {
        &self.state.token.source
    }

    /// Serves until `shutdown` resolves. Must run inside a tokio runtime.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        let app = app(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the API server failed")
    }
}
