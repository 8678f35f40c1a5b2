//! Text leaving the store for a screen or a terminal is made printable here, once per type.
//!
//! Every field of every type is named (no `..`), so a field added later does not compile
//! until someone decides how it is shown: none is skipped silently. Names, ids, titles and
//! paths become one printable line (a newline would break a row or pass for other output);
//! bodies keep their lines. Either way no escape sequence, control character or bidi
//! override is left.

use super::sanitize::{one_line, strip_all};
use super::{ActorId, Comment, DepLink, Event, EventKind, Issue, IssueDetail, Run};

/// A value with every text field safe to print.
pub trait Printable {
    /// The value with its texts sanitized for a terminal.
    #[must_use]
    fn printable(self) -> Self;
}

fn line_opt(text: Option<String>) -> Option<String> {
    text.map(|t| one_line(&t))
}

impl Printable for Issue {
    fn printable(self) -> Issue {
        let Issue {
            id,
            title,
            body,
            kind,
            status,
            priority,
            claimed_by,
            lease_until,
            branch,
            worktree,
            base,
            session_id,
            diff,
            model,
            effort,
            budget_usd,
            parent,
            assignee,
            archived_at,
            agent,
            template,
            source_url,
            pr_url,
            not_before,
            every_ms,
            previous,
            created_at,
            updated_at,
        } = self;
        Issue {
            id,
            title: one_line(&title),
            body: strip_all(&body),
            kind,
            status,
            priority,
            claimed_by: line_opt(claimed_by),
            lease_until,
            branch: line_opt(branch),
            worktree: line_opt(worktree),
            base: line_opt(base),
            session_id: line_opt(session_id),
            diff,
            model: line_opt(model),
            effort,
            budget_usd,
            parent,
            assignee: line_opt(assignee),
            archived_at,
            agent,
            template: line_opt(template),
            source_url: line_opt(source_url),
            pr_url: line_opt(pr_url),
            not_before,
            every_ms,
            previous,
            created_at,
            updated_at,
        }
    }
}

impl Printable for Comment {
    fn printable(self) -> Comment {
        let Comment {
            id,
            issue_id,
            author,
            author_kind,
            body,
            created_at,
        } = self;
        Comment {
            id,
            issue_id,
            author: one_line(&author),
            author_kind,
            body: strip_all(&body),
            created_at,
        }
    }
}

impl Printable for Run {
    fn printable(self) -> Run {
        let Run {
            id,
            issue_id,
            agent_id,
            slot,
            role,
            owner_pid,
            session_id,
            started_at,
            ended_at,
            exit_code,
            outcome,
            error,
            cost_usd,
            estimate_usd,
            turns,
            duration_ms,
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            model,
            template,
            failure,
            persona,
            transcript_lines,
            transcript,
        } = self;
        Run {
            id,
            issue_id,
            agent_id: one_line(&agent_id),
            slot,
            role,
            owner_pid,
            session_id: line_opt(session_id),
            started_at,
            ended_at,
            exit_code,
            outcome,
            error: error.map(|e| strip_all(&e)),
            cost_usd,
            estimate_usd,
            turns,
            duration_ms,
            input_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens,
            model: line_opt(model),
            template: line_opt(template),
            failure,
            persona: line_opt(persona),
            transcript_lines,
            transcript: one_line(&transcript),
        }
    }
}

impl Printable for IssueDetail {
    fn printable(self) -> IssueDetail {
        let IssueDetail {
            issue,
            cost_usd,
            comments,
            runs,
            depends_on,
            blocks,
            children,
            needs,
        } = self;
        let links = |v: Vec<DepLink>| {
            v.into_iter()
                .map(|l| DepLink {
                    title: one_line(&l.title),
                    ..l
                })
                .collect()
        };
        IssueDetail {
            issue: issue.printable(),
            cost_usd,
            comments: comments.into_iter().map(Printable::printable).collect(),
            runs: runs.into_iter().map(Printable::printable).collect(),
            depends_on: links(depends_on),
            blocks: links(blocks),
            children: links(children),
            needs: needs
                .into_iter()
                .map(|n| crate::domain::needs::Need {
                    name: one_line(&n.name),
                    description: one_line(&n.description),
                    ..n
                })
                .collect(),
        }
    }
}

impl Printable for ActorId {
    fn printable(self) -> ActorId {
        let ActorId { actor, name } = self;
        ActorId {
            actor,
            name: one_line(&name),
        }
    }
}

impl Printable for EventKind {
    /// Every string of the details, whatever the kind holds now or later: through its
    /// serialized form, each string one printable line.
    fn printable(self) -> EventKind {
        fn clean(v: serde_json::Value) -> serde_json::Value {
            use serde_json::Value;
            match v {
                Value::String(s) => Value::String(one_line(&s)),
                Value::Array(a) => Value::Array(a.into_iter().map(clean).collect()),
                Value::Object(m) => {
                    Value::Object(m.into_iter().map(|(k, v)| (k, clean(v))).collect())
                }
                other => other,
            }
        }
        // The kind's own tag is a plain word that sanitizing leaves alone, so the round trip
        // cannot fail; if it ever did, the details are dropped rather than shown raw.
        match serde_json::to_value(&self).map(clean) {
            Ok(v) => serde_json::from_value(v).unwrap_or(EventKind::Other {
                kind: String::from("unknown"),
                data: serde_json::Value::Null,
            }),
            Err(_) => EventKind::Other {
                kind: String::from("unknown"),
                data: serde_json::Value::Null,
            },
        }
    }
}

