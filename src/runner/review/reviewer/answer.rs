//! The reviewer in words: its prompt, how its answer is read, and every comment and message
//! its verdict leads to. Pure, so every ending is tested without a process.

use crate::domain::{Comment, Issue};
use crate::runner::prompt;

/// Most bytes of the branch's diff put in the reviewer's prompt; the rest is left out with a
/// marker saying how to read it all.
pub(crate) const DIFF_CAP: usize = 64 << 10;

/// What the reviewer is asked to do when no `prompt_file` says otherwise.
pub(crate) const BUILT_IN: &str = "\
Review the change as a careful senior engineer would before a person reads it: does it do what \
the issue asks, is it correct, does it break or leave out anything, are its tests and error \
handling adequate? Ask only for changes that matter; do not ask for matters of taste.";

/// What the reviewer's answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Its last line is `APPROVE`.
    Approve,
    /// A `CHANGES:` line, with what follows it (at least the text after the colon).
    Changes(String),
    /// Neither: the whole answer, treated as changes.
    Unclear(String),
}

impl Answer {
    /// What the implementer is asked to change (`None` when approved).
    pub fn changes(&self) -> Option<&str> {
        match self {
            Answer::Approve => None,
            Answer::Changes(t) | Answer::Unclear(t) => Some(t),
        }
    }
}

