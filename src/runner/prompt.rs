//! The prompt an agent gets: the issue, its whole thread, and the rules of the game.

use crate::domain::{format_millis, AuthorKind, Comment, Issue};

/// Builds the prompt for one run. `resuming` says the agent continues an earlier session.
pub fn build(issue: &Issue, comments: &[Comment], branch: &str, resuming: bool) -> String {
    let mut p = String::new();
    if resuming {
        p.push_str("You are continuing your earlier work on this issue. The thread below has new comments since then; the latest human comment answers or reviews your previous run.\n\n");
    }
    p.push_str(&format!(
        "You are an autonomous coding agent working on issue #{} of this repository, in a git worktree on branch `{}`.\n\n",
        issue.id, branch
    ));
    p.push_str(&format!("Kind: {}\nTitle: {}\n", issue.kind, issue.title));
    if !issue.body.trim().is_empty() {
        p.push_str("\nDescription:\n");
        p.push_str(issue.body.trim_end());
        p.push('\n');
    }
    if !comments.is_empty() {
        p.push_str("\nThread (oldest first):\n");
        for c in comments {
            let who = match c.author_kind {
                AuthorKind::Human => "human",
                AuthorKind::Agent => "agent",
                AuthorKind::System => "system",
            };
            p.push_str(&format!(
                "--- {} ({who}) at {}:\n{}\n",
                c.author,
                format_millis(c.created_at),
                c.body.trim_end()
            ));
        }
    }
    p.push_str(
        "\nRules:\n\
         - Implement the issue by editing files in the current directory. Do not commit, push or switch branches: autopilot commits your changes for review.\n\
         - If you cannot proceed without a decision from a human, make no changes and reply with one final message that starts with `BLOCKED: ` followed by your question.\n\
         - When you are done, end with a short summary of what you changed and how you checked it.\n",
    );
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Kind, Status};

    #[test]
    fn carries_the_whole_thread_and_the_rules() {
        let issue = Issue {
            id: 7,
            title: "Cache".into(),
            body: "Add a cache.".into(),
            kind: Kind::Feature,
            status: Status::InProgress,
            priority: 0,
            claimed_by: None,
            lease_until: None,
            branch: None,
            worktree: None,
            base: None,
            session_id: None,
            created_at: 0,
            updated_at: 0,
        };
        let thread = vec![
            Comment {
                id: 1,
                issue_id: 7,
                author: "a-1".into(),
                author_kind: AuthorKind::Agent,
                body: "BLOCKED: Redis?".into(),
                created_at: 0,
            },
            Comment {
                id: 2,
                issue_id: 7,
                author: "alice".into(),
                author_kind: AuthorKind::Human,
                body: "Use Postgres".into(),
                created_at: 0,
            },
        ];
        let p = build(&issue, &thread, "autopilot/issue-7-cache", true);
        assert!(p.starts_with("You are continuing"));
        for needle in [
            "issue #7",
            "Title: Cache",
            "Kind: feature",
            "Add a cache.",
            "BLOCKED: Redis?",
            "alice (human)",
            "Use Postgres",
            "BLOCKED: ` followed by your question",
        ] {
            assert!(p.contains(needle), "missing {needle:?} in\n{p}");
        }
        assert!(p.find("Redis").unwrap() < p.find("Postgres").unwrap());
    }
}
