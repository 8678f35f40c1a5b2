//! Secret answers on their way from a claim to the agent processes of that claim: held in
//! memory by issue while the claim runs (the store deleted them when it made the claim), put
//! in each agent process's environment and added to the redaction of its output.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::needs::Secrets;
use crate::domain::redact::Redactor;

/// The secrets of the claims this process is running, by issue.
#[derive(Debug, Clone, Default)]
pub(super) struct Answers(Arc<Mutex<HashMap<i64, Arc<Secrets>>>>);

/// Keeps an issue's secrets while its claim runs; dropping it forgets them.
pub(super) struct Held {
    map: Answers,
    issue_id: i64,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut m) = self.map.0.lock() {
            m.remove(&self.issue_id);
        }
    }
}

impl Answers {
    /// Holds `secrets` for the claim of `issue_id` (nothing when there are none).
    pub fn hold(&self, issue_id: i64, secrets: Secrets) -> Option<Held> {
        if secrets.is_empty() {
            return None;
        }
        if let Ok(mut m) = self.0.lock() {
            m.insert(issue_id, Arc::new(secrets));
        }
        Some(Held {
            map: self.clone(),
            issue_id,
        })
    }

    /// The secrets of the running claim of `issue_id`, if it has any.
    pub fn of(&self, issue_id: i64) -> Option<Arc<Secrets>> {
        self.0.lock().ok().and_then(|m| m.get(&issue_id).cloned())
    }
}

/// `base` plus the values of `secrets`, for the output of a process that has them.
pub(super) fn redactor(base: &Arc<Redactor>, secrets: Option<&Secrets>) -> Arc<Redactor> {
    match secrets {
        Some(s) if !s.is_empty() => {
            Arc::new(base.with_literals(s.0.iter().map(|(_, v)| v.as_str())))
        }
        _ => Arc::clone(base),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_held_while_the_claim_runs_and_forgotten_after() {
        let answers = Answers::default();
        assert!(answers.hold(7, Secrets::default()).is_none());
        let held = answers.hold(7, Secrets(vec![("TOKEN_X".into(), "hunter22".into())]));
        assert_eq!(answers.of(7).map(|s| s.0.len()), Some(1));
        assert!(answers.of(8).is_none());
        let red = redactor(&Redactor::builtin(), answers.of(7).as_deref());
        assert_eq!(red.text("it is hunter22"), "it is [REDACTED:answer]");
        drop(held);
        assert!(answers.of(7).is_none());
        assert_eq!(
            format!("{:?}", Secrets(vec![("A".into(), "v".into())])),
            "[\"A\"]"
        );
    }
}