impl Printable for Event {
    fn printable(self) -> Event {
        let Event {
            id,
            ts,
            kind,
            issue_id,
            actor,
        } = self;
        Event {
            id,
            ts,
            kind: kind.printable(),
            issue_id,
            actor: actor.printable(),
        }
    }
}

impl<T: Printable> Printable for Vec<T> {
    fn printable(self) -> Vec<T> {
        self.into_iter().map(Printable::printable).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuthorKind, Kind, RunRole, Status};

    const NASTY: &str = "a\u{1b}]52;c;ZXZpbA==\u{7}b\u{202e}c\nd\u{1b}[31me";

    #[test]
    fn every_text_of_a_detail_is_printable() {
        let issue = Issue {
            id: 1,
            title: NASTY.into(),
            body: NASTY.into(),
            kind: Kind::Bug,
            status: Status::InReview,
            priority: 0,
            claimed_by: Some(NASTY.into()),
            lease_until: None,
            branch: Some(NASTY.into()),
            worktree: Some(NASTY.into()),
            base: Some(NASTY.into()),
            session_id: Some(NASTY.into()),
            diff: None,
            model: Some(NASTY.into()),
            effort: None,
            budget_usd: None,
            parent: None,
            assignee: Some(NASTY.into()),
            archived_at: None,
            agent: None,
            template: Some(NASTY.into()),
            source_url: None,
            pr_url: None,
            not_before: None,
            every_ms: None,
            previous: None,
            created_at: 0,
            updated_at: 0,
        };
        let comment = Comment {
            id: 1,
            issue_id: 1,
            author: NASTY.into(),
            author_kind: AuthorKind::Human,
            body: NASTY.into(),
            created_at: 0,
        };
        let run = Run {
            id: 1,
            issue_id: 1,
            agent_id: NASTY.into(),
            slot: 0,
            role: RunRole::Check,
            owner_pid: None,
            session_id: Some(NASTY.into()),
            started_at: 0,
            ended_at: None,
            exit_code: None,
            outcome: None,
            error: Some(NASTY.into()),
            cost_usd: None,
            estimate_usd: None,
            turns: None,
            duration_ms: None,
            input_tokens: None,
            output_tokens: None,
            cache_read_tokens: None,
            cache_write_tokens: None,
            model: Some(NASTY.into()),
            template: Some(NASTY.into()),
            failure: None,
            persona: Some(NASTY.into()),
            transcript_lines: 0,
            transcript: NASTY.into(),
        };
        let d = IssueDetail {
            issue,
            cost_usd: None,
            comments: vec![comment],
            runs: vec![run],
            depends_on: vec![DepLink {
                id: 2,
                title: NASTY.into(),
                status: crate::domain::Status::Ready,
            }],
            blocks: Vec::new(),
            children: vec![DepLink {
                id: 2,
                title: NASTY.into(),
                status: Status::Ready,
            }],
            needs: vec![crate::domain::needs::Need {
                name: NASTY.into(),
                secret: true,
                description: NASTY.into(),
            }],
        }
        .printable();
        // Every string of the serialized detail: no escape, control or bidi character is
        // left, and the one-line fields have no newline.
        let json = serde_json::to_value(&d).expect("serializes");
        let mut texts = Vec::new();
        collect(&json, "", &mut texts);
        assert!(texts.len() >= 12, "{texts:?}");
        for (field, text) in &texts {
            assert!(
                !text.chars().any(
                    |c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c)
                ),
                "{field}: {text:?}"
            );
            let multi_line = ["body", "error"].iter().any(|f| field.ends_with(f));
            assert!(multi_line || !text.contains('\n'), "{field}: {text:?}");
        }
        assert_eq!(d.issue.title, "abc de");
        assert_eq!(d.issue.body, "abc\nde");
    }

    #[test]
    fn events_keep_their_kind_and_lose_every_escape() {
        let e = Event {
            id: 3,
            ts: 0,
            kind: EventKind::IssueCreated {
                title: NASTY.into(),
                kind: Kind::Bug,
                status: Status::Ready,
                priority: 2,
            },
            issue_id: Some(1),
            actor: ActorId {
                actor: crate::domain::Actor::Human,
                name: NASTY.into(),
            },
        }
        .printable();
        assert_eq!(e.actor.name, "abc de");
        assert_eq!(
            e.kind,
            EventKind::IssueCreated {
                title: "abc de".into(),
                kind: Kind::Bug,
                status: Status::Ready,
                priority: 2,
            }
        );
    }

    fn collect(v: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::String(s) => out.push((path.to_string(), s.clone())),
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, path, out)),
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    collect(x, &format!("{path}.{k}"), out);
                }
            }
            _ => {}
        }
    }
}