/// The reviewer's prompt: its instructions (built in, or the `prompt_file`'s), the issue and
/// its thread, the diff of the branch (cut at [`DIFF_CAP`] bytes, `truncated` when git had
/// more), and how to answer — the one part a `prompt_file` cannot change, since autopilot reads
/// the answer.
pub(crate) fn prompt(
    issue: &Issue,
    comments: &[Comment],
    branch: &str,
    base: &str,
    instructions: Option<&str>,
    diff: &[u8],
    truncated: bool,
) -> String {
    let id = issue.id;
    let mut p = format!(
        "You are a code reviewer. Another agent changed this repository for issue #{id}, on \
         branch `{branch}` (based on `{base}`). The current directory is that branch's worktree: \
         read any file you need, but do not edit, commit or switch branches.\n\n"
    );
    let instructions = instructions
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(BUILT_IN);
    p.push_str(instructions);
    p.push_str("\n\n");
    p.push_str(&prompt::issue_and_thread(issue, comments));
    p.push_str(&format!(
        "\nThe change (`git diff {base}...{branch}`):\n```diff\n"
    ));
    let mut cut = diff.len().min(DIFF_CAP);
    // Cut on a character boundary: the text is read as UTF-8 below.
    while cut > 0 && cut < diff.len() && (diff[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    let text = String::from_utf8_lossy(&diff[..cut]);
    p.push_str(text.trim_end_matches('\n'));
    p.push_str("\n```\n");
    if truncated || cut < diff.len() {
        p.push_str(&format!(
            "[autopilot: the diff is cut here at {} KiB; read the files in the worktree, or run \
             `git diff {base}...{branch}`, for the rest]\n",
            DIFF_CAP >> 10
        ));
    } else if diff.is_empty() {
        p.push_str("[autopilot: the diff is empty]\n");
    }
    p.push_str(
        "\nHow to answer (autopilot reads only the end of your answer):\n\
         - If the change is ready for a person to accept, end with a line that says exactly `APPROVE`.\n\
         - Otherwise end with a line that starts with `CHANGES: ` followed by what must change; \
         the implementer gets that text as it is.\n",
    );
    p
}

/// Reads the reviewer's final message: `APPROVE` as its last line, else the last line that
/// starts with `CHANGES:` and everything after it, else the whole text as [`Answer::Unclear`].
/// Markdown emphasis around the word and its case do not matter.
pub(crate) fn read(text: &str) -> Answer {
    let lines: Vec<&str> = text.lines().collect();
    let bare = |l: &str| {
        l.trim()
            .trim_matches(['*', '_', '`', '#', '>', ' '])
            .to_string()
    };
    if let Some(last) = lines.iter().rev().find(|l| !l.trim().is_empty()) {
        let word = bare(last);
        let word = word.trim_end_matches(['.', '!']);
        if word.eq_ignore_ascii_case("approve") || word.eq_ignore_ascii_case("approved") {
            return Answer::Approve;
        }
    }
    for (n, line) in lines.iter().enumerate().rev() {
        // Emphasis is stripped from the start only: the end is the reviewer's own text.
        let b = line
            .trim_start()
            .trim_start_matches(['*', '_', '`', '#', '>', ' ']);
        let Some(head) = b.get(..8) else { continue };
        if head.eq_ignore_ascii_case("changes:") {
            let mut what = b[8..].trim_start_matches(['*', '_']).trim().to_string();
            let rest = lines[n + 1..].join("\n");
            if !rest.trim().is_empty() {
                if !what.is_empty() {
                    what.push('\n');
                }
                what.push_str(rest.trim());
            }
            if what.trim().is_empty() {
                what = "(the reviewer gave no details after `CHANGES:`)".into();
            }
            return Answer::Changes(what);
        }
    }
    let whole = text.trim();
    Answer::Unclear(if whole.is_empty() {
        "(the reviewer gave no answer)".into()
    } else {
        whole.to_string()
    })
}

/// Who a reviewer's comment is by: visible in `show` and the thread as the reviewer, not the
/// implementer (both are agents).
pub(crate) fn author(agent_id: &str) -> String {
    format!("reviewer:{agent_id}")
}

/// The implementer's newest message after the reviewer asked for changes in review cycle
/// `cycle` of `max_cycles`.
pub(crate) fn fix_message(answer: &Answer, cycle: u32, max_cycles: u32) -> String {
    let what = answer.changes().unwrap_or_default();
    let intro = match answer {
        Answer::Unclear(_) => {
            "A reviewer read your change and answered neither APPROVE nor \
             CHANGES; its whole answer follows. Address what it raises"
        }
        _ => "A reviewer read your change and asks for these changes. Make them",
    };
    format!(
        "{intro}; autopilot runs the checks and the reviewer again after your run (review cycle \
         {cycle} of {max_cycles}).\n\n{what}"
    )
}

/// The system comment when the reviewer's changes go back to the implementer.
pub(crate) fn sent_back(answer: &Answer, cycle: u32, max_cycles: u32) -> String {
    let how = match answer {
        Answer::Unclear(_) => {
            "The reviewer answered neither APPROVE nor CHANGES; its answer is treated as changes"
        }
        _ => "The reviewer asked for changes",
    };
    format!("{how}: sent back to the agent (review cycle {cycle} of {max_cycles}).")
}

/// The system comment when the reviewer still wants changes after `max_cycles` cycles: a
/// person decides, with the last verdict in front of them.
pub(crate) fn out_of_cycles(answer: &Answer, max_cycles: u32) -> String {
    let what = answer.changes().unwrap_or_default();
    let tries = match max_cycles {
        0 => "its changes do not go back to the agent ([review] max_cycles = 0)".to_string(),
        n => format!("its changes went back to the agent {n} time(s) ([review] max_cycles = {n})"),
    };
    let unclear = if matches!(answer, Answer::Unclear(_)) {
        " (it answered neither APPROVE nor CHANGES)"
    } else {
        ""
    };
    format!(
        "The reviewer still asks for changes{unclear}, and {tries}: the change goes to review \
         for a person to decide. Its last verdict:\n\n{what}"
    )
}

/// The system comment of an approval.
pub(crate) fn approved() -> String {
    "The reviewer approved the change; it is ready for your review.".into()
}

/// The system comment when the reviewer run failed: a person reviews the change anyway.
pub(crate) fn failed(error: &str, stderr_tail: Option<&str>) -> String {
    let mut body = format!(
        "The reviewer run failed: {error}. The change goes to review without a reviewer's verdict."
    );
    if let Some(tail) = stderr_tail.filter(|t| !t.trim().is_empty()) {
        body.push_str(&format!(
            "\n\nLast lines of the reviewer's stderr:\n```\n{}\n```",
            tail.trim_end()
        ));
    }
    body
}

/// The system comment when a person or a limit stopped the reviewer run.
pub(crate) fn stopped(why: &str) -> String {
    format!("The reviewer run was {why}. The change goes to review without a reviewer's verdict.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuthorKind, Kind, Status};

    fn issue() -> Issue {
        Issue {
            body: "Add a cache.".into(),
            ..Issue::sample(
                7,
                "Cache [scenario:review]",
                Kind::Feature,
                Status::InProgress,
            )
        }
    }

    #[test]
    fn approve_is_the_last_line_in_any_emphasis() {
        for text in [
            "Looks right.\n\nAPPROVE",
            "**APPROVE**\n",
            "All good. \n`approve.`  \n\n",
        ] {
            assert_eq!(read(text), Answer::Approve, "{text:?}");
        }
        // approving somewhere in the middle is not approving
        assert!(matches!(
            read("APPROVE\nbut one more thing"),
            Answer::Unclear(_)
        ));
    }

    #[test]
    fn changes_take_the_last_changes_line_and_what_follows() {
        assert_eq!(
            read("Some notes.\nCHANGES: add a test for the empty cache"),
            Answer::Changes("add a test for the empty cache".into())
        );
        assert_eq!(
            read("CHANGES: old\nmore thought\n**Changes:** rename `x`\n- and handle errors\n"),
            Answer::Changes("rename `x`\n- and handle errors".into())
        );
        assert_eq!(
            read("CHANGES:"),
            Answer::Changes("(the reviewer gave no details after `CHANGES:`)".into())
        );
    }

    #[test]
    fn an_answer_that_is_neither_is_kept_whole_as_changes() {
        let a = read("I think this is mostly fine, maybe rename it.\n");
        assert_eq!(
            a,
            Answer::Unclear("I think this is mostly fine, maybe rename it.".into())
        );
        assert_eq!(
            a.changes(),
            Some("I think this is mostly fine, maybe rename it.")
        );
        assert_eq!(
            read("  \n"),
            Answer::Unclear("(the reviewer gave no answer)".into())
        );
        assert!(fix_message(&a, 1, 2).contains("neither APPROVE nor CHANGES"));
        assert_eq!(
            sent_back(&a, 1, 2),
            "The reviewer answered neither APPROVE nor CHANGES; its answer is treated as \
             changes: sent back to the agent (review cycle 1 of 2)."
        );
    }

    #[test]
    fn the_prompt_has_the_instructions_the_issue_the_thread_the_diff_and_the_answer_format() {
        let thread = vec![Comment {
            id: 1,
            issue_id: 7,
            author: "agent-1".into(),
            author_kind: AuthorKind::Agent,
            body: "Added the cache.".into(),
            created_at: 0,
        }];
        let diff = b"diff --git a/x b/x\n+cached\n";
        let p = prompt(&issue(), &thread, "ap/7", "main", None, diff, false);
        for needle in [
            "issue #7",
            "branch `ap/7` (based on `main`)",
            BUILT_IN,
            "Title: Cache [scenario:review]",
            "Added the cache.",
            "`git diff main...ap/7`",
            "+cached\n```\n",
            "exactly `APPROVE`",
            "`CHANGES: `",
        ] {
            assert!(p.contains(needle), "missing {needle:?} in\n{p}");
        }
        assert!(!p.contains("[autopilot: the diff is"));
        let own = prompt(
            &issue(),
            &[],
            "b",
            "main",
            Some("Only check spelling."),
            b"",
            false,
        );
        assert!(own.contains("Only check spelling.") && !own.contains(BUILT_IN));
        assert!(own.contains("[autopilot: the diff is empty]") && own.contains("`APPROVE`"));
    }

    #[test]
    fn a_huge_diff_is_cut_on_a_character_boundary_with_a_marker() {
        let diff = "é".repeat(DIFF_CAP);
        let p = prompt(&issue(), &[], "b", "main", None, diff.as_bytes(), false);
        assert!(
            p.contains("the diff is cut here at 64 KiB"),
            "{}",
            &p[p.len() - 400..]
        );
        assert!(!p.contains('\u{FFFD}'));
        assert!(p.len() < DIFF_CAP + 4_000, "{} bytes", p.len());
        // git said more than it was asked to read
        let p = prompt(&issue(), &[], "b", "main", None, b"+x\n", true);
        assert!(p.contains("the diff is cut here"));
    }

    #[test]
    fn verdict_comments_read_plainly() {
        let changes = Answer::Changes("add a test".into());
        assert_eq!(author("agent-1"), "reviewer:agent-1");
        assert_eq!(
            fix_message(&changes, 1, 2),
            "A reviewer read your change and asks for these changes. Make them; autopilot runs \
             the checks and the reviewer again after your run (review cycle 1 of 2).\n\nadd a test"
        );
        assert_eq!(
            sent_back(&changes, 2, 2),
            "The reviewer asked for changes: sent back to the agent (review cycle 2 of 2)."
        );
        assert_eq!(
            out_of_cycles(&changes, 2),
            "The reviewer still asks for changes, and its changes went back to the agent 2 \
             time(s) ([review] max_cycles = 2): the change goes to review for a person to \
             decide. Its last verdict:\n\nadd a test"
        );
        assert!(out_of_cycles(&changes, 0).contains("max_cycles = 0"));
        assert_eq!(
            failed("the agent exited with status 1", Some("boom\n")),
            "The reviewer run failed: the agent exited with status 1. The change goes to review \
             without a reviewer's verdict.\n\nLast lines of the reviewer's stderr:\n```\nboom\n```"
        );
        assert_eq!(
            stopped("stopped by alice"),
            "The reviewer run was stopped by alice. The change goes to review without a \
             reviewer's verdict."
        );
    }
}
