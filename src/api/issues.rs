//! `/api/autopilot/issues…`: the CLI's issue and comment commands over HTTP, through the same
//! store calls, answering with the same JSON as `list --json` and `show --json`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::json_body;
use super::{ApiError, ApiState};
use crate::domain::sanitize::one_line;
use crate::domain::{Actor, AuthorKind, Kind, ListedIssue, Status};
use crate::store::{IssueEdit, NewIssue};

/// Who the event log says acted, for changes made over the API.
const API_ACTOR: &str = "api";

/// The issue routes (token required).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/autopilot/issues", get(list).post(create))
        .route("/api/autopilot/issues/{id}", get(show).patch(edit))
        .route("/api/autopilot/issues/{id}/status", post(move_to))
        .route(
            "/api/autopilot/issues/{id}/comments",
            get(comments).post(comment),
        )
}

/// `?status=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
}

/// `POST /issues`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    status: Option<String>,
    /// As `show --json` prints it (RFC 3339), or `+2h`; `at` is the same.
    #[serde(default, alias = "at")]
    not_before: Option<String>,
    /// As `show --json` prints it (`1d`); `every` is the same.
    #[serde(default, alias = "every")]
    repeats_every: Option<String>,
}

/// `PATCH /issues/{id}`: absent fields stay; `assignee: null` or `""` clears it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    title: Option<String>,
    body: Option<String>,
    kind: Option<String>,
    #[serde(default, deserialize_with = "present")]
    assignee: Option<Option<String>>,
    /// `null`, `""` or `"none"` clears it.
    #[serde(default, alias = "at", deserialize_with = "present")]
    not_before: Option<Option<String>>,
    /// `null`, `""` or `"none"` clears it.
    #[serde(default, alias = "every", deserialize_with = "present")]
    repeats_every: Option<Option<String>>,
}

/// A schedule field's change: `None` leaves it, `Some(None)` clears it.
type Change = Option<Option<crate::domain::Millis>>;

/// The schedule fields of a body, read as `add --at` / `--every` read them: `None` leaves a
/// field as it is, `Some(None)` clears it. Errors name the field and the bad value.
fn schedule(
    not_before: Option<Option<&str>>,
    every: Option<Option<&str>>,
    what: &str,
) -> Result<(Change, Change), ApiError> {
    use crate::domain::schedule::{parse_at, parse_every};
    let bad = |field: &str, flag: &str, e: String| {
        ApiError::bad(format!(
            "{} (nothing was {what})",
            e.replacen(flag, field, 1)
        ))
    };
    let at = not_before
        .map(|t| parse_at(t.unwrap_or(""), crate::domain::now_millis()))
        .transpose()
        .map_err(|e| bad("not_before", "--at", e))?;
    let every = every
        .map(|t| parse_every(t.unwrap_or("")))
        .transpose()
        .map_err(|e| bad("repeats_every", "--every", e))?;
    Ok((at, every))
}

/// A field that may be present as null: `Some(None)`, told apart from absent (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// `POST /issues/{id}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
}

/// `POST /issues/{id}/comments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentBody {
    author: String,
    #[serde(default)]
    author_kind: Option<String>,
    body: String,
}

fn enum_arg<T: std::str::FromStr<Err = crate::domain::ParseEnumError>>(
    text: &str,
) -> Result<T, ApiError> {
    text.parse().map_err(|e: crate::domain::ParseEnumError| {
        ApiError::bad(format!("{e} (nothing was changed)"))
    })
}

fn issue_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(text) = path.map_err(|e| ApiError::bad(e.body_text()))?;
    text.trim_start_matches('#').parse().map_err(|_| {
        ApiError::bad(format!(
            "{:?} is not an issue id (a number, like 12)",
            one_line(&text)
        ))
    })
}

