//! Work whose runner is gone: finding it, and recovering it in one transaction. The same
//! recovery serves a runner starting up (its host's dead runners' runs go back to ready) and a
//! person stopping an issue whose runner died (it parks in blocked at once, since no runner
//! is left to see a stop request).

use std::sync::Arc;

use crate::domain::redact::Redactor;

use super::claims::{close_open_runs, interrupt};
use super::comments::insert_comment;
use super::issues::{get, set_status};
use super::sql::{vals, Exec};
use super::{events, now, Result, Store, StoreError};
use crate::domain::{format_millis, Actor, ActorId, AuthorKind, EventKind, Issue, Status};

/// What recovery does with the issue of a run whose runner is gone.
#[derive(Debug, Clone, Copy)]
enum AfterRecovery<'a> {
    /// Back to ready, or to blocked after `max_interruptions` (a runner starting up).
    HandBack {
        /// Interruptions after which the issue parks in blocked instead.
        max_interruptions: i64,
    },
    /// Parked in blocked: this person asked to stop it.
    Park {
        /// Who asked.
        by: &'a str,
    },
}

impl AfterRecovery<'_> {
    /// Moves an in-progress issue whose runner is gone, saying `why`.
    fn apply(self, tx: &impl Exec, red: &Redactor, issue: &Issue, why: &str) -> Result<()> {
        match self {
            AfterRecovery::HandBack { max_interruptions } => {
                interrupt(tx, red, issue, why, max_interruptions)
            }
            AfterRecovery::Park { by } => park(tx, red, issue, why, by),
        }
    }
}

/// A run closed because its runner process is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The run.
    pub run_id: i64,
    /// Its issue.
    pub issue_id: i64,
    /// The runner process that owned it.
    pub owner_pid: i64,
    /// The agent's process (group) id, when it was recorded.
    pub agent_pid: Option<i64>,
}

/// What stopping an issue did.
#[derive(Debug, Clone)]
pub enum Stop {
    /// A request was left for the runner working on it (runners poll for requests).
    Requested(Issue),
    /// Its runner is gone, so nobody would ever see a request: the issue was recovered at
    /// once and parked in blocked.
    Recovered {
        /// The issue, now blocked.
        issue: Issue,
        /// How we know its runner is gone.
        why: String,
        /// Runs closed as interrupted (their orphaned agents are still to be killed).
        runs: Vec<Recovered>,
    },
}

/// An in-progress issue that no live runner works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abandoned {
    /// The issue.
    pub issue_id: i64,
    /// How we know its runner is gone.
    pub why: String,
}

/// An open run whose runner process is dead.
struct DeadRun {
    run_id: i64,
    issue_id: i64,
    owner_pid: i64,
    agent_pid: Option<i64>,
}

/// Open runs of `host` whose owner process is dead (optionally only those of one issue).
fn dead_runs(
    conn: &impl Exec,
    host: &str,
    alive: &dyn Fn(i64) -> bool,
    only: Option<i64>,
) -> Result<Vec<DeadRun>> {
    let open = conn.query_map(
        "SELECT id, issue_id, owner_pid, agent_pid FROM runs
         WHERE ended_at IS NULL AND owner_host = ?1 AND owner_pid IS NOT NULL
           AND (CAST(?2 AS BIGINT) IS NULL OR issue_id = ?2)
         ORDER BY id",
        vals![host, only],
        |r| {
            Ok(DeadRun {
                run_id: r.get(0)?,
                issue_id: r.get(1)?,
                owner_pid: r.get(2)?,
                agent_pid: r.get(3)?,
            })
        },
    )?;
    Ok(open.into_iter().filter(|r| !alive(r.owner_pid)).collect())
}

/// The in-progress issues a process on `host` claimed and died holding before it opened a run
/// (killed while it made the worktree, say): only the claim says who had them.
fn dead_claims(
    conn: &impl Exec,
    host: &str,
    alive: &dyn Fn(i64) -> bool,
    only: Option<i64>,
) -> Result<Vec<(i64, i64)>> {
    let claims: Vec<(i64, i64)> = conn.query_map(
        "SELECT i.id, i.claim_pid FROM issues i
         WHERE i.status = 'in_progress' AND i.claim_host = ?1 AND i.claim_pid IS NOT NULL
           AND (CAST(?2 AS BIGINT) IS NULL OR i.id = ?2)
           AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.issue_id = i.id AND r.ended_at IS NULL)
         ORDER BY i.id",
        vals![host, only],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(claims.into_iter().filter(|(_, pid)| !alive(*pid)).collect())
}

