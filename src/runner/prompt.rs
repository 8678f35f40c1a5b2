//! The prompt an agent gets: the issue, its thread, and the rules of the game.
//!
//! A thread grows with every question, answer and review, so what one prompt inlines is
//! capped: the newest human comments (what the agent must act on) always go in whole; older
//! comments and long agent summaries are shortened, and the oldest left out, each with a
//! marker naming where the whole text is. The prompt reaches the agent on stdin, so its size
//! is never bounded by the kernel's argument limits.

use crate::domain::learning::Learning;
use crate::domain::{format_millis, AuthorKind, Comment, Issue};

/// Most bytes of the description inlined.
const BODY_MAX: usize = 64 << 10;
/// Most bytes inlined of one comment that is not among the newest human ones.
const OLD_COMMENT_MAX: usize = 4 << 10;
/// Most bytes of older comments (after shortening) inlined in all; the oldest go first.
const OLD_THREAD_MAX: usize = 96 << 10;

/// Most bytes of the runner's own newest message (a failing check's output) inlined.
const NEWEST_MAX: usize = 16 << 10;

/// Builds the prompt for one run. `resuming` says the agent continues an earlier session.
pub fn build(issue: &Issue, comments: &[Comment], branch: &str, resuming: bool) -> String {
    build_with(issue, comments, branch, resuming, None)
}

/// [`build`], with a message from autopilot after the thread as the newest thing the agent
/// reads (what a failing completion check printed); it is capped, keeping its end.
pub fn build_with(
    issue: &Issue,
    comments: &[Comment],
    branch: &str,
    resuming: bool,
    newest: Option<&str>,
) -> String {
    let mut p = String::new();
    if resuming {
        p.push_str("You are continuing your earlier work on this issue. The thread below has new comments since then; the latest human comment answers or reviews your previous run.\n\n");
    }
    p.push_str(&format!(
        "You are an autonomous coding agent working on issue #{} of this repository, in a git worktree on branch `{}`.\n\n",
        issue.id, branch
    ));
    p.push_str(&issue_and_thread(issue, comments));
    if let Some(text) = newest.map(str::trim_end).filter(|t| !t.is_empty()) {
        p.push_str("\nNewest message, from autopilot:\n");
        p.push_str(&keep_end(text, NEWEST_MAX));
        p.push('\n');
    }
    p.push_str(
        "\nRules:\n\
         - Implement the issue by editing files in the current directory. Do not commit, push or switch branches: autopilot commits your changes for review.\n\
         - If you cannot proceed without a decision from a human, make no changes and reply with one final message that starts with `BLOCKED: ` followed by your question.\n\
         - After the `BLOCKED:` question you may list what you need from the human, one per line: `NEEDS: NAME — what it is`, or `NEEDS: NAME (secret) — what it is` for a password, token or key. NAME is an environment variable name (A-Z, 0-9, _). A secret's value is never shown to you in the thread: the next run gets it as the environment variable $NAME; use it from there and never print it.\n\
         - If you learned something that later runs on other issues of this repository should know (a command to run first, a pitfall, a convention), put each lesson on a line of its own in your final message, starting with `LEARNED: ` (one sentence each, a few at most, never a secret).\n\
         - When you are done, end with a short summary of what you changed and how you checked it.\n",
    );
    p
}

/// `prompt` with a template's text before it, as the "Guidelines" section the rest follows.
pub fn with_guidelines(template: &super::templates::Loaded, prompt: String) -> String {
    format!(
        "Guidelines (template `{}`; follow them while you work on the issue below):\n{}\n\n{prompt}",
        template.name,
        template.text.trim_end()
    )
}

/// Most learnings one prompt carries.
pub const LEARNINGS_MAX: usize = 5;
/// Most bytes of learnings one prompt carries (each is at most
/// [`crate::domain::learning::MAX_BYTES`]); the least relevant go first.
const LEARNINGS_BYTES: usize = 2 << 10;

/// `prompt` with the "What earlier runs learned" section before it: `learnings`, most relevant
/// first, as many as fit [`LEARNINGS_MAX`] and [`LEARNINGS_BYTES`]. No learnings, no section.
pub fn with_learnings(learnings: &[Learning], prompt: String) -> String {
    let mut section = String::new();
    for l in learnings.iter().take(LEARNINGS_MAX) {
        let line = format!("- {}\n", l.text);
        if section.len() + line.len() > LEARNINGS_BYTES {
            break;
        }
        section.push_str(&line);
    }
    if section.is_empty() {
        return prompt;
    }
    format!(
        "What earlier runs learned (lessons stated by agents on other issues of this repository; use those that apply, and trust the code over them):\n{section}\n{prompt}"
    )
}

