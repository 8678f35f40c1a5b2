//! What completion checks lead to, in words: the comments, the move, and the message the agent
//! gets when it must fix its change. Also the scan of a branch's diff for committed conflict
//! markers. Pure, so every ending is tested without a process.

use crate::domain::{Actor, Status};

/// Most committed conflict markers a failure lists.
const MARKERS_LISTED: usize = 20;

/// A check that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The command, or the name of a built-in check.
    pub command: String,
    /// What went wrong (`exited with status 1`, `timed out after 15 minutes`).
    pub why: String,
    /// The last lines it printed (redacted, sanitized), or what the built-in check found.
    pub tail: String,
    /// The check's run, whose transcript holds all its output (built-in checks have none).
    pub run_id: Option<i64>,
}

/// What a failure leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The system comment.
    pub comment: String,
    /// Where the issue goes (`None`: it stays with the agent).
    pub move_to: Option<(Status, Actor)>,
    /// The message for the agent's next run, when it gets one.
    pub fix: Option<String>,
}

/// How a check's exit reads in comments.
pub(crate) fn exit_text(code: Option<i32>) -> String {
    match code {
        Some(127) => "exited with status 127: the command was not found".into(),
        Some(126) => "exited with status 126: the command is not executable".into(),
        Some(n) => format!("exited with status {n}"),
        None => "was killed by a signal".into(),
    }
}

/// The comment of checks that all passed.
pub(crate) fn passed(commands: &[String]) -> String {
    let list: Vec<String> = commands.iter().map(|c| format!("`{c}`")).collect();
    format!("Checks passed: {}.", list.join(", "))
}

/// What a failure leads to after `failed_before` earlier failures of this claim: back to the
/// agent while fewer than `fix_attempts` went back already, else blocked for a person.
pub(crate) fn after_failure(
    f: &Failure,
    failed_before: u32,
    fix_attempts: u32,
    issue_id: i64,
) -> Decision {
    let Failure {
        command,
        why,
        tail,
        run_id,
    } = f;
    let tail = tail.trim_end();
    let output = run_id
        .map(|r| format!(" Its whole output: `autopilot-tui log {issue_id} --run {r}`."))
        .unwrap_or_default();
    if failed_before < fix_attempts {
        let attempt = failed_before + 1;
        let mut fix = format!(
            "The completion checks failed on your change: `{command}` {why}. Fix the code so \
             that it passes; autopilot runs the checks again after your run (fix attempt \
             {attempt} of {fix_attempts})."
        );
        if !tail.is_empty() {
            fix.push_str(&format!("\n\nThe last lines it printed:\n```\n{tail}\n```"));
        }
        return Decision {
            comment: format!(
                "Checks failed: `{command}` {why}. Sent back to the agent to fix (attempt \
                 {attempt} of {fix_attempts}).{output}"
            ),
            move_to: None,
            fix: Some(fix),
        };
    }
    let tries = match fix_attempts {
        0 => "no fix attempts are configured ([checks] fix_attempts = 0)".to_string(),
        n => format!("the agent tried to fix them {n} time(s)"),
    };
    let mut comment = format!("Checks failed: `{command}` {why}, and {tries}.{output}");
    if !tail.is_empty() {
        comment.push_str(&format!("\n\nThe last lines it printed:\n```\n{tail}\n```"));
    }
    comment.push_str(
        "\n\nHow should this go on? Fix it in the worktree, or comment with directions to \
         hand it back to the agent.",
    );
    Decision {
        comment,
        move_to: Some((Status::Blocked, Actor::System)),
        fix: None,
    }
}

/// The comment of a change whose checks could not even start (its diff could not be read).
pub(crate) fn not_checked(error: &str) -> String {
    format!(
        "The change is committed, but the checks could not run: {error}. Comment to hand it \
         back to ready."
    )
}

/// The comment of a check a person (or autopilot's shutdown) stopped.
pub(crate) fn stopped(command: &str, why: &str, worktree: &str) -> String {
    format!(
        "The check `{command}` was {why}; its process group was terminated. The change is \
         committed and the worktree is at {worktree}. Comment to hand it back to ready."
    )
}

