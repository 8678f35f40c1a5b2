//! Budgets at the claim: the daily cap's stored hold (shared by every runner on the database,
//! like a rate limit's) and the per-issue cap that parks an issue instead of running it again.
//! Both are checked inside the claim's own write transaction, which SQLite serialises across
//! processes: two runners cannot both claim past a cap they read at the same moment. What can
//! still go past a cap is what is already running when it is reached (its spend grows until
//! the run ends, or until `on_exceed = "stop"` stops it).

use std::sync::Arc;

use jiff::tz::TimeZone;

use super::claims::{claim_event, claim_one};
use super::comments::insert_comment;
use super::issues::{get, set_status};
use super::spend::{issue_spend_in, spend_since_in};
use super::sql::Exec;
use super::{events, held_until, now, paused_in, setting_in, upsert_setting, Result, Store};
use crate::domain::redact::Redactor;
use crate::domain::{clock, Actor, ActorId, AuthorKind, EventKind, Issue, Millis, Status};

/// The `hold_kind` setting of a hold written by the daily budget (a rate limit writes none).
pub const BUDGET_HOLD: &str = "budget";

/// The caps a claim is checked against (`None`: no cap).
#[derive(Debug, Clone)]
pub struct Caps {
    /// Today's spend across every runner on the database.
    pub daily_usd: Option<f64>,
    /// An issue's spend, unless the issue has a cap of its own.
    pub per_issue_usd: Option<f64>,
    /// The zone whose days the daily cap counts.
    pub zone: TimeZone,
    /// `[runner] max_in_review`: no claim while this many issues wait in review.
    pub max_in_review: Option<u32>,
}

impl Default for Caps {
    fn default() -> Caps {
        Caps {
            daily_usd: None,
            per_issue_usd: None,
            zone: TimeZone::UTC,
            max_in_review: None,
        }
    }
}

/// `[runner] max_in_review` holding claims: how many issues wait in review, and the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewFull {
    /// Issues in in_review now.
    pub waiting: i64,
    /// The limit.
    pub limit: u32,
}

impl ReviewFull {
    /// What the header, `doctor` and `run --once` say.
    pub fn reason(&self) -> String {
        format!(
            "review full: {}/{} waiting for you; no new claims until one is accepted or sent back ([runner] max_in_review)",
            self.waiting, self.limit
        )
    }
}

/// The review limit reached, read inside the claim's transaction (or on any connection).
fn review_full_in(conn: &impl Exec, limit: Option<u32>) -> Result<Option<ReviewFull>> {
    let Some(limit) = limit.filter(|n| *n > 0) else {
        return Ok(None);
    };
    let waiting: i64 = conn.query_row(
        "SELECT count(*) FROM issues WHERE status = 'in_review'",
        &[],
        |r| r.get(0),
    )?;
    Ok((waiting >= i64::from(limit)).then_some(ReviewFull { waiting, limit }))
}

/// The daily cap reached: what was spent, the cap, and when the hold lifts by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyHold {
    /// Spent today (reported costs, running runs by their estimate).
    pub spent: f64,
    /// The cap.
    pub cap: f64,
    /// The next local midnight (epoch ms).
    pub until: Millis,
}

impl DailyHold {
    /// What the header, `doctor`, `run --once` and the stop comment say.
    pub fn reason(&self) -> String {
        format!(
            "daily budget ${:.2} reached: ${:.2} spent today; claiming resumes at local midnight (00:00) or on `resume`",
            self.cap, self.spent
        )
    }
}

/// What one claim attempt came to.
#[derive(Debug, Default)]
pub struct Claim {
    /// The issue claimed, if any.
    pub issue: Option<Issue>,
    /// Issues found at or over their cap on the way, moved to blocked instead of run.
    pub parked: Vec<i64>,
    /// The daily cap, when it refused the claim.
    pub daily: Option<DailyHold>,
    /// The review limit, when it refused the claim.
    pub review_full: Option<ReviewFull>,
    /// The secret answers the claimed issue's next run gets (deleted by this claim).
    pub secrets: crate::domain::needs::Secrets,
}

