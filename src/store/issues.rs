//! Issues: creation, edits, moves and reading one issue.

use super::sql::{vals, Exec, Row, SqlError};
use super::{events, now, Result, Store, StoreError};

#[path = "import.rs"]
mod import;
use crate::domain::{
    transition, Actor, ActorId, AgentKind, DiffStat, Effort, EventKind, Issue, IssueChanges,
    IssueDetail, Kind, Millis, Status,
};
pub use import::{ImportOutcome, ImportedIssue};

/// What `add` needs to create an issue.
#[derive(Debug, Clone, Default)]
pub struct NewIssue {
    /// One-line summary (required, non-empty).
    pub title: String,
    /// Description.
    pub body: String,
    /// Sort of work.
    pub kind: Kind,
    /// Higher is claimed first.
    pub priority: i64,
    /// Start in ready (handed off) instead of backlog.
    pub ready: bool,
    /// Issues that must be done before this one may be claimed.
    pub depends_on: Vec<i64>,
    /// The model its runs use (None: the configured one).
    pub model: Option<String>,
    /// The effort its runs use (None: the configured one).
    pub effort: Option<Effort>,
    /// Its own spending cap in US dollars (None: `[budget] per_issue_usd`).
    pub budget_usd: Option<f64>,
    /// The issue it is a subtask of.
    pub parent: Option<i64>,
    /// Who it is assigned to.
    pub assignee: Option<String>,
    /// The agent its runs use (None: `[agent] kind`).
    pub agent: Option<AgentKind>,
    /// The prompt template its runs use (None: `[templates]`); checked to be a name here, to
    /// exist by the caller.
    pub template: Option<String>,
    /// Where it comes from (an imported GitHub issue's address; one issue per address).
    pub source_url: Option<String>,
    /// Not claimed before this time (epoch ms).
    pub not_before: Option<Millis>,
    /// When done, a copy is queued this long after (ms, at least a minute).
    pub every_ms: Option<Millis>,
}

/// A partial edit: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct IssueEdit {
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// New kind.
    pub kind: Option<Kind>,
    /// New priority.
    pub priority: Option<i64>,
    /// New base branch (the branch runs start from and merge in before a rerun).
    pub base: Option<String>,
    /// New model; `Some(None)` clears it (back to the configured one).
    pub model: Option<Option<String>>,
    /// New effort; `Some(None)` clears it.
    pub effort: Option<Option<Effort>>,
    /// New spending cap in US dollars; `Some(None)` clears it (back to `[budget] per_issue_usd`).
    pub budget_usd: Option<Option<f64>>,
    /// New parent; `Some(None)` makes it a top-level issue again.
    pub parent: Option<Option<i64>>,
    /// New assignee; `Some(None)` clears it.
    pub assignee: Option<Option<String>>,
    /// New agent; `Some(None)` clears it (back to `[agent] kind`).
    pub agent: Option<Option<AgentKind>>,
    /// New start time; `Some(None)` clears it (claimable at once).
    pub not_before: Option<Option<Millis>>,
    /// New repetition; `Some(None)` stops it.
    pub every_ms: Option<Option<Millis>>,
    /// New prompt template; `Some(None)` clears it (back to `[templates]`).
    pub template: Option<Option<String>>,
}

/// The issue columns every query reads, in the order [`issue_from_row`] expects.
pub(super) const ISSUE_COLS: &str = "id, title, body, kind, status, priority, claimed_by, \
     lease_until, branch, worktree, base, session_id, created_at, updated_at, \
     diff_files, diff_added, diff_removed, model, effort, budget_usd, parent_id, archived_at, \
     assignee, agent, source_url, pr_url, not_before, every_ms, previous_id, template";

/// Reads a text column holding one of a domain enum's spellings.
pub(super) fn parse_col<T: std::str::FromStr>(r: &Row, idx: usize) -> Result<T, SqlError>
where
    T::Err: std::fmt::Display,
{
    let text: String = r.get(idx)?;
    text.parse().map_err(|e: T::Err| SqlError::Column {
        column: idx,
        detail: format!("{text:?} is not valid here: {e}"),
    })
}

