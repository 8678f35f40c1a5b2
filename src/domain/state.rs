//! The issue state machine: which moves each actor may make.

use super::{Actor, Status};

/// A move the state machine refuses; the message names the moves that are legal instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{actor} cannot move an issue from {from} to {to}; {}", legal_text(.legal))]
pub struct TransitionError {
    /// Where the issue is.
    pub from: Status,
    /// Where it was asked to go.
    pub to: Status,
    /// Who asked.
    pub actor: Actor,
    /// Where that actor may move it from `from`.
    pub legal: Vec<Status>,
}

fn legal_text(legal: &[Status]) -> String {
    if legal.is_empty() {
        "no move is legal from there for them".to_string()
    } else {
        let names: Vec<&str> = legal.iter().map(|s| s.as_str()).collect();
        format!("legal moves: {}", names.join(", "))
    }
}

/// Whether `actor` may move an issue from `from` to `to`.
fn allowed(from: Status, to: Status, actor: Actor) -> bool {
    use Actor::{Agent, Human, System};
    use Status::{Backlog, Blocked, Done, InProgress, InReview, Ready};
    matches!(
        (from, to, actor),
        // hand off, and send back
        (Backlog, Ready, Human)
            | (Ready, Backlog, Human)
            | (Blocked, Backlog, Human)
            // only an agent's claim enters in_progress
            | (Ready, InProgress, Agent)
            | (InProgress, InReview, Agent)
            | (InProgress, Blocked, Agent)
            // the runner parks failed or stopped runs, and returns expired claims
            | (InProgress, Blocked, System)
            | (InProgress, Ready, System)
            // a parent whose last subtask is done: to review when it has a branch of its own,
            // else done (never from in_progress: its agent is still at work)
            | (Backlog | Ready | Blocked, InReview | Done, System)
            // a human answer unblocks
            | (Blocked, Ready, Human)
            // review: accept, or request changes
            | (InReview, Done, Human)
            | (InReview, Ready, Human)
            // reopen
            | (Done, Backlog, Human)
    )
}

/// The statuses `actor` may move an issue to from `from`, in board order.
pub fn legal_targets(from: Status, actor: Actor) -> Vec<Status> {
    Status::ALL
        .iter()
        .copied()
        .filter(|&to| allowed(from, to, actor))
        .collect()
}

/// Checks one move; `Ok(())` when legal.
pub fn transition(from: Status, to: Status, actor: Actor) -> Result<(), TransitionError> {
    if allowed(from, to, actor) {
        Ok(())
    } else {
        Err(TransitionError {
            from,
            to,
            actor,
            legal: legal_targets(from, actor),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::{Backlog, Blocked, Done, InProgress, InReview, Ready};

    /// The table from the spec, written out independently of `allowed`.
    fn expected(actor: Actor) -> Vec<(Status, Status)> {
        match actor {
            Actor::Human => vec![
                (Backlog, Ready),
                (Ready, Backlog),
                (Blocked, Backlog),
                (Blocked, Ready),
                (InReview, Done),
                (InReview, Ready),
                (Done, Backlog),
            ],
            Actor::Agent => vec![
                (Ready, InProgress),
                (InProgress, InReview),
                (InProgress, Blocked),
            ],
            Actor::System => vec![
                (InProgress, Blocked),
                (InProgress, Ready),
                (Backlog, InReview),
                (Backlog, Done),
                (Ready, InReview),
                (Ready, Done),
                (Blocked, InReview),
                (Blocked, Done),
            ],
        }
    }

    #[test]
    fn all_36_pairs_for_every_actor() {
        for &actor in Actor::ALL {
            let table = expected(actor);
            let mut checked = 0;
            for &from in Status::ALL {
                for &to in Status::ALL {
                    checked += 1;
                    let want = table.contains(&(from, to));
                    let got = transition(from, to, actor);
                    assert_eq!(got.is_ok(), want, "{actor}: {from} -> {to}");
                    if let Err(e) = got {
                        assert_eq!(e.legal, legal_targets(from, actor));
                        assert!(e.legal.iter().all(|l| table.contains(&(from, *l))));
                    }
                }
            }
            assert_eq!(checked, 36);
        }
    }

    #[test]
    fn only_agent_claims_enter_in_progress() {
        for &actor in Actor::ALL {
            for &from in Status::ALL {
                let ok = transition(from, InProgress, actor).is_ok();
                assert_eq!(ok, actor == Actor::Agent && from == Ready, "{actor} {from}");
            }
        }
    }

    #[test]
    fn refusal_names_the_legal_moves() {
        let err = transition(Backlog, Done, Actor::Human).unwrap_err();
        assert_eq!(
            err.to_string(),
            "human cannot move an issue from backlog to done; legal moves: ready"
        );
        let err = transition(Done, Ready, Actor::Agent).unwrap_err();
        assert!(err
            .to_string()
            .ends_with("no move is legal from there for them"));
    }

    #[test]
    fn statuses_parse_loosely_and_print_exactly() {
        assert_eq!("in-progress".parse::<Status>(), Ok(InProgress));
        assert_eq!(" In_Review ".parse::<Status>(), Ok(InReview));
        let err = "doing".parse::<Status>().unwrap_err().to_string();
        assert!(
            err.contains("backlog, ready, in_progress, blocked, in_review, done"),
            "{err}"
        );
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(*s));
        }
    }
}