/// The daily cap reached at `now`, unless a person lifted it for the rest of that day.
fn daily_reached(
    tx: &impl Exec,
    cap: f64,
    now: Millis,
    zone: &TimeZone,
) -> Result<Option<DailyHold>> {
    let lifted = setting_in(tx, "budget_override_until")?
        .and_then(|v| v.parse::<Millis>().ok())
        .is_some_and(|until| until > now);
    let (Some(start), Some(until)) = (
        clock::today_start(now, zone),
        clock::next_midnight(now, zone),
    ) else {
        return Ok(None);
    };
    if lifted {
        return Ok(None);
    }
    let spent = spend_since_in(tx, start)?;
    Ok((spent >= cap).then_some(DailyHold { spent, cap, until }))
}

/// Writes the daily hold, once per day: an event row only when it is new.
fn hold(tx: &impl Exec, h: &DailyHold, by: &ActorId) -> Result<()> {
    let same = setting_in(tx, "hold_kind")?.as_deref() == Some(BUDGET_HOLD)
        && held_until(tx, now())? == Some(h.until);
    if same {
        return Ok(());
    }
    let reason = h.reason();
    upsert_setting(tx, "paused_until", &h.until.to_string())?;
    upsert_setting(tx, "pause_reason", &reason)?;
    upsert_setting(tx, "hold_kind", BUDGET_HOLD)?;
    let kind = EventKind::QueueHeld {
        until: h.until,
        reason,
    };
    events::insert(tx, None, by, &kind)?;
    Ok(())
}

/// The comment on an issue parked by its cap: the spend, the cap, and how to raise it.
pub fn over_budget_comment(id: i64, spent: f64, cap: f64, own: bool) -> String {
    let whose = whose_cap(own);
    format!(
        "Not run again: this issue has spent ${spent:.2}, at or over its budget of ${cap:.2} ({whose}). \
         To let it run, raise its cap with `autopilot-tui edit {id} --budget USD` (or `e` in the TUI), \
         then comment to hand it back to ready."
    )
}

/// Whose cap an issue's is, in its messages.
fn whose_cap(own: bool) -> &'static str {
    if own {
        "its own cap"
    } else {
        "[budget] per_issue_usd"
    }
}

/// `(spent, cap)` when the issue's spend is at or over its cap (its own, else `default_cap`).
fn over_cap(tx: &impl Exec, issue: &Issue, default_cap: Option<f64>) -> Result<Option<(f64, f64)>> {
    let Some(cap) = issue.budget_usd.or(default_cap) else {
        return Ok(None);
    };
    let spent = issue_spend_in(tx, issue.id)?;
    Ok((spent >= cap).then_some((spent, cap)))
}

/// Parks an in-progress issue in blocked when its spend is at or over its cap (its own, else
/// `default_cap`), with the comment that says how to raise it; true when it did.
fn park_if_over(
    tx: &impl Exec,
    redactor: &Redactor,
    issue: &Issue,
    default_cap: Option<f64>,
) -> Result<bool> {
    let Some((spent, cap)) = over_cap(tx, issue, default_cap)? else {
        return Ok(false);
    };
    let body = over_budget_comment(issue.id, spent, cap, issue.budget_usd.is_some());
    insert_comment(
        tx,
        redactor,
        issue.id,
        "autopilot",
        AuthorKind::System,
        &body,
    )?;
    set_status(tx, issue, Status::Blocked, Actor::System, "budget")?;
    Ok(true)
}