/// An issue from a row of [`ISSUE_COLS`].
pub(super) fn issue_from_row(r: &Row) -> Result<Issue, SqlError> {
    Ok(Issue {
        id: r.get(0)?,
        title: r.get(1)?,
        body: r.get(2)?,
        kind: parse_col(r, 3)?,
        status: parse_col(r, 4)?,
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
        effort: match r.get::<Option<String>>(18)? {
            Some(_) => Some(parse_col(r, 18)?),
            None => None,
        },
        budget_usd: r.get(19)?,
        parent: r.get(20)?,
        archived_at: r.get(21)?,
        assignee: r.get(22)?,
        agent: match r.get::<Option<String>>(23)? {
            Some(_) => Some(parse_col(r, 23)?),
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

/// One issue, on the store's connection or inside a transaction.
pub(super) fn get(conn: &impl Exec, id: i64) -> Result<Issue> {
    conn.query_opt(
        &format!("SELECT {ISSUE_COLS} FROM issues WHERE id = ?1"),
        vals![id],
        issue_from_row,
    )?
    .ok_or(StoreError::IssueNotFound(id))
}

/// Moves an issue inside a transaction, checking the state machine and writing the event.
pub(super) fn set_status(
    tx: &impl Exec,
    issue: &Issue,
    to: Status,
    actor: Actor,
    name: &str,
) -> Result<()> {
    if issue.archived_at.is_some() {
        return Err(StoreError::Invalid(format!(
            "#{} is archived; unarchive it first (`autopilot-tui unarchive {}`), then move it (nothing was changed)",
            issue.id, issue.id
        )));
    }
    transition(issue.status, to, actor)?;
    let keep_claim = to == Status::InProgress;
    tx.execute(
        "UPDATE issues SET status = ?2, updated_at = ?3,
             claimed_by = CASE WHEN ?4 THEN claimed_by ELSE NULL END,
             lease_until = CASE WHEN ?4 THEN lease_until ELSE NULL END,
             stop_requested_by = NULL
         WHERE id = ?1",
        vals![issue.id, to.as_str(), now(), keep_claim],
    )?;
    let kind = EventKind::IssueStatus {
        from: issue.status,
        to,
        actor,
        claimed_by: None,
    };
    events::insert(tx, Some(issue.id), &ActorId::new(actor, name), &kind)?;
    if to == Status::Done && issue.status != Status::Done {
        super::repeat::after_done(tx, issue)?;
    }
    Ok(())
}

/// What changed between two versions of an issue, as an `issue.updated` event reports it.
fn changes(before: &Issue, after: &Issue) -> IssueChanges {
    IssueChanges {
        title: (before.title != after.title).then(|| after.title.clone()),
        body: (before.body != after.body).then_some(true),
        kind: (before.kind != after.kind).then_some(after.kind),
        priority: (before.priority != after.priority).then_some(after.priority),
        // A base is set or replaced, never cleared (the update keeps the old one).
        base: (before.base != after.base)
            .then(|| after.base.clone())
            .flatten(),
        model: (before.model != after.model).then(|| after.model.clone().unwrap_or_default()),
        effort: (before.effort != after.effort).then(|| {
            after
                .effort
                .map(|e| e.as_str().to_string())
                .unwrap_or_default()
        }),
        budget_usd: (before.budget_usd != after.budget_usd).then(|| {
            after
                .budget_usd
                .map(|v| format!("{v:.2}"))
                .unwrap_or_default()
        }),
        parent: (before.parent != after.parent).then(|| {
            after
                .parent
                .map_or_else(|| "none".into(), |p| format!("#{p}"))
        }),
        assignee: (before.assignee != after.assignee)
            .then(|| after.assignee.clone().unwrap_or_default()),
        agent: (before.agent != after.agent).then(|| {
            after
                .agent
                .map(|a| a.as_str().to_string())
                .unwrap_or_default()
        }),
        schedule: (before.not_before != after.not_before || before.every_ms != after.every_ms)
            .then(|| super::repeat::schedule_text(after)),
        template: (before.template != after.template)
            .then(|| after.template.clone().unwrap_or_default()),
        ..IssueChanges::default()
    }
}

/// An assignee as stored: one printable line, trimmed, blank meaning nobody, redacted like
/// every text (it reaches boards and terminals).
fn assignee_name(
    red: &crate::domain::redact::Redactor,
    name: Option<&str>,
) -> Result<Option<String>> {
    let Some(n) = name.map(crate::domain::sanitize::one_line) else {
        return Ok(None);
    };
    let n = n.trim();
    if n.is_empty() {
        return Ok(None);
    }
    if n.chars().count() > 200 {
        return Err(StoreError::Invalid(
            "an assignee is a name of at most 200 characters (nothing was changed)".into(),
        ));
    }
    Ok(Some(red.text(n).into_owned()))
}

/// A model name as stored: trimmed, blank meaning none, and one plain word (it becomes a
/// command-line argument, and a board shows it).
fn model_name(model: Option<&str>) -> Result<Option<String>> {
    let Some(m) = model.map(str::trim).filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    if m.len() > 200 || m.starts_with('-') || m.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(StoreError::Invalid(format!(
            "model {:?} is not a model name (one word, like sonnet or claude-sonnet-4-5; nothing was changed)",
            crate::domain::sanitize::one_line(m)
        )));
    }
    Ok(Some(m.to_string()))
}

impl Store {
    /// Creates an issue (in backlog, or ready when handed off at once).
    pub fn create_issue(&mut self, new: &NewIssue, author: &str) -> Result<Issue> {
        let title = new.title.trim();
        if title.is_empty() {
            return Err(StoreError::Invalid(
                "an issue needs a non-empty title".into(),
            ));
        }
        let status = if new.ready {
            Status::Ready
        } else {
            Status::Backlog
        };
        let title = self.redactor.text(title).into_owned();
        let body = self.redactor.text(&new.body).into_owned();
        let model = model_name(new.model.as_deref())?;
        let assignee = assignee_name(&self.redactor, new.assignee.as_deref())?;
        if let Some(t) = &new.template {
            crate::domain::template::check_name(t).map_err(StoreError::Invalid)?;
        }
        if let Some(v) = new.budget_usd {
            no_cap(v, "added")?;
        }
        super::repeat::check_every(new.every_ms, "added")?;
        let by = ActorId::human(author);
        self.write(|tx| {
            let ts = now();
            if let Some(p) = new.parent {
                super::subtasks::check_parent(tx, p, None, "nothing was added")?;
            }
            let id: i64 = tx.query_row(
                "INSERT INTO issues (title, body, kind, status, priority, created_at, updated_at,
                     model, effort, budget_usd, parent_id, assignee, agent, source_url,
                     not_before, every_ms, template)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 RETURNING id",
                vals![
                    title.as_str(),
                    body.as_str(),
                    new.kind.as_str(),
                    status.as_str(),
                    new.priority,
                    ts,
                    model.as_deref(),
                    new.effort.map(Effort::as_str),
                    new.budget_usd,
                    new.parent,
                    assignee.as_deref(),
                    new.agent.map(AgentKind::as_str),
                    new.source_url.as_deref(),
                    new.not_before,
                    new.every_ms,
                    new.template.as_deref()
                ],
                |r| r.get(0),
            )?;
            for dep in &new.depends_on {
                // The new issue's own id is only known here; waiting for itself, it could
                // never be claimed.
                if *dep == id {
                    return Err(StoreError::Invalid(format!(
                        "#{id} cannot depend on itself: it would wait for its own completion and never be claimed (nothing was added)"
                    )));
                }
                get(tx, *dep).map_err(|e| match e {
                    StoreError::IssueNotFound(_) => StoreError::Invalid(format!(
                        "cannot depend on #{dep}: there is no issue #{dep} (nothing was added)"
                    )),
                    other => other,
                })?;
                tx.execute(
                    "INSERT INTO issue_deps (issue_id, depends_on) VALUES (?1, ?2)
                     ON CONFLICT DO NOTHING",
                    vals![id, *dep],
                )?;
            }
            let kind = EventKind::IssueCreated {
                title: title.clone(),
                kind: new.kind,
                status,
                priority: new.priority,
            };
            events::insert(tx, Some(id), &by, &kind)?;
            get(tx, id)
        })
    }

    /// Edits title, body, kind, priority, base, model, effort, spending cap, parent or agent.
    pub fn update_issue(&mut self, id: i64, edit: &IssueEdit, author: &str) -> Result<Issue> {
        if let Some(t) = &edit.title {
            if t.trim().is_empty() {
                return Err(StoreError::Invalid(
                    "an issue needs a non-empty title".into(),
                ));
            }
        }
        let red = |t: &Option<String>| t.as_deref().map(|t| self.redactor.text(t).into_owned());
        let (title, body) = (red(&edit.title), red(&edit.body));
        let model = match &edit.model {
            Some(m) => Some(model_name(m.as_deref())?),
            None => None,
        };
        let assignee = match &edit.assignee {
            Some(a) => Some(assignee_name(&self.redactor, a.as_deref())?),
            None => None,
        };
        if let Some(v) = edit.budget_usd.flatten() {
            no_cap(v, "changed")?;
        }
        super::repeat::check_every(edit.every_ms.flatten(), "changed")?;
        if let Some(Some(t)) = &edit.template {
            crate::domain::template::check_name(t).map_err(StoreError::Invalid)?;
        }
        let by = ActorId::human(author);
        self.write(|tx| {
            let before = get(tx, id)?;
            if let Some(Some(p)) = edit.parent {
                super::subtasks::check_parent(tx, p, Some(id), "nothing was changed")?;
            }
            tx.execute(
                "UPDATE issues SET title = coalesce(?2, title), body = coalesce(?3, body),
                     kind = coalesce(?4, kind), priority = coalesce(?5, priority), updated_at = ?6,
                     base = coalesce(?7, base),
                     model = CASE WHEN ?8 THEN ?9 ELSE model END,
                     effort = CASE WHEN ?10 THEN ?11 ELSE effort END,
                     budget_usd = CASE WHEN ?12 THEN ?13 ELSE budget_usd END,
                     parent_id = CASE WHEN ?14 THEN ?15 ELSE parent_id END,
                     assignee = CASE WHEN ?16 THEN ?17 ELSE assignee END,
                     agent = CASE WHEN ?18 THEN ?19 ELSE agent END,
                     not_before = CASE WHEN ?20 THEN ?21 ELSE not_before END,
                     every_ms = CASE WHEN ?22 THEN ?23 ELSE every_ms END,
                     template = CASE WHEN ?24 THEN ?25 ELSE template END
                 WHERE id = ?1",
                vals![
                    id,
                    title.as_deref().map(str::trim),
                    body.as_deref(),
                    edit.kind.map(Kind::as_str),
                    edit.priority,
                    now(),
                    edit.base.as_deref().map(str::trim),
                    model.is_some(),
                    model.clone().flatten(),
                    edit.effort.is_some(),
                    edit.effort.flatten().map(Effort::as_str),
                    edit.budget_usd.is_some(),
                    edit.budget_usd.flatten(),
                    edit.parent.is_some(),
                    edit.parent.flatten(),
                    assignee.is_some(),
                    assignee.clone().flatten(),
                    edit.agent.is_some(),
                    edit.agent.flatten().map(AgentKind::as_str),
                    edit.not_before.is_some(),
                    edit.not_before.flatten(),
                    edit.every_ms.is_some(),
                    edit.every_ms.flatten(),
                    edit.template.is_some(),
                    edit.template.clone().flatten()
                ],
            )?;
            let after = get(tx, id)?;
            let kind = EventKind::IssueUpdated(Box::new(changes(&before, &after)));
            events::insert(tx, Some(id), &by, &kind)?;
            Ok(after)
        })
    }

    /// Moves an issue, as the state machine allows for `actor`.
    pub fn move_issue(&mut self, id: i64, to: Status, actor: Actor, name: &str) -> Result<Issue> {
        let red = std::sync::Arc::clone(&self.redactor);
        self.write(|tx| {
            let issue = get(tx, id)?;
            set_status(tx, &issue, to, actor, name)?;
            if to == Status::Done {
                super::subtasks::after_done(tx, &red, &issue)?;
            }
            get(tx, id)
        })
    }

    /// Records the branch, worktree and base an issue's runs use.
    pub fn set_workspace(
        &mut self,
        id: i64,
        branch: &str,
        worktree: &str,
        base: &str,
    ) -> Result<()> {
        let kind = EventKind::IssueUpdated(Box::new(IssueChanges {
            branch: Some(branch.into()),
            worktree: Some(worktree.into()),
            base: Some(base.into()),
            ..IssueChanges::default()
        }));
        self.write(|tx| {
            tx.execute(
                "UPDATE issues SET branch = ?2, worktree = ?3, base = ?4, updated_at = ?5 WHERE id = ?1",
                vals![id, branch, worktree, base, now()],
            )?;
            events::insert(tx, Some(id), &ActorId::system("runner"), &kind)?;
            Ok(())
        })
    }

    /// One issue.
    pub fn issue(&self, id: i64) -> Result<Issue> {
        get(self.db(), id)
    }

    /// An issue with its thread and runs.
    pub fn issue_detail(&self, id: i64) -> Result<IssueDetail> {
        let runs = self.runs(id)?;
        let costs = runs.iter().filter_map(|r| r.cost_usd);
        let cost_usd = costs.clone().next().map(|_| costs.sum());
        let issue = self.issue(id)?;
        let (depends_on, blocks) = self.dependency_links(id)?;
        Ok(IssueDetail {
            issue,
            cost_usd,
            comments: self.comments(id)?,
            runs,
            depends_on,
            blocks,
            children: self.children(id)?,
            needs: self.needs(id)?,
        })
    }

    /// Ids this issue waits for that are not done yet.
    pub fn open_dependencies(&self, id: i64) -> Result<Vec<i64>> {
        Ok(self.db().query_map(
            "SELECT d.depends_on FROM issue_deps d JOIN issues x ON x.id = d.depends_on
             WHERE d.issue_id = ?1 AND x.status != 'done' ORDER BY d.depends_on",
            vals![id],
            |r| r.get(0),
        )?)
    }
}

/// Refuses a spending cap that cannot be one (zero, negative, NaN, infinite).
fn no_cap(v: f64, what: &str) -> Result<()> {
    if crate::domain::cap::valid_usd(v) {
        return Ok(());
    }
    Err(StoreError::Invalid(format!(
        "a budget of {v} US dollars cannot be a cap: give a positive number (nothing was {what})"
    )))
}

#[cfg(test)]
#[path = "assignee_tests.rs"]
mod assignee_tests;
