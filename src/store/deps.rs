//! Dependencies between issues: adding one (refused when it would close a cycle), removing
//! one, and reading them for many issues in one query.
//!
//! The cycle check runs inside the write transaction that stores the edge: SQLite serialises
//! writers across processes, so two people adding `#3 → #5` and `#5 → #3` at once cannot both
//! succeed.

use std::collections::{HashMap, HashSet, VecDeque};

use super::issues::parse_col;
use super::spend::json_ids;
use super::sql::{vals, Exec};
use super::{events, Result, Store, StoreError};
use crate::domain::{ActorId, DepLink, EventKind};

/// `#3 → #5 → #3`: how a cycle is named in messages.
fn chain(ids: &[i64]) -> String {
    ids.iter()
        .map(|id| format!("#{id}"))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// The issues `id` waits for.
fn waits_for(tx: &impl Exec, id: i64) -> Result<Vec<i64>> {
    Ok(tx.query_map(
        "SELECT depends_on FROM issue_deps WHERE issue_id = ?1",
        vals![id],
        |r| r.get(0),
    )?)
}

/// [`StoreError::IssueNotFound`] unless issue `id` exists (archived or not).
fn exists(tx: &impl Exec, id: i64) -> Result<()> {
    tx.query_opt("SELECT 1 FROM issues WHERE id = ?1", vals![id], |_| Ok(()))?
        .ok_or(StoreError::IssueNotFound(id))
}

/// The path `from → … → to` along existing dependencies, when there is one. A breadth-first
/// walk: each issue is looked up once, through the table's primary key.
fn path(tx: &impl Exec, from: i64, to: i64) -> Result<Option<Vec<i64>>> {
    let mut came_from: HashMap<i64, i64> = HashMap::new();
    let mut seen = HashSet::from([from]);
    let mut queue = VecDeque::from([from]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut out = vec![to];
            let mut at = to;
            while let Some(prev) = came_from.get(&at) {
                out.push(*prev);
                at = *prev;
            }
            out.reverse();
            return Ok(Some(out));
        }
        for n in waits_for(tx, node)? {
            if seen.insert(n) {
                came_from.insert(n, node);
                queue.push_back(n);
            }
        }
    }
    Ok(None)
}

/// Checks that `id` may wait for `on` (both exist, not itself, no cycle), inside the write.
pub(super) fn check_edge(tx: &impl Exec, id: i64, on: i64) -> Result<()> {
    exists(tx, id)?;
    if id == on {
        return Err(StoreError::Invalid(format!(
            "#{id} cannot depend on itself: it would wait for its own completion and never be claimed (nothing was changed)"
        )));
    }
    exists(tx, on).map_err(|e| match e {
        StoreError::IssueNotFound(_) => StoreError::Invalid(format!(
            "cannot depend on #{on}: there is no issue #{on} (nothing was changed)"
        )),
        other => other,
    })?;
    if let Some(back) = path(tx, on, id)? {
        let mut cycle = vec![id];
        cycle.extend(back);
        return Err(StoreError::Invalid(format!(
            "#{id} cannot depend on #{on}: that would close the cycle {} and none of them could ever be claimed (nothing was changed)",
            chain(&cycle)
        )));
    }
    Ok(())
}

/// The issues at one end of `id`'s dependencies, with their titles and columns.
fn links(conn: &impl Exec, sql: &str, id: i64) -> Result<Vec<DepLink>> {
    Ok(conn.query_map(sql, vals![id], |r| {
        Ok(DepLink {
            id: r.get(0)?,
            title: r.get(1)?,
            status: parse_col(r, 2)?,
        })
    })?)
}

/// Stores the edge `id` → `on`; `false` when it was there already.
fn insert_edge(tx: &impl Exec, id: i64, on: i64) -> Result<bool> {
    let n = tx.execute(
        "INSERT INTO issue_deps (issue_id, depends_on) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        vals![id, on],
    )?;
    Ok(n == 1)
}

/// Groups `(issue, dependency)` rows by issue.
fn grouped(rows: Vec<(i64, i64)>) -> HashMap<i64, Vec<i64>> {
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, dep) in rows {
        out.entry(id).or_default().push(dep);
    }
    out
}