impl Store {
    /// Claims like [`Store::claim_next`], within `caps`: nothing when today's spend reached
    /// the daily cap (the hold is stored then, for every runner), and an issue at or over its
    /// own cap is parked in blocked on the way instead of being run.
    pub fn claim_within(&mut self, agent_id: &str, lease_ms: Millis, caps: &Caps) -> Result<Claim> {
        let (by, kind) = (ActorId::agent(agent_id), claim_event(agent_id));
        let red = Arc::clone(&self.redactor);
        let claim = self.write(|tx| {
            let ts = now();
            let mut out = Claim::default();
            if paused_in(tx)? || held_until(tx, ts)?.is_some() {
                return Ok(out);
            }
            if let Some(cap) = caps.daily_usd {
                if let Some(h) = daily_reached(tx, cap, ts, &caps.zone)? {
                    hold(tx, &h, &by)?;
                    out.daily = Some(h);
                    return Ok(out);
                }
            }
            if let Some(full) = review_full_in(tx, caps.max_in_review)? {
                out.review_full = Some(full);
                return Ok(out);
            }
            // Stopgap until claims.rs is on the portable layer: its claim runs on SQLite only.
            let Some(claimer) = tx.sqlite() else {
                return Err(super::StoreError::Invalid(
                    "claiming is not available on PostgreSQL yet".into(),
                ));
            };
            while let Some(id) = claim_one(claimer, agent_id, lease_ms, ts)? {
                events::insert(tx, Some(id), &by, &kind)?;
                let issue = get(tx, id)?;
                if park_if_over(tx, &red, &issue, caps.per_issue_usd)? {
                    out.parked.push(id);
                    continue;
                }
                out.secrets = super::needs::take_secrets(tx, id)?;
                out.issue = Some(issue);
                break;
            }
            Ok(out)
        })?;
        if !claim.secrets.is_empty() {
            super::needs::scrub_wal(self.db());
        }
        Ok(claim)
    }

    /// Stores the daily hold when today's spend (at `now`, in `zone`) reached `cap` and no
    /// person lifted it for the day; the hold when it is in force.
    pub fn check_daily_budget(
        &mut self,
        cap: f64,
        now: Millis,
        zone: &TimeZone,
        agent_id: &str,
    ) -> Result<Option<DailyHold>> {
        let by = ActorId::agent(agent_id);
        self.write(|tx| {
            let reached = daily_reached(tx, cap, now, zone)?;
            if let Some(h) = &reached {
                hold(tx, h, &by)?;
            }
            Ok(reached)
        })
    }

    /// Why a run outside the queue (a `split`'s planner) on issue `id` may not start now, in
    /// the words a claim would give: a hold on the queue (the daily budget's, stored here when
    /// today's spend reached `caps.daily_usd`, or a rate limit's), or the issue's spend at or
    /// over its cap. `None`: it may start. Nothing is parked: the issue keeps its status.
    pub fn run_refusal(&mut self, id: i64, caps: &Caps, agent_id: &str) -> Result<Option<String>> {
        let by = ActorId::agent(agent_id);
        self.write(|tx| {
            let ts = now();
            if held_until(tx, ts)?.is_some() {
                let reason = setting_in(tx, "pause_reason")?;
                return Ok(Some(reason.unwrap_or_else(|| "the queue is held".into())));
            }
            if let Some(cap) = caps.daily_usd {
                if let Some(h) = daily_reached(tx, cap, ts, &caps.zone)? {
                    hold(tx, &h, &by)?;
                    return Ok(Some(h.reason()));
                }
            }
            let issue = get(tx, id)?;
            let whose = whose_cap(issue.budget_usd.is_some());
            Ok(
                over_cap(tx, &issue, caps.per_issue_usd)?.map(|(spent, cap)| {
                    format!(
                    "#{id} has spent ${spent:.2}, at or over its budget of ${cap:.2} ({whose}); \
                     raise its cap with `autopilot-tui edit {id} --budget USD` (or `e` in the TUI)"
                )
                }),
            )
        })
    }

    /// The review limit `limit` reached now (`None`: below it, or no limit).
    pub fn review_full(&self, limit: Option<u32>) -> Result<Option<ReviewFull>> {
        review_full_in(self.db(), limit)
    }

    /// Parks the in-progress issue `id` in blocked when its spend reached its cap (its own,
    /// else `default_cap`), so a fix-loop or a reviewer's cycle does not run it again; true
    /// when it did.
    pub fn park_over_budget(&mut self, id: i64, default_cap: Option<f64>) -> Result<bool> {
        let red = Arc::clone(&self.redactor);
        self.write(|tx| {
            let issue = get(tx, id)?;
            if issue.status != Status::InProgress {
                return Ok(false);
            }
            park_if_over(tx, &red, &issue, default_cap)
        })
    }
}

#[cfg(test)]
mod tests;