/// What the scan of a branch's diff found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Scan {
    /// The diff holds no change at all.
    pub empty: bool,
    /// Committed conflict markers, as `file:line: marker`.
    pub markers: Vec<String>,
    /// Markers found past the ones listed.
    pub more: usize,
}

impl Scan {
    /// The built-in checks' failure, if any: an empty change, or committed conflict markers.
    pub fn failure(&self, base: &str) -> Option<Failure> {
        if self.empty {
            return Some(Failure {
                command: "built-in: the change is not empty".into(),
                why: format!("failed: the branch holds no change against {base}"),
                tail: String::new(),
                run_id: None,
            });
        }
        if self.markers.is_empty() {
            return None;
        }
        let mut tail = self.markers.join("\n");
        if self.more > 0 {
            tail.push_str(&format!("\n… and {} more", self.more));
        }
        Some(Failure {
            command: "built-in: no conflict markers".into(),
            why: "failed: conflict markers were committed".into(),
            tail,
            run_id: None,
        })
    }
}

/// Reads `git diff -U0` output line by line and finds the conflict markers on added lines.
///
/// A file counts only when an opening (`<<<<<<< `) or closing (`>>>>>>> `) marker was added:
/// a bare `=======` line is also a Markdown heading underline.
#[derive(Debug, Default)]
pub(crate) struct MarkerScan {
    file: String,
    line: u64,
    in_hunk: bool,
    lines: usize,
    /// Markers of the current file, and whether one of them opens or closes a conflict.
    pending: Vec<String>,
    real: bool,
    found: Vec<String>,
    total: usize,
}

impl MarkerScan {
    /// One line of the diff, without its newline (it may be cut short: only its start matters).
    pub fn feed(&mut self, line: &[u8]) {
        self.lines += 1;
        if line.starts_with(b"diff --git ") {
            self.end_file();
            self.in_hunk = false;
        } else if !self.in_hunk && line.starts_with(b"+++ ") {
            let path = String::from_utf8_lossy(&line[4..]);
            let path = path.strip_prefix("b/").unwrap_or(&path);
            self.file = crate::domain::sanitize::one_line(path);
        } else if line.starts_with(b"@@ ") {
            self.in_hunk = true;
            self.line = hunk_start(line);
        } else if self.in_hunk && line.first() == Some(&b'+') {
            let text = &line[1..];
            let trimmed = text.trim_ascii_end();
            let opens = text.starts_with(b"<<<<<<< ") || trimmed == b"<<<<<<<";
            let closes = text.starts_with(b">>>>>>> ") || trimmed == b">>>>>>>";
            if opens || closes || trimmed == b"=======" {
                self.real |= opens || closes;
                let shown = crate::domain::sanitize::one_line(&String::from_utf8_lossy(
                    &trimmed[..trimmed.len().min(60)],
                ));
                self.pending
                    .push(format!("{}:{}: {shown}", self.file, self.line));
            }
            self.line += 1;
        }
    }

    fn end_file(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        if std::mem::take(&mut self.real) {
            self.total += pending.len();
            let room = MARKERS_LISTED.saturating_sub(self.found.len());
            self.found.extend(pending.into_iter().take(room));
        }
    }

    /// What the scan found.
    pub fn finish(mut self) -> Scan {
        self.end_file();
        Scan {
            empty: self.lines == 0,
            more: self.total - self.found.len(),
            markers: self.found,
        }
    }
}

