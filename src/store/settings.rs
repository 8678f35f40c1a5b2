//! Settings (key and value rows) and what the queue keeps in them: a person's pause, a rate
//! limit's or the budget's hold.

use super::sql::{vals, Exec};

use super::{budget, events, now, PauseState, Result, Store};
use crate::domain::{Actor, ActorId, EventKind, Millis};

impl Store {
    /// Reads a setting.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        setting_in(self.db(), key)
    }

    /// Writes a setting with an event row.
    pub fn set_setting(&mut self, key: &str, value: &str, actor: Actor, name: &str) -> Result<()> {
        let (by, kind) = (
            ActorId::new(actor, name),
            EventKind::SettingChanged {
                key: key.into(),
                value: value.into(),
                lifted_hold_until: None,
            },
        );
        self.write(|tx| {
            upsert_setting(tx, key, value)?;
            events::insert(tx, None, &by, &kind)?;
            Ok(())
        })
    }

    /// Whether claiming is paused for every runner on this database.
    pub fn is_paused(&self) -> Result<bool> {
        paused_in(self.db())
    }

    /// Pauses (or resumes) claiming for every runner on this database, with an event row.
    /// Resuming lifts every hold: a person's pause and a rate limit's hold alike, so that
    /// `resume` (the CLI, the TUI's `p`) always means "claim again now".
    pub fn set_paused(&mut self, paused: bool, actor: Actor, name: &str) -> Result<()> {
        let value = if paused { "1" } else { "0" };
        let by = ActorId::new(actor, name);
        self.write(|tx| {
            upsert_setting(tx, "paused", value)?;
            let lifted = if paused {
                None
            } else {
                let until = held_until(tx, now())?;
                // Lifting the daily budget's hold lifts the cap for the rest of that day, or
                // the next claim would hold again at once; the next day it applies again.
                if let Some(until) = until.filter(|_| {
                    setting_in(tx, "hold_kind").ok().flatten().as_deref()
                        == Some(budget::BUDGET_HOLD)
                }) {
                    upsert_setting(tx, "budget_override_until", &until.to_string())?;
                }
                tx.execute(
                    "DELETE FROM settings WHERE key IN ('paused_until', 'pause_reason', 'hold_kind')",
                    &[],
                )?;
                until
            };
            let kind = EventKind::SettingChanged {
                key: "paused".into(),
                value: value.into(),
                lifted_hold_until: Some(lifted),
            };
            events::insert(tx, None, &by, &kind)?;
            Ok(())
        })
    }

    /// The pause state: paused by a person, and/or held until a time (after a rate limit).
    pub fn pause_state(&self) -> Result<PauseState> {
        self.pause_state_at(now())
    }

    /// The pause state as it stands at `now` (a hold that ended by then is gone).
    pub fn pause_state_at(&self, now: Millis) -> Result<PauseState> {
        let until = held_until(self.db(), now)?;
        Ok(PauseState {
            paused: self.is_paused()?,
            until,
            reason: until.and(self.setting("pause_reason")?),
        })
    }

    /// Holds every runner's claims until `until` (epoch ms), with a reason to show.
    pub fn pause_until(
        &mut self,
        until: Millis,
        reason: &str,
        actor: Actor,
        name: &str,
    ) -> Result<()> {
        let (by, kind) = (
            ActorId::new(actor, name),
            EventKind::QueueHeld {
                until,
                reason: reason.into(),
            },
        );
        self.write(|tx| {
            upsert_setting(tx, "paused_until", &until.to_string())?;
            upsert_setting(tx, "pause_reason", reason)?;
            tx.execute("DELETE FROM settings WHERE key = 'hold_kind'", &[])?;
            events::insert(tx, None, &by, &kind)?;
            Ok(())
        })
    }
}

/// Reads a setting on any connection or transaction.
pub(crate) fn setting_in(conn: &impl Exec, key: &str) -> Result<Option<String>> {
    Ok(conn.query_opt(
        "SELECT value FROM settings WHERE key = ?1",
        vals![key],
        |r| r.get(0),
    )?)
}

/// Whether a person paused claiming.
pub(crate) fn paused_in(conn: &impl Exec) -> Result<bool> {
    Ok(setting_in(conn, "paused")?.as_deref() == Some("1"))
}

/// The end of a rate-limit hold that is still in force at `now`.
pub(crate) fn held_until(conn: &impl Exec, now: Millis) -> Result<Option<Millis>> {
    Ok(setting_in(conn, "paused_until")?
        .and_then(|v| v.parse::<Millis>().ok())
        .filter(|until| *until > now))
}

pub(super) fn upsert_setting(tx: &impl Exec, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        vals![key, value],
    )?;
    Ok(())
}
