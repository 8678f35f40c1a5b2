//! Bare-rusqlite copies of the issue row readers for modules not yet on the portable layer;
//! removed once every caller is ported.

use rusqlite::Row;

use crate::domain::{DiffStat, Issue};

/// [`super::parse_col`] on a bare rusqlite row; removed once every caller is ported.
pub(in crate::store) fn legacy_parse_col<T: std::str::FromStr>(
    r: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = r.get(idx)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// [`super::issue_from_row`] on a bare rusqlite row; removed once every caller is ported.
pub(in crate::store) fn legacy_issue_from_row(r: &Row<'_>) -> rusqlite::Result<Issue> {
    Ok(Issue {
        id: r.get(0)?,
        title: r.get(1)?,
        body: r.get(2)?,
        kind: legacy_parse_col(r, 3)?,
        status: legacy_parse_col(r, 4)?,
        priority: r.get(5)?,
        claimed_by: r.get(6)?,
        lease_until: r.get(7)?,
        branch: r.get(8)?,
        worktree: r.get(9)?,
        base: r.get(10)?,
        session_id: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
        diff: match (r.get(14)?, r.get(15)?, r.get(16)?) {
            (Some(files), Some(added), Some(removed)) => Some(DiffStat {
                files,
                added,
                removed,
            }),
            _ => None,
        },
        model: r.get(17)?,
        effort: match r.get::<_, Option<String>>(18)? {
            Some(_) => Some(legacy_parse_col(r, 18)?),
            None => None,
        },
        budget_usd: r.get(19)?,
        parent: r.get(20)?,
        archived_at: r.get(21)?,
        assignee: r.get(22)?,
        agent: match r.get::<_, Option<String>>(23)? {
            Some(_) => Some(legacy_parse_col(r, 23)?),
            None => None,
        },
        source_url: r.get(24)?,
        pr_url: r.get(25)?,
        not_before: r.get(26)?,
        every_ms: r.get(27)?,
        previous: r.get(28)?,
        template: r.get(29)?,
    })
}