/// The first line of the new side of a hunk header (`@@ -1,2 +3,4 @@` → 3).
fn hunk_start(header: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(header);
    text.split(' ')
        .find_map(|w| w.strip_prefix('+'))
        .and_then(|w| w.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(diff: &str) -> Scan {
        let mut s = MarkerScan::default();
        for l in diff.lines() {
            s.feed(l.as_bytes());
        }
        s.finish()
    }

    #[test]
    fn committed_conflict_markers_are_found_with_file_and_line() {
        let diff = "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n\
                    @@ -3,0 +4,5 @@\n+<<<<<<< HEAD\n+ours\n+=======\n+theirs\n+>>>>>>> main\n\
                    diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n\
                    @@ -1 +1,2 @@\n-Title\n+Title\n+=======\n";
        let s = scan(diff);
        assert!(!s.empty);
        assert_eq!(
            s.markers,
            vec![
                "src/a.rs:4: <<<<<<< HEAD",
                "src/a.rs:6: =======",
                "src/a.rs:8: >>>>>>> main"
            ]
        );
        let f = s.failure("main").expect("a failure");
        assert_eq!(f.command, "built-in: no conflict markers");
        assert!(f.tail.starts_with("src/a.rs:4: <<<<<<< HEAD"), "{}", f.tail);
    }

    #[test]
    fn a_heading_underline_or_a_removed_marker_is_not_a_conflict() {
        let diff = "diff --git a/doc.md b/doc.md\n--- a/doc.md\n+++ b/doc.md\n@@ -1,0 +1,2 @@\n\
                    +Title\n+=======\n-<<<<<<< old\n+ <<<<<<< indented\n";
        assert_eq!(scan(diff), Scan::default());
        assert_eq!(scan(diff).failure("main"), None);
    }

    #[test]
    fn an_empty_diff_fails_and_many_markers_are_counted_not_listed() {
        let s = scan("");
        assert!(s.empty);
        assert!(s
            .failure("main")
            .unwrap()
            .why
            .contains("no change against main"));
        let mut diff = String::from("diff --git a/x b/x\n+++ b/x\n@@ -0,0 +1,30 @@\n");
        for _ in 0..30 {
            diff.push_str("+>>>>>>> theirs\n");
        }
        let s = scan(&diff);
        assert_eq!((s.markers.len(), s.more), (MARKERS_LISTED, 10));
        assert!(s.failure("main").unwrap().tail.ends_with("… and 10 more"));
    }

    fn failure() -> Failure {
        Failure {
            command: "cargo test".into(),
            why: exit_text(Some(101)),
            tail: "test a ... FAILED\nerror: 1 test failed\n".into(),
            run_id: Some(5),
        }
    }

    #[test]
    fn a_failure_goes_back_to_the_agent_with_the_output_until_the_attempts_are_used() {
        let d = after_failure(&failure(), 0, 2, 7);
        assert_eq!(d.move_to, None);
        assert_eq!(
            d.comment,
            "Checks failed: `cargo test` exited with status 101. Sent back to the agent to fix \
             (attempt 1 of 2). Its whole output: `autopilot-tui log 7 --run 5`."
        );
        let fix = d.fix.expect("the agent gets the failure");
        assert!(
            fix.starts_with(
                "The completion checks failed on your change: `cargo test` exited with status 101."
            ) && fix.contains("(fix attempt 1 of 2)")
                && fix.ends_with("```\ntest a ... FAILED\nerror: 1 test failed\n```"),
            "{fix}"
        );
        assert!(after_failure(&failure(), 1, 2, 7).fix.is_some());

        let d = after_failure(&failure(), 2, 2, 7);
        assert_eq!(d.move_to, Some((Status::Blocked, Actor::System)));
        assert_eq!(d.fix, None);
        assert_eq!(
            d.comment,
            "Checks failed: `cargo test` exited with status 101, and the agent tried to fix them \
             2 time(s). Its whole output: `autopilot-tui log 7 --run 5`.\n\nThe last lines it \
             printed:\n```\ntest a ... FAILED\nerror: 1 test failed\n```\n\nHow should this go \
             on? Fix it in the worktree, or comment with directions to hand it back to the agent."
        );
        let none = after_failure(&failure(), 0, 0, 7);
        assert!(
            none.comment.contains("fix_attempts = 0"),
            "{}",
            none.comment
        );
    }

    #[test]
    fn exits_and_passes_read_plainly() {
        assert_eq!(exit_text(Some(1)), "exited with status 1");
        assert!(exit_text(Some(127)).contains("not found"));
        assert!(exit_text(Some(126)).contains("not executable"));
        assert_eq!(exit_text(None), "was killed by a signal");
        assert_eq!(
            passed(&["cargo test".into(), "make lint".into()]),
            "Checks passed: `cargo test`, `make lint`."
        );
    }
}