fn runner_gone(owner: i64, host: &str) -> String {
    format!(
        "The runner working on this issue (process {owner} on {host}) is gone: it crashed or was killed."
    )
}

fn claim_expired(issue: &Issue) -> String {
    let holder = issue.claimed_by.as_deref().unwrap_or("unknown");
    format!(
        "The claim of {holder} expired{}: its runner stopped renewing it (crashed, killed or lost its connection).",
        issue
            .lease_until
            .map(|t| format!(" at {}", format_millis(t)))
            .unwrap_or_default()
    )
}

/// Parks an in-progress issue whose runner is gone in blocked, closing its open runs.
fn park(tx: &impl Exec, red: &Redactor, issue: &Issue, why: &str, by: &str) -> Result<()> {
    close_open_runs(tx, issue.id, why)?;
    insert_comment(
        tx,
        red,
        issue.id,
        "autopilot",
        AuthorKind::System,
        &format!(
            "{why} Stopped by {by}: the run is closed as interrupted and the issue parked here; \
             the partial transcript, the branch and the worktree are kept. Comment to hand it back to ready."
        ),
    )?;
    set_status(tx, issue, Status::Blocked, Actor::System, "recovery")
}

/// Closes the open runs of `host` whose runner process is dead (those of issue `only`, when
/// given) as interrupted, and does `after` with their in-progress issues.
fn recover_dead_in(
    tx: &impl Exec,
    red: &Redactor,
    host: &str,
    alive: &dyn Fn(i64) -> bool,
    only: Option<i64>,
    after: AfterRecovery<'_>,
) -> Result<Vec<Recovered>> {
    let mut out = Vec::new();
    for dead in dead_runs(tx, host, alive, only)? {
        let issue = get(tx, dead.issue_id)?;
        if issue.status == Status::InProgress {
            after.apply(tx, red, &issue, &runner_gone(dead.owner_pid, host))?;
        }
        // A run whose issue had already moved on is closed too.
        tx.execute(
            "UPDATE runs SET ended_at = ?2, outcome = 'interrupted',
                 error = coalesce(error, 'the runner process died during the run')
             WHERE id = ?1 AND ended_at IS NULL",
            vals![dead.run_id, now()],
        )?;
        out.push(Recovered {
            run_id: dead.run_id,
            issue_id: dead.issue_id,
            owner_pid: dead.owner_pid,
            agent_pid: dead.agent_pid,
        });
    }
    for (id, pid) in dead_claims(tx, host, alive, only)? {
        after.apply(tx, red, &get(tx, id)?, &runner_gone(pid, host))?;
    }
    Ok(out)
}

impl Store {
    /// Closes the open runs owned by dead processes of this host (`alive` says which pids
    /// live) as interrupted, handing their issues back at once instead of waiting for the
    /// lease (to blocked after `max_interruptions`). Returns the runs closed, so that their
    /// orphaned agents can be killed.
    pub fn recover_dead_runs(
        &mut self,
        host: &str,
        alive: &dyn Fn(i64) -> bool,
        max_interruptions: i64,
    ) -> Result<Vec<Recovered>> {
        let after = AfterRecovery::HandBack { max_interruptions };
        let red = Arc::clone(&self.redactor);
        self.write(|tx| recover_dead_in(tx, &red, host, alive, None, after))
    }

    /// Stops the agent working on an issue. When its runner is gone (a dead process on this
    /// host, or a claim whose lease ran out) nobody would ever act on a stop request, so the
    /// issue is recovered at once and parked in blocked; otherwise a request is left for its
    /// runner, in whichever process it runs.
    pub fn stop_issue(
        &mut self,
        id: i64,
        by: &str,
        host: &str,
        alive: &dyn Fn(i64) -> bool,
    ) -> Result<Stop> {
        let red = Arc::clone(&self.redactor);
        self.write(|tx| {
            let issue = get(tx, id)?;
            if issue.status != Status::InProgress {
                return Err(StoreError::Invalid(format!(
                    "issue #{id} is {}, not in_progress: no agent is working on it",
                    issue.status
                )));
            }
            let claim = dead_claims(tx, host, alive, Some(id))?.first().map(|c| c.1);
            let runs =
                recover_dead_in(tx, &red, host, alive, Some(id), AfterRecovery::Park { by })?;
            if let Some(owner) = runs.first().map(|r| r.owner_pid).or(claim) {
                return Ok(Stop::Recovered {
                    issue: get(tx, id)?,
                    why: runner_gone(owner, host),
                    runs,
                });
            }
            if issue.lease_until.map_or(true, |t| t < now()) {
                let why = claim_expired(&issue);
                park(tx, &red, &issue, &why, by)?;
                return Ok(Stop::Recovered {
                    issue: get(tx, id)?,
                    why,
                    runs,
                });
            }
            tx.execute(
                "UPDATE issues SET stop_requested_by = ?2 WHERE id = ?1",
                vals![id, by],
            )?;
            let kind = EventKind::StopRequested {
                claimed_by: issue.claimed_by.clone(),
            };
            events::insert(tx, Some(id), &ActorId::human(by), &kind)?;
            Ok(Stop::Requested(get(tx, id)?))
        })
    }

