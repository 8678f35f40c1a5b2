//! The board's cards: each visible window read with what its cards show (the live run, the
//! agent's question, the review marks, the unfinished dependencies), one query per kind.

use std::collections::HashMap;

use super::{Card, ColumnWindow, LiveInfo, StoreReply, StoreResult};
use crate::domain::sanitize::one_line;
use crate::domain::{AuthorKind, Comment, Issue, Printable, Status};
use crate::store::{ReviewMarks, Store};

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The live run of each in-progress issue, read once per board load (there are only as many
/// as agents running), instead of once per card.
fn live_runs(store: &Store) -> HashMap<i64, LiveInfo> {
    let runs = store.open_runs().unwrap_or_default();
    // Oldest first, so an issue's newest open run is the one kept.
    runs.into_iter()
        .map(|r| {
            let live = LiveInfo {
                agent: one_line(&r.agent_id),
                started_at: r.started_at,
                cost_usd: r.cost_usd,
                estimate_usd: r.estimate_usd,
            };
            (r.issue_id, live)
        })
        .collect()
}

/// The agent's question on each of `issues` that is blocked, read in one query.
pub(super) fn questions(store: &Store, issues: &[Issue]) -> HashMap<i64, Comment> {
    let blocked: Vec<i64> = issues
        .iter()
        .filter(|i| i.status == Status::Blocked)
        .map(|i| i.id)
        .collect();
    store
        .last_comments(&blocked, AuthorKind::Agent)
        .unwrap_or_default()
}

/// The unfinished dependencies of each of `issues` not started yet, read in one query.
fn waits(store: &Store, issues: &[Issue]) -> HashMap<i64, Vec<i64>> {
    let waiting: Vec<i64> = issues
        .iter()
        .filter(|i| matches!(i.status, Status::Backlog | Status::Ready))
        .map(|i| i.id)
        .collect();
    store.open_dependencies_of(&waiting).unwrap_or_default()
}

/// The checks and the reviewer's verdict of each of `issues` in review, read in one query.
fn review_marks(store: &Store, issues: &[Issue]) -> HashMap<i64, ReviewMarks> {
    let in_review: Vec<i64> = issues
        .iter()
        .filter(|i| i.status == Status::InReview)
        .map(|i| i.id)
        .collect();
    store.review_marks(&in_review).unwrap_or_default()
}

fn card(
    issue: Issue,
    live: &HashMap<i64, LiveInfo>,
    questions: &HashMap<i64, Comment>,
    marks: &HashMap<i64, ReviewMarks>,
    waits: &mut HashMap<i64, Vec<i64>>,
    spends: &HashMap<i64, f64>,
    progress: &HashMap<i64, (i64, i64)>,
) -> Card {
    let issue = issue.printable();
    let question = if issue.status == Status::Blocked {
        questions
            .get(&issue.id)
            .map(|c| first_line(&c.clone().printable().body))
    } else {
        None
    };
    let live = if issue.status == Status::InProgress {
        live.get(&issue.id).cloned()
    } else {
        None
    };
    let review = marks.get(&issue.id).copied().unwrap_or_default();
    let waits_on = waits.remove(&issue.id).unwrap_or_default();
    let spend_usd = spends.get(&issue.id).copied().unwrap_or(0.0);
    let progress = progress.get(&issue.id).copied();
    Card {
        issue,
        question,
        live,
        review,
        spend_usd,
        waits_on,
        progress,
    }
}

/// The visible windows of the columns, with their counts.
pub(super) fn board(
    store: &Store,
    gen: u64,
    filter: &str,
    windows: &[(i64, i64)],
) -> StoreResult<StoreReply> {
    let counts = store.status_counts(filter)?;
    let live = live_runs(store);
    let mut pages = Vec::with_capacity(Status::ALL.len());
    for (status, (offset, limit)) in Status::ALL.iter().zip(windows.iter()) {
        pages.push((
            *offset,
            store.issues_page(*status, filter, *offset, *limit)?,
        ));
    }
    // Every visible card's spend, and every visible parent's progress, in one query each.
    let ids: Vec<i64> = pages
        .iter()
        .flat_map(|(_, p)| p.iter().map(|i| i.id))
        .collect();
    let spends = super::money::spends(store, &ids);
    let progress = store.subtask_progress(&ids).unwrap_or_default();
    let mut columns = Vec::with_capacity(Status::ALL.len());
    for (offset, issues) in pages {
        let questions = questions(store, &issues);
        let marks = review_marks(store, &issues);
        let mut waits = waits(store, &issues);
        let cards = issues
            .into_iter()
            .map(|i| card(i, &live, &questions, &marks, &mut waits, &spends, &progress))
            .collect();
        columns.push(ColumnWindow { offset, cards });
    }
    Ok(StoreReply::Board {
        gen,
        counts,
        columns,
    })
}