/// The issue (kind, title, description) and its thread, capped as the module says: what every
/// prompt about the issue carries, the reviewer's too.
pub fn issue_and_thread(issue: &Issue, comments: &[Comment]) -> String {
    let mut p = String::new();
    p.push_str(&format!("Kind: {}\nTitle: {}\n", issue.kind, issue.title));
    if !issue.body.trim().is_empty() {
        p.push_str("\nDescription:\n");
        p.push_str(&shorten(
            issue.body.trim_end(),
            BODY_MAX,
            issue.id,
            "description",
        ));
        p.push('\n');
    }
    if !comments.is_empty() {
        p.push_str("\nThread (oldest first):\n");
        let newest = newest_human(comments);
        let (older, recent) = comments.split_at(newest);
        let older: Vec<String> = older
            .iter()
            .map(|c| {
                entry(
                    c,
                    &shorten(c.body.trim_end(), OLD_COMMENT_MAX, issue.id, "comment"),
                )
            })
            .collect();
        // Drop the oldest of the older comments until the rest fit.
        let mut total: usize = older.iter().map(String::len).sum();
        let mut skip = 0;
        while total > OLD_THREAD_MAX && skip < older.len() {
            total -= older[skip].len();
            skip += 1;
        }
        if skip > 0 {
            p.push_str(&format!(
                "[autopilot: the {skip} oldest comment(s) are left out of this prompt to keep it short; `autopilot-tui show {}` has the whole thread]\n",
                issue.id
            ));
        }
        for e in &older[skip..] {
            p.push_str(e);
        }
        for c in recent {
            p.push_str(&entry(c, c.body.trim_end()));
        }
    }
    p
}

/// What the agent is told when merging the base left conflicts for it to resolve (nothing
/// when `files` is empty).
pub fn conflict_note(base: &str, files: &[String]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let list: Vec<String> = files.iter().map(|f| format!("- {f}")).collect();
    format!(
        "\nMerge conflicts to resolve first:\n\
         autopilot merged `{base}` into this branch and the merge conflicts in:\n{}\n\
         Resolve every conflict in those files (remove all `<<<<<<<`, `=======` and `>>>>>>>` lines, keeping what both sides meant) and leave the merge uncommitted: autopilot commits it with your changes. Then finish the issue's requested changes, if any.\n",
        list.join("\n")
    )
}

/// Where the newest human comments begin: the human comments after the agent's last word
/// (system notes in between do not count) are what the agent must act on.
fn newest_human(comments: &[Comment]) -> usize {
    let after_agent = comments
        .iter()
        .rposition(|c| c.author_kind == AuthorKind::Agent)
        .map_or(0, |i| i + 1);
    comments[after_agent..]
        .iter()
        .position(|c| c.author_kind == AuthorKind::Human)
        .map_or(comments.len(), |i| after_agent + i)
}

/// One comment as the prompt shows it.
fn entry(c: &Comment, body: &str) -> String {
    let who = match c.author_kind {
        AuthorKind::Human => "human",
        AuthorKind::Agent => "agent",
        AuthorKind::System => "system",
    };
    format!(
        "--- {} ({who}) at {}:\n{body}\n",
        c.author,
        format_millis(c.created_at)
    )
}

/// `text` cut to at most `max` bytes (on a character boundary), with a marker saying how much
/// was left out and where to read it all.
fn shorten<'a>(text: &'a str, max: usize, issue_id: i64, what: &str) -> std::borrow::Cow<'a, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n…[autopilot: {} more bytes of this {what} left out; `autopilot-tui show {issue_id}` has it whole]",
        &text[..cut],
        text.len() - cut
    )
    .into()
}

