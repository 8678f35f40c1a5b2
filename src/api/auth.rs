//! The bearer token: where it comes from, and the check every protected route passes.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::{ApiError, ApiState};
use crate::config::Config;

/// The environment variable that holds the token (it wins over `[api] token_file`).
pub const TOKEN_ENV: &str = "AUTOPILOT_API_TOKEN";

/// Where the token came from; `serve` says so (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `AUTOPILOT_API_TOKEN`.
    Env,
    /// `[api] token_file`.
    File(PathBuf),
    /// Generated (or read back) at `.autopilot/api-token`.
    Generated(PathBuf),
}

impl TokenSource {
    /// Whether a person set the token (only then may the API bind beyond loopback).
    pub fn configured(&self) -> bool {
        !matches!(self, TokenSource::Generated(_))
    }

    /// Where the token is, for a person to read.
    pub fn describe(&self) -> String {
        match self {
            TokenSource::Env => format!("the token is ${TOKEN_ENV}"),
            TokenSource::File(p) | TokenSource::Generated(p) => {
                format!("the token is in {}", p.display())
            }
        }
    }
}

/// The secret and where it came from.
#[derive(Clone)]
pub struct Token {
    secret: String,
    /// Where it came from.
    pub source: TokenSource,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("source", &self.source)
            .finish()
    }
}

impl Token {
    /// `AUTOPILOT_API_TOKEN`, else `[api] token_file`, else the generated file (made now, mode
    /// 0600, when missing).
    pub fn resolve(config: &Config, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Token> {
        if let Some(secret) = env(TOKEN_ENV).map(|t| t.trim().to_string()) {
            if secret.is_empty() {
                bail!("{TOKEN_ENV} is set but empty: give it a token, or unset it");
            }
            return Ok(Token {
                secret,
                source: TokenSource::Env,
            });
        }
        if let Some(file) = &config.file.api.token_file {
            let path = config.paths.repo_root.join(file);
            let secret = read_token(&path)?;
            return Ok(Token {
                secret,
                source: TokenSource::File(path),
            });
        }
        let path = config.paths.state_dir.join("api-token");
        let secret = match read_token(&path) {
            Ok(s) => s,
            Err(_) if !path.exists() => generate(&path)?,
            Err(e) => return Err(e),
        };
        Ok(Token {
            secret,
            source: TokenSource::Generated(path),
        })
    }

    /// Whether `given` is the token, in time that does not depend on where they differ.
    pub fn matches(&self, given: &str) -> bool {
        self.secret.as_bytes().ct_eq(given.as_bytes()).into()
    }
}

fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the API token file {}", path.display()))?;
    let secret = text.trim().to_string();
    if secret.is_empty() {
        bail!("the API token file {} is empty", path.display());
    }
    Ok(secret)
}

/// A new random token in a new file only its owner can read.
fn generate(path: &Path) -> anyhow::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(f) => f,
        // Another process made it first: both must use the same one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return read_token(path),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot create the API token file {}", path.display()))
        }
    };
    writeln!(f, "{secret}").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(secret)
}

/// The prefix of the WebSocket subprotocol that carries the token (`autopilot.token.<token>`).
pub const PROTOCOL_TOKEN_PREFIX: &str = "autopilot.token.";

/// The token a request gives: `Authorization: Bearer …`; on a WebSocket handshake also
/// `?token=…` or the subprotocol `autopilot.token.…`, since browsers cannot set headers there.
fn given_token(req: &Request) -> Option<String> {
    let h = req.headers();
    if let Some(t) = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_string());
    }
    let upgrade = h.get(header::UPGRADE).and_then(|v| v.to_str().ok());
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return None;
    }
    let from_protocol = h
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| {
            p.trim()
                .strip_prefix(PROTOCOL_TOKEN_PREFIX)
                .map(str::to_string)
        });
    from_protocol.or_else(|| {
        Query::<HashMap<String, String>>::try_from_uri(req.uri())
            .ok()
            .and_then(|Query(mut q)| q.remove("token"))
    })
}

/// The middleware of every protected route: the token (see [`given_token`]) or 401.
pub async fn require(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    match given_token(&req) {
        Some(t) if state.token.matches(&t) => next.run(req).await,
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "wrong token").into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!("missing `Authorization: Bearer <token>` ({TOKEN_ENV}, [api] token_file, or .autopilot/api-token)"),
        )
        .into_response(),
    }
}