    /// In-progress issues that no live runner works on: their run's owner is a dead process
    /// of this host, or their claim's lease ran out. A runner starting up (or its lease
    /// reaper) recovers them; `stop` parks one at once.
    pub fn abandoned_claims(
        &self,
        host: &str,
        alive: &dyn Fn(i64) -> bool,
    ) -> Result<Vec<Abandoned>> {
        let mut out: Vec<Abandoned> = Vec::new();
        for dead in dead_runs(self.db(), host, alive, None)? {
            let id = dead.issue_id;
            if self.issue(id)?.status == Status::InProgress && out.iter().all(|a| a.issue_id != id)
            {
                out.push(Abandoned {
                    issue_id: id,
                    why: runner_gone(dead.owner_pid, host),
                });
            }
        }
        for (id, pid) in dead_claims(self.db(), host, alive, None)? {
            if out.iter().all(|a| a.issue_id != id) {
                out.push(Abandoned {
                    issue_id: id,
                    why: runner_gone(pid, host),
                });
            }
        }
        let ts = now();
        for issue in self.list_issues(Some(Status::InProgress))? {
            if issue.lease_until.map_or(true, |t| t < ts)
                && out.iter().all(|a| a.issue_id != issue.id)
            {
                out.push(Abandoned {
                    issue_id: issue.id,
                    why: claim_expired(&issue),
                });
            }
        }
        out.sort_by_key(|a| a.issue_id);
        Ok(out)
    }
}

#[cfg(test)]
mod claim_tests {
    use super::super::sql::{vals, Exec};
    use super::super::{NewIssue, Store};
    use crate::domain::Status;

    /// A runner killed after its claim but before its run's row: the claim names it.
    #[test]
    fn a_claim_whose_process_died_before_its_run_is_handed_back_or_parked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("a.db")).expect("open");
        let new = NewIssue {
            title: "t".into(),
            ready: true,
            ..NewIssue::default()
        };
        let (a, b) = (
            store.create_issue(&new, "me").expect("add").id,
            store.create_issue(&new, "me").expect("add").id,
        );
        let host = crate::sys::host_name();
        for _ in 0..2 {
            store
                .claim_next("a-1", 600_000)
                .expect("claim")
                .expect("one");
        }
        let dead = 999_999_999_i64;
        store
            .db()
            .execute("UPDATE issues SET claim_pid = ?1", vals![dead])
            .expect("the claimer is a dead process");
        let alive = |pid: i64| pid != dead;

        // Another host's runner, or a live one, is left alone.
        assert!(store
            .abandoned_claims("elsewhere", &alive)
            .expect("scan")
            .is_empty());
        assert!(store
            .abandoned_claims(&host, &|_| true)
            .expect("scan")
            .is_empty());
        let found = store.abandoned_claims(&host, &alive).expect("scan");
        assert_eq!(found.iter().map(|a| a.issue_id).collect::<Vec<_>>(), [a, b]);
        assert!(
            found[0].why.contains("process 999999999"),
            "{}",
            found[0].why
        );

        // stop parks one at once; a runner starting up hands the other back.
        let stopped = store.stop_issue(a, "ana", &host, &alive).expect("stop");
        assert!(
            matches!(stopped, super::Stop::Recovered { .. }),
            "{stopped:?}"
        );
        assert_eq!(store.issue(a).expect("a").status, Status::Blocked);
        store.recover_dead_runs(&host, &alive, 3).expect("recover");
        assert_eq!(store.issue(b).expect("b").status, Status::Ready);
        assert!(store
            .abandoned_claims(&host, &alive)
            .expect("scan")
            .is_empty());
    }
}