async fn list(
    State(state): State<ApiState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad(e.body_text()))?;
    let status = q.status.as_deref().map(enum_arg::<Status>).transpose()?;
    let listed = state
        .with_store(move |store| {
            let issues = store.list_issues(status)?;
            let ids: Vec<i64> = issues.iter().map(|i| i.id).collect();
            let mut deps = store.dependencies_of(&ids)?;
            Ok(issues
                .into_iter()
                .map(|issue| ListedIssue {
                    depends_on: deps.remove(&issue.id).unwrap_or_default(),
                    issue,
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(Json(listed).into_response())
}

async fn create(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b: CreateBody = json_body(&body?)?;
    let kind = b
        .kind
        .as_deref()
        .map(enum_arg::<Kind>)
        .transpose()?
        .unwrap_or_default();
    let ready = match b.status.as_deref().map(enum_arg::<Status>).transpose()? {
        None | Some(Status::Backlog) => false,
        Some(Status::Ready) => true,
        Some(other) => {
            return Err(ApiError::bad(format!(
                "a new issue starts in backlog or ready, not {other} (nothing was added)"
            )))
        }
    };
    let (not_before, every_ms) = schedule(
        b.not_before.as_deref().map(Some),
        b.repeats_every.as_deref().map(Some),
        "added",
    )?;
    let new = NewIssue {
        title: b.title,
        body: b.body,
        kind,
        ready,
        assignee: b.assignee,
        not_before: not_before.flatten(),
        every_ms: every_ms.flatten(),
        ..NewIssue::default()
    };
    let issue = state
        .with_store(move |store| Ok(store.create_issue(&new, API_ACTOR)?))
        .await?;
    Ok((StatusCode::CREATED, Json(issue)).into_response())
}

async fn show(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = issue_id(path)?;
    let detail = state
        .with_store(move |store| Ok(store.issue_detail(id)?))
        .await?;
    Ok(Json(detail).into_response())
}

async fn edit(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = issue_id(path)?;
    let b: EditBody = json_body(&body?)?;
    let (not_before, every_ms) = schedule(
        b.not_before.as_ref().map(Option::as_deref),
        b.repeats_every.as_ref().map(Option::as_deref),
        "changed",
    )?;
    let edit = IssueEdit {
        title: b.title,
        body: b.body,
        kind: b.kind.as_deref().map(enum_arg::<Kind>).transpose()?,
        assignee: b.assignee,
        not_before,
        every_ms,
        ..IssueEdit::default()
    };
    let issue = state
        .with_store(move |store| Ok(store.update_issue(id, &edit, API_ACTOR)?))
        .await?;
    Ok(Json(issue).into_response())
}

async fn move_to(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = issue_id(path)?;
    let b: StatusBody = json_body(&body?)?;
    let to = enum_arg::<Status>(&b.status)?;
    if to == Status::Done {
        // As `move ID done`: accepting lands the branch first, through the one accept path.
        let settings = state.config.accept_settings();
        tokio::task::spawn_blocking(move || {
            crate::runner::review::accept::accept(&settings, id, API_ACTOR, false)
        })
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(accept_error)?;
    } else {
        state
            .with_store(move |store| Ok(store.move_issue(id, to, Actor::Human, API_ACTOR)?))
            .await?;
    }
    let issue = state.with_store(move |store| Ok(store.issue(id)?)).await?;
    Ok(Json(issue).into_response())
}

fn accept_error(e: crate::runner::review::accept::AcceptError) -> ApiError {
    use crate::runner::review::accept::AcceptError;
    match e {
        AcceptError::Store(s) => s.into(),
        AcceptError::NotInReview { .. } | AcceptError::Merge { .. } => {
            ApiError::new(StatusCode::CONFLICT, e.to_string())
        }
        other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    }
}

async fn comments(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = issue_id(path)?;
    let list = state
        .with_store(move |store| {
            store.issue(id)?;
            Ok(store.comments(id)?)
        })
        .await?;
    Ok(Json(list).into_response())
}

async fn comment(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = issue_id(path)?;
    let b: CommentBody = json_body(&body?)?;
    let kind = b
        .author_kind
        .as_deref()
        .map(enum_arg::<AuthorKind>)
        .transpose()?
        .unwrap_or(AuthorKind::Human);
    // As the CLI's `--author`: one printable line, stored and shown everywhere.
    let author = one_line(&b.author);
    if author.trim().is_empty() {
        return Err(ApiError::bad(
            "a comment needs an author (nothing was added)",
        ));
    }
    let (comment, issue) = state
        .with_store(move |store| Ok(store.add_comment(id, author.trim(), kind, &b.body)?))
        .await?;
    let out = serde_json::json!({ "comment": comment, "issue": issue });
    Ok((StatusCode::CREATED, Json(out)).into_response())
}
