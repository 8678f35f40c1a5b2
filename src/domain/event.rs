//! Typed events: what happened ([`EventKind`], with its details) and who did it ([`ActorId`]).
//!
//! The event log stores a kind and a JSON object per row; serde's adjacent tagging maps a
//! variant onto exactly that pair (`{"kind": "issue.status", "data": {...}}`), so the text
//! in the database is the one earlier versions wrote and read.

use serde::{Deserialize, Deserializer, Serialize};

use super::{Actor, AuthorKind, Kind, Millis, RunOutcome, Status};

/// Who did something: the kind of actor and its name, stored as `kind:name` (`human:ana`,
/// `agent:box-1`, `system:recovery`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActorId {
    /// Human, agent or system.
    pub actor: Actor,
    /// The person's name, the agent id, or the part of the runner that acted.
    pub name: String,
}

impl ActorId {
    /// An actor of kind `actor` called `name`.
    pub fn new(actor: Actor, name: impl Into<String>) -> ActorId {
        ActorId {
            actor,
            name: name.into(),
        }
    }

    /// A person.
    pub fn human(name: impl Into<String>) -> ActorId {
        ActorId::new(Actor::Human, name)
    }

    /// An agent slot, by its agent id.
    pub fn agent(name: impl Into<String>) -> ActorId {
        ActorId::new(Actor::Agent, name)
    }

    /// The runner's own housekeeping.
    pub fn system(name: impl Into<String>) -> ActorId {
        ActorId::new(Actor::System, name)
    }

    /// Whether this is the person called `name`.
    pub fn is_human(&self, name: &str) -> bool {
        self.actor == Actor::Human && self.name == name
    }
}

impl std::fmt::Display for ActorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.actor, self.name)
    }
}

/// Text that is not an actor label (`kind:name`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an actor: expected human:, agent: or system: and a name")]
pub struct ParseActorError(String);

impl std::str::FromStr for ActorId {
    type Err = ParseActorError;

    /// Splits at the first `:`; the name may hold more of them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseActorError(s.to_string());
        let (kind, name) = s.split_once(':').ok_or_else(bad)?;
        Ok(ActorId::new(kind.parse().map_err(|_| bad())?, name))
    }
}

impl Serialize for ActorId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ActorId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl From<AuthorKind> for Actor {
    fn from(kind: AuthorKind) -> Actor {
        match kind {
            AuthorKind::Human => Actor::Human,
            AuthorKind::Agent => Actor::Agent,
            AuthorKind::System => Actor::System,
        }
    }
}

/// The fields an `issue.updated` event reports; absent ones did not change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueChanges {
    /// The new title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `true` when the body changed (the text itself is not repeated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<bool>,
    /// The new kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The new priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// The new base branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The new model ("" when cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The new effort ("" when cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// The new spending cap in US dollars ("" when cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<String>,
    /// The branch runs work on, once recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The worktree runs work in, once recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<String>,
    /// The new parent (`#N`, or `none` when cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The new assignee ("" when cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The new agent ("" when cleared: back to `[agent] kind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The new schedule, when its start time or repetition changed: `at TIME`, `every 1d`,
    /// both, or "" when neither is set any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The new prompt template ("" when cleared: back to `[templates]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

/// What an event row records, with its details.
// An event is built once per write and serialized at once, never held in bulk: boxing the
// larger edit report would only make every builder of it noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data")]
pub enum EventKind {
    /// An issue was written down.
    #[serde(rename = "issue.created")]
    IssueCreated {
        /// Its title.
        title: String,
        /// Its kind.
        kind: Kind,
        /// Backlog, or ready when handed off at once.
        status: Status,
        /// Its priority.
        priority: i64,
    },
    /// Fields of an issue changed.
    #[serde(rename = "issue.updated")]
    IssueUpdated(Box<IssueChanges>),
    /// An issue moved between columns.
    #[serde(rename = "issue.status")]
    IssueStatus {
        /// The column it left.
        from: Status,
        /// The column it entered.
        to: Status,
        /// Who moved it, as the state machine judged.
        actor: Actor,
        /// The agent that claimed it, on a claim.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claimed_by: Option<String>,
    },
    /// A person asked the runner of an issue to stop it.
    #[serde(rename = "issue.stop_requested")]
    StopRequested {
        /// The agent holding the claim then.
        claimed_by: Option<String>,
    },
    /// A comment was added to a thread.
    #[serde(rename = "comment.added")]
    CommentAdded {
        /// The comment's row id.
        comment_id: i64,
        /// Who wrote it.
        author_kind: AuthorKind,
    },
    /// An agent run began.
    #[serde(rename = "run.started")]
    RunStarted {
        /// The run.
        run_id: i64,
        /// The runner slot.
        slot: i64,
        /// The runner's process id.
        pid: i64,
    },
    /// An agent run ended.
    #[serde(rename = "run.finished")]
    RunFinished {
        /// The run.
        run_id: i64,
        /// How it ended.
        outcome: Option<RunOutcome>,
        /// The agent's exit status.
        exit_code: Option<i64>,
        /// The cost it reported.
        cost_usd: Option<f64>,
        /// The turns it reported.
        turns: Option<i64>,
    },
    /// A setting was written.
    #[serde(rename = "setting.changed")]
    SettingChanged {
        /// The setting.
        key: String,
        /// Its new value.
        value: String,
        /// On a resume: the end of the rate-limit hold it lifted (`Some(None)`: none was in
        /// force). Absent for other settings.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "present"
        )]
        lifted_hold_until: Option<Option<Millis>>,
    },
    /// An issue was made to wait for another.
    #[serde(rename = "issue.depends")]
    DependencyAdded {
        /// The issue it now waits for.
        on: i64,
    },
    /// An issue no longer waits for another.
    #[serde(rename = "issue.undepends")]
    DependencyRemoved {
        /// The issue it waited for.
        on: i64,
    },
    /// A done issue was archived: it left the board and `list`, and stays reachable by id.
    #[serde(rename = "issue.archived")]
    IssueArchived {},
    /// An archived issue came back to the board's done column.
    #[serde(rename = "issue.unarchived")]
    IssueUnarchived {},
    /// An issue that never ran was deleted with its thread; the event keeps its id and title.
    #[serde(rename = "issue.deleted")]
    IssueDeleted {
        /// Its title, the only trace of it left.
        title: String,
    },
    /// Claiming was held until a time, after a rate or usage limit.
    #[serde(rename = "queue.held")]
    QueueHeld {
        /// When claiming resumes (epoch ms).
        until: Millis,
        /// Why.
        reason: String,
    },
    /// A run's `LEARNED:` line was stored as a learning.
    #[serde(rename = "learning.added")]
    LearningAdded {
        /// The learning.
        learning_id: i64,
        /// The run that stated it.
        run_id: Option<i64>,
    },
    /// A learning's text was changed by hand.
    #[serde(rename = "learning.edited")]
    LearningEdited {
        /// The learning.
        learning_id: i64,
    },
    /// A learning was deleted.
    #[serde(rename = "learning.removed")]
    LearningRemoved {
        /// The learning.
        learning_id: i64,
    },
    /// A kind this build does not know (written by a newer one), kept as it was stored.
    #[serde(untagged)]
    Other {
        /// The stored kind.
        kind: String,
        /// The stored details.
        data: serde_json::Value,
    },
}