impl Store {
    /// Makes `id` wait for `on`; `false` when it already did (nothing is written then).
    /// Refused, with nothing stored, for a missing issue, the issue itself, or a cycle (named).
    pub fn add_dependency(&mut self, id: i64, on: i64, author: &str) -> Result<bool> {
        let by = ActorId::human(author);
        self.write(|tx| {
            check_edge(tx, id, on)?;
            let added = insert_edge(tx, id, on)?;
            if added {
                events::insert(tx, Some(id), &by, &EventKind::DependencyAdded { on })?;
            }
            Ok(added)
        })
    }

    /// Stops `id` waiting for `on`; `false` when it did not (nothing is written then).
    pub fn remove_dependency(&mut self, id: i64, on: i64, author: &str) -> Result<bool> {
        let by = ActorId::human(author);
        self.write(|tx| {
            exists(tx, id)?;
            let n = tx.execute(
                "DELETE FROM issue_deps WHERE issue_id = ?1 AND depends_on = ?2",
                vals![id, on],
            )?;
            if n == 1 {
                events::insert(tx, Some(id), &by, &EventKind::DependencyRemoved { on })?;
            }
            Ok(n == 1)
        })
    }

    /// Replaces the set of issues `id` waits for with `on`, in one transaction: every new edge
    /// is checked (the first refusal stores nothing), each change writes its event row.
    pub fn set_dependencies(&mut self, id: i64, on: &[i64], author: &str) -> Result<()> {
        let by = ActorId::human(author);
        self.write(|tx| {
            let now = waits_for(tx, id)?;
            for old in now.iter().filter(|d| !on.contains(d)) {
                tx.execute(
                    "DELETE FROM issue_deps WHERE issue_id = ?1 AND depends_on = ?2",
                    vals![id, *old],
                )?;
                events::insert(
                    tx,
                    Some(id),
                    &by,
                    &EventKind::DependencyRemoved { on: *old },
                )?;
            }
            for new in on.iter().filter(|d| !now.contains(d)) {
                check_edge(tx, id, *new)?;
                if insert_edge(tx, id, *new)? {
                    events::insert(tx, Some(id), &by, &EventKind::DependencyAdded { on: *new })?;
                }
            }
            Ok(())
        })
    }

    /// The issues `id` waits for and the ones waiting for it, with titles and columns.
    pub fn dependency_links(&self, id: i64) -> Result<(Vec<DepLink>, Vec<DepLink>)> {
        let waits = links(
            self.db(),
            "SELECT x.id, x.title, x.status FROM issue_deps d JOIN issues x ON x.id = d.depends_on
             WHERE d.issue_id = ?1 ORDER BY x.id",
            id,
        )?;
        let blocks = links(
            self.db(),
            "SELECT x.id, x.title, x.status FROM issue_deps d JOIN issues x ON x.id = d.issue_id
             WHERE d.depends_on = ?1 ORDER BY x.id",
            id,
        )?;
        Ok((waits, blocks))
    }

    /// Every dependency of the issues among `ids` (done or not), by issue, in one query.
    pub fn dependencies_of(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<i64>>> {
        self.deps_query(
            "SELECT d.issue_id, d.depends_on FROM issue_deps d
             WHERE d.issue_id IN ({ids})
             ORDER BY d.issue_id, d.depends_on",
            ids,
        )
    }

    /// The dependencies not done yet of the issues among `ids`, by issue, in one query: what
    /// a board's cards say they wait on.
    pub fn open_dependencies_of(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<i64>>> {
        self.deps_query(
            "SELECT d.issue_id, d.depends_on FROM issue_deps d JOIN issues x ON x.id = d.depends_on
             WHERE d.issue_id IN ({ids}) AND x.status != 'done'
             ORDER BY d.issue_id, d.depends_on",
            ids,
        )
    }

    /// Runs `sql` (`{ids}` standing for the subquery of `ids`) for `(issue, dependency)` rows.
    fn deps_query(&self, sql: &str, ids: &[i64]) -> Result<HashMap<i64, Vec<i64>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let list = serde_json::to_string(ids).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let sql = sql.replace("{ids}", json_ids(self.db().backend()));
        let rows = self
            .db()
            .query_map(&sql, vals![list], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(grouped(rows))
    }
}

#[cfg(test)]
mod tests;