/// `text` cut to its last `max` bytes (on a character boundary), marking the cut: the end of
/// a check's output is where its failures are summed up.
fn keep_end(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut cut = text.len() - max;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    format!(
        "[autopilot: the first {cut} bytes of this message are left out]\n{}",
        &text[cut..]
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Kind, Status};

    fn issue() -> Issue {
        Issue {
            body: "Add a cache.".into(),
            ..Issue::sample(7, "Cache", Kind::Feature, Status::InProgress)
        }
    }

    fn comment(id: i64, author_kind: AuthorKind, body: String) -> Comment {
        Comment {
            id,
            issue_id: 7,
            author: format!("{author_kind:?}").to_lowercase(),
            author_kind,
            body,
            created_at: 0,
        }
    }

    #[test]
    fn a_huge_thread_keeps_the_newest_human_comments_whole_and_shortens_the_rest() {
        // 2 MB of thread: long agent summaries and human comments, then the answer to act on.
        let mut thread = Vec::new();
        for i in 0..40 {
            thread.push(comment(
                2 * i,
                AuthorKind::Agent,
                format!("summary {i} {}", "a".repeat(25_000)),
            ));
            thread.push(comment(
                2 * i + 1,
                AuthorKind::Human,
                format!("review {i} {}", "h".repeat(25_000)),
            ));
        }
        thread.push(comment(100, AuthorKind::System, "a note".into()));
        let answer = format!("ANSWER-START {} ANSWER-END", "z".repeat(300_000));
        thread.push(comment(101, AuthorKind::Human, answer.clone()));
        thread.push(comment(102, AuthorKind::Human, "and one more thing".into()));
        let total: usize = thread.iter().map(|c| c.body.len()).sum();
        assert!(total > 2_000_000);

        let p = build(&issue(), &thread, "b", true);
        assert!(
            p.contains(&answer),
            "the newest human comment goes in whole"
        );
        assert!(p.contains("and one more thing"));
        assert!(p.contains("a note"));
        // every human comment after the agent's last word is whole, system notes between
        // them included
        let last_review = &thread[79].body;
        assert!(p.contains(last_review.as_str()));
        assert!(
            p.len() < answer.len() + last_review.len() + OLD_THREAD_MAX + 10_000,
            "{} bytes",
            p.len()
        );
        assert!(p.contains("oldest comment(s) are left out") && p.contains("autopilot-tui show 7"));
        assert!(p.contains("more bytes of this comment left out"));
        // the newest of the older comments stays (shortened), the oldest goes
        assert!(p.contains("summary 39 ") && !p.contains(thread[78].body.as_str()));
        assert!(!p.contains("summary 0 "));
        assert!(p.find("review 39").unwrap() < p.find("ANSWER-START").unwrap());
        assert!(p.ends_with("how you checked it.\n"));
    }

    #[test]
    fn a_long_description_is_shortened_on_a_character_boundary() {
        let mut long = issue();
        long.body = "é".repeat(BODY_MAX);
        let p = build(&long, &[], "b", false);
        assert!(p.contains("more bytes of this description left out"));
        assert!(p.len() < BODY_MAX + 2_000);
    }

    #[test]
    fn carries_the_whole_thread_and_the_rules() {
        let issue = issue();
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
            "`NEEDS: NAME (secret) — what it is`",
        ] {
            assert!(p.contains(needle), "missing {needle:?} in\n{p}");
        }
        assert!(p.find("Redis").unwrap() < p.find("Postgres").unwrap());
    }

    fn lesson(id: i64, text: String) -> Learning {
        Learning {
            id,
            text,
            issue_id: Some(1),
            run_id: Some(1),
            created_at: 0,
        }
    }

    #[test]
    fn learnings_come_first_capped_in_count_and_bytes_and_none_leave_no_section() {
        let p = build(&issue(), &[], "b", false);
        assert!(p.contains("starting with `LEARNED: `"), "the rules say how");
        assert_eq!(with_learnings(&[], p.clone()), p);
        let two = [
            lesson(1, "run make gen first".into()),
            lesson(2, "TZ=UTC".into()),
        ];
        let got = with_learnings(&two, p.clone());
        assert!(got.starts_with("What earlier runs learned"), "{got}");
        assert!(got.contains("\n- run make gen first\n- TZ=UTC\n\nYou are an autonomous"));
        assert!(got.ends_with(&p));
        let many: Vec<Learning> = (0..20).map(|i| lesson(i, format!("lesson {i}"))).collect();
        let got = with_learnings(&many, p.clone());
        assert_eq!(got.matches("\n- lesson ").count(), LEARNINGS_MAX);
        let big: Vec<Learning> = (0..5)
            .map(|i| lesson(i, format!("{i}{}", "x".repeat(499))))
            .collect();
        let got = with_learnings(&big, p.clone());
        assert_eq!(
            got.matches(&"x".repeat(499)).count(),
            4,
            "2 KiB hold four of 500 bytes"
        );
        assert!(got.len() - p.len() <= LEARNINGS_BYTES + 200);
    }

    #[test]
    fn the_newest_message_comes_after_the_thread_and_keeps_its_end() {
        let thread = vec![comment(1, AuthorKind::Agent, "Did it.".into())];
        let long = format!("START {} THE-END", "é".repeat(NEWEST_MAX));
        let p = build_with(&issue(), &thread, "b", true, Some(&long));
        let at = p
            .find("Newest message, from autopilot:")
            .expect("the message is in");
        assert!(p.find("Did it.").unwrap() < at && at < p.find("Rules:").unwrap());
        assert!(p.contains("THE-END") && !p.contains("START"));
        assert!(p.contains("bytes of this message are left out"));
        assert!(p.len() < NEWEST_MAX + 2_000, "{} bytes", p.len());
        assert_eq!(
            build_with(&issue(), &thread, "b", true, None),
            build(&issue(), &thread, "b", true)
        );
    }
}