/// A field that is present, even as `null` (`Some(None)`), as opposed to absent (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Millis>>, D::Error> {
    Option::<Millis>::deserialize(d).map(Some)
}

/// An append-only event row: the audit log and the change feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Monotonic id (the change feed's high-water mark).
    pub id: i64,
    /// When it happened (epoch ms).
    #[serde(skip)]
    pub ts: Millis,
    /// What happened, with its details.
    #[serde(flatten)]
    pub kind: EventKind,
    /// The issue it concerns.
    pub issue_id: Option<i64>,
    /// Who did it.
    pub actor: ActorId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(kind: &EventKind) -> EventKind {
        let value = serde_json::to_value(kind).expect("encode");
        serde_json::from_value(value).expect("decode")
    }

    #[test]
    fn actors_print_and_parse_one_way() {
        let a = ActorId::agent("box-1");
        assert_eq!(a.to_string(), "agent:box-1");
        assert_eq!("agent:box-1".parse::<ActorId>(), Ok(a));
        let odd: ActorId = "human:ana:x".parse().expect("parse");
        assert_eq!((odd.actor, odd.name.as_str()), (Actor::Human, "ana:x"));
        assert!(odd.is_human("ana:x") && !odd.is_human("ana"));
        assert!("robot:r2".parse::<ActorId>().is_err());
        assert!("human".parse::<ActorId>().is_err());
    }

    #[test]
    fn events_serialize_in_the_shape_of_their_row() {
        let e = Event {
            id: 3,
            ts: 0,
            kind: EventKind::CommentAdded {
                comment_id: 9,
                author_kind: AuthorKind::Human,
            },
            issue_id: Some(7),
            actor: ActorId::human("ana"),
        };
        assert_eq!(
            serde_json::to_value(&e).expect("encode"),
            json!({"id": 3, "kind": "comment.added", "data": {"comment_id": 9, "author_kind": "human"},
                   "issue_id": 7, "actor": "human:ana"})
        );
    }

    #[test]
    fn every_kind_survives_a_round_trip() {
        let kinds = [
            EventKind::IssueStatus {
                from: Status::Ready,
                to: Status::InProgress,
                actor: Actor::Agent,
                claimed_by: Some("a".into()),
            },
            EventKind::IssueUpdated(Box::new(IssueChanges {
                body: Some(true),
                ..IssueChanges::default()
            })),
            EventKind::SettingChanged {
                key: "paused".into(),
                value: "0".into(),
                lifted_hold_until: Some(None),
            },
            EventKind::DependencyAdded { on: 3 },
            EventKind::DependencyRemoved { on: 3 },
            EventKind::LearningAdded {
                learning_id: 2,
                run_id: Some(5),
            },
            EventKind::LearningEdited { learning_id: 2 },
            EventKind::LearningRemoved { learning_id: 2 },
            EventKind::SettingChanged {
                key: "k".into(),
                value: "v".into(),
                lifted_hold_until: None,
            },
        ];
        for kind in &kinds {
            assert_eq!(&round_trip(kind), kind);
        }
    }

    #[test]
    fn unknown_kinds_are_kept_as_they_were() {
        let stored = json!({"kind": "issue.merged", "data": {"sha": "abc"}});
        let kind: EventKind = serde_json::from_value(stored.clone()).expect("decode");
        assert_eq!(
            kind,
            EventKind::Other {
                kind: "issue.merged".into(),
                data: json!({"sha": "abc"}),
            }
        );
        assert_eq!(serde_json::to_value(&kind).expect("encode"), stored);
        // a known kind whose details do not fit is kept too, rather than lost
        let odd = json!({"kind": "issue.status", "data": {"to": "nowhere"}});
        let kind: EventKind = serde_json::from_value(odd).expect("decode");
        assert!(matches!(kind, EventKind::Other { .. }), "{kind:?}");
    }
}
