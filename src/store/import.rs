//! Issues imported from elsewhere (GitHub): one local issue per source address, added once and
//! kept in step while nobody has started on it.

use super::super::sql::{vals, Exec};
use super::super::{events, now, Result, Store, StoreError};
use super::get;
use crate::domain::{ActorId, EventKind, IssueChanges, Kind, Status};

/// One issue as its source describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedIssue {
    /// Its address at the source (the key: a second import of it finds the same local issue).
    pub source_url: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub body: String,
    /// The kind a new local issue gets.
    pub kind: Kind,
}

/// What importing one issue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// A new backlog issue with this id.
    Added(i64),
    /// The local issue (still in backlog) took the new title or body.
    Updated(i64),
    /// The local issue already says the same.
    Unchanged(i64),
    /// The source changed but the local issue has left backlog (in this status): left alone.
    Skipped(i64, Status),
}

impl Store {
    /// Imports `items` in one transaction: every one is added, updated or left alone, or (on
    /// any refusal) none is. Titles and bodies are redacted as `add` redacts them.
    pub fn import_issues(
        &mut self,
        items: &[ImportedIssue],
        author: &str,
    ) -> Result<Vec<ImportOutcome>> {
        let mut clean = Vec::with_capacity(items.len());
        for item in items {
            let title = item.title.trim();
            if title.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "{} has an empty title (nothing was imported)",
                    crate::domain::sanitize::one_line(&item.source_url)
                )));
            }
            clean.push((
                item,
                self.redactor.text(title).into_owned(),
                self.redactor.text(&item.body).into_owned(),
            ));
        }
        let by = ActorId::human(author);
        self.write(|tx| {
            clean
                .iter()
                .map(|(item, title, body)| import_one(tx, &by, item, title, body))
                .collect()
        })
    }
}

/// Adds, updates or leaves one imported issue, inside the import's transaction.
fn import_one(
    tx: &impl Exec,
    by: &ActorId,
    item: &ImportedIssue,
    title: &str,
    body: &str,
) -> Result<ImportOutcome> {
    let found: Option<i64> = tx.query_opt(
        "SELECT id FROM issues WHERE source_url = ?1",
        vals![&item.source_url],
        |r| r.get(0),
    )?;
    let ts = now();
    let Some(id) = found else {
        let id: i64 = tx.query_row(
            "INSERT INTO issues (title, body, kind, status, priority, created_at, updated_at, source_url)
             VALUES (?1, ?2, ?3, 'backlog', 0, ?4, ?4, ?5)
             RETURNING id",
            vals![title, body, item.kind.as_str(), ts, &item.source_url],
            |r| r.get(0),
        )?;
        let kind = EventKind::IssueCreated {
            title: title.to_string(),
            kind: item.kind,
            status: Status::Backlog,
            priority: 0,
        };
        events::insert(tx, Some(id), by, &kind)?;
        return Ok(ImportOutcome::Added(id));
    };
    let before = get(tx, id)?;
    if before.title == title && before.body == body {
        return Ok(ImportOutcome::Unchanged(id));
    }
    if before.status != Status::Backlog {
        return Ok(ImportOutcome::Skipped(id, before.status));
    }
    tx.execute(
        "UPDATE issues SET title = ?2, body = ?3, updated_at = ?4 WHERE id = ?1",
        vals![id, title, body, ts],
    )?;
    let kind = EventKind::IssueUpdated(Box::new(IssueChanges {
        title: (before.title != title).then(|| title.to_string()),
        body: (before.body != body).then_some(true),
        ..IssueChanges::default()
    }));
    events::insert(tx, Some(id), by, &kind)?;
    Ok(ImportOutcome::Updated(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(url: &str, title: &str, body: &str) -> ImportedIssue {
        ImportedIssue {
            source_url: url.into(),
            title: title.into(),
            body: body.into(),
            kind: Kind::Feature,
        }
    }

    #[test]
    fn a_second_import_adds_nothing_and_updates_only_backlog_issues() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open(&dir.path().join("a.db")).expect("store");
        let first = s
            .import_issues(&[item("u/1", "one", "a"), item("u/2", "two", "b")], "me")
            .expect("import");
        assert_eq!(first, [ImportOutcome::Added(1), ImportOutcome::Added(2)]);
        assert_eq!(s.issue(1).expect("1").source_url.as_deref(), Some("u/1"));
        s.move_issue(2, Status::Ready, crate::domain::Actor::Human, "me")
            .expect("hand off");
        let again = s
            .import_issues(
                &[
                    item("u/1", "one, renamed", "a"),
                    item("u/2", "two, renamed", "b"),
                    item("u/3", "three", ""),
                ],
                "me",
            )
            .expect("import");
        assert_eq!(
            again,
            [
                ImportOutcome::Updated(1),
                ImportOutcome::Skipped(2, Status::Ready),
                ImportOutcome::Added(3)
            ]
        );
        assert_eq!(s.issue(1).expect("1").title, "one, renamed");
        assert_eq!(s.issue(2).expect("2").title, "two");
        let third = s
            .import_issues(&[item("u/1", "one, renamed", "a")], "me")
            .expect("import");
        assert_eq!(third, [ImportOutcome::Unchanged(1)]);
    }

    #[test]
    fn one_refused_item_imports_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open(&dir.path().join("a.db")).expect("store");
        let err = s
            .import_issues(&[item("u/1", "one", ""), item("u/2", "  ", "")], "me")
            .expect_err("an empty title");
        assert!(err.to_string().contains("u/2"), "{err}");
        assert!(s.issue(1).is_err(), "nothing half-imported");
    }
}
