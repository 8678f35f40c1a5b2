//! Taking over an issue by hand: a shell in its worktree (`s`), the agent's session continued
//! interactively (`C`), its body in `$EDITOR` (`E`). Each program runs in the foreground with
//! the terminal, which the UI lets go of first. Here a take-over is prepared (checked against
//! the store and the disk before the screen changes, so a refusal is a message, not a flash of
//! the shell) and run, and what it changed is committed or handed back.

use crate::store::sql::StoreUrl;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::Arc;

use super::agent::Adapter;
use super::git;
use crate::domain::redact::Redactor;
use crate::domain::sanitize::one_line;
use crate::domain::{AuthorKind, Issue, Status};
use crate::store::Store;

/// Who signs the comment a continued session's commit leaves.
const SYSTEM_AUTHOR: &str = "autopilot";
/// The shell when `$SHELL` is unset.
const FALLBACK_SHELL: &str = "/bin/sh";
/// The editor when `$EDITOR` is unset.
const FALLBACK_EDITOR: &str = "vi";

/// What taking over needs to know.
#[derive(Clone)]
pub struct TakeoverSettings {
    /// The database.
    pub db: StoreUrl,
    /// What the store and commit messages redact.
    pub redactor: Arc<Redactor>,
    /// Who commits when git has no identity configured.
    pub commit_name: String,
    /// Their e-mail.
    pub commit_email: String,
    /// The configured agent, or why it cannot be started.
    pub agent: Result<Arc<dyn Adapter>, String>,
}

/// A take-over the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takeover {
    /// `$SHELL` in the issue's worktree.
    Shell(i64),
    /// The agent's session, continued interactively in the worktree; what changed is committed.
    Continue(i64),
    /// The issue's body in `$EDITOR`.
    EditBody(i64),
}

impl Takeover {
    /// The issue.
    pub fn issue_id(self) -> i64 {
        match self {
            Takeover::Shell(id) | Takeover::Continue(id) | Takeover::EditBody(id) => id,
        }
    }
}

/// A take-over checked and ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// A shell in a worktree.
    Shell {
        /// The issue.
        issue_id: i64,
        /// `$SHELL`.
        program: PathBuf,
        /// The worktree.
        dir: PathBuf,
    },
    /// The agent's session, continued.
    Continue {
        /// The issue.
        issue_id: i64,
        /// The agent's executable.
        program: PathBuf,
        /// Its arguments (`--resume <session>` and the configured flags).
        args: Vec<String>,
        /// The worktree.
        dir: PathBuf,
        /// The issue branch, which the changes are committed to.
        branch: String,
        /// The issue's title, for the commit message.
        title: String,
        /// The session continued.
        session: String,
        /// `HEAD` before, to count commits the session made itself.
        head_before: String,
    },
    /// The body in an editor.
    Edit {
        /// The issue.
        issue_id: i64,
        /// `$EDITOR`, a shell command line (`code -w` works).
        editor: String,
        /// The body as stored.
        body: String,
    },
}

impl Prepared {
    /// The issue.
    pub fn issue_id(&self) -> i64 {
        match self {
            Prepared::Shell { issue_id, .. }
            | Prepared::Continue { issue_id, .. }
            | Prepared::Edit { issue_id, .. } => *issue_id,
        }
    }

    /// A line for the terminal before the program starts (printable), where one helps: an
    /// editor fills the screen at once.
    pub fn banner(&self) -> Option<String> {
        match self {
            Prepared::Shell { issue_id, dir, .. } => Some(format!(
                "autopilot-tui: a shell in the worktree of #{issue_id} ({}); exit it to come back",
                one_line(&dir.to_string_lossy())
            )),
            Prepared::Continue {
                issue_id,
                dir,
                branch,
                ..
            } => Some(format!(
                "autopilot-tui: continuing the agent's session of #{issue_id} in {}; quit it to come back (what changed is then committed to {})",
                one_line(&dir.to_string_lossy()),
                one_line(branch)
            )),
            Prepared::Edit { .. } => None,
        }
    }
}

/// How a take-over ended, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The issue.
    pub issue_id: i64,
    /// Whether it went as asked (a warning otherwise).
    pub ok: bool,
    /// What happened, one line.
    pub message: String,
    /// A changed body to save (`E` only).
    pub body: Option<String>,
}

impl Outcome {
    fn ok(issue_id: i64, message: String) -> Outcome {
        Outcome {
            issue_id,
            ok: true,
            message,
            body: None,
        }
    }

    fn failed(issue_id: i64, message: String) -> Outcome {
        Outcome {
            issue_id,
            ok: false,
            message,
            body: None,
        }
    }
}

/// Runs `program` with `args` in `dir` in the foreground: it inherits the terminal (stdin,
/// stdout, stderr) and this process waits for it. The caller has given the terminal up.
pub fn interactive(
    program: &Path,
    args: &[String],
    dir: &Path,
    env: &[(&str, String)],
) -> std::io::Result<ExitStatus> {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
}

/// Checks a take-over against the store and the disk, before the screen changes. The error
/// says why it cannot run. Blocking (SQLite, git).
pub fn prepare(
    s: &TakeoverSettings,
    t: Takeover,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Prepared, String> {
    let id = t.issue_id();
    let store = Store::open_url(&s.db, Arc::clone(&s.redactor)).map_err(|e| e.to_string())?;
    let issue = store.issue(id).map_err(|e| e.to_string())?;
    let var = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    match t {
        Takeover::Shell(_) => Ok(Prepared::Shell {
            issue_id: id,
            program: PathBuf::from(var("SHELL").unwrap_or_else(|| FALLBACK_SHELL.into())),
            dir: worktree(&issue)?,
        }),
        Takeover::EditBody(_) => Ok(Prepared::Edit {
            issue_id: id,
            editor: var("EDITOR").unwrap_or_else(|| FALLBACK_EDITOR.into()),
            body: issue.body,
        }),
        Takeover::Continue(_) => prepare_continue(s, &issue),
    }
}

fn prepare_continue(s: &TakeoverSettings, issue: &Issue) -> Result<Prepared, String> {
    let id = issue.id;
    match issue.status {
        Status::InProgress => {
            return Err(format!(
                "#{id} has an agent working on it: stop it (x) or wait for it before continuing its session"
            ))
        }
        Status::Ready => {
            return Err(format!(
                "#{id} is ready, so a runner may claim it any moment: move it back to backlog (B) before continuing its session"
            ))
        }
        _ => {}
    }
    let Some(session) = issue.session_id.clone() else {
        return Err(format!(
            "#{id} has no agent session to continue: no run has reported one yet"
        ));
    };
    let dir = worktree(issue)?;
    let Some(branch) = issue.branch.clone() else {
        return Err(format!("#{id} has no branch: no run has started on it"));
    };
    let agent = s.agent.as_ref().map_err(Clone::clone)?;
    let Some(args) =
        agent.interactive_args(&session, &crate::runner::agent::ModelChoice::of(issue))
    else {
        return Err(format!(
            "the configured agent ({}) has no interactive session to continue; s opens a shell in the worktree instead",
            agent.name()
        ));
    };
    let head_before = git::head(&dir).map_err(|e| e.to_string())?;
    Ok(Prepared::Continue {
        issue_id: id,
        program: agent.program().to_path_buf(),
        args,
        dir,
        branch,
        title: issue.title.clone(),
        session,
        head_before,
    })
}

/// The issue's worktree, when it has one on disk.
fn worktree(issue: &Issue) -> Result<PathBuf, String> {
    let id = issue.id;
    let Some(path) = issue.worktree.as_deref() else {
        return Err(format!("#{id} has no worktree: no run has started on it"));
    };
    let dir = PathBuf::from(path);
    if !dir.is_dir() {
        return Err(format!(
            "#{id}: its worktree {path} is gone (removed after accepting, or deleted)"
        ));
    }
    Ok(dir)
}

/// Runs a prepared take-over in the foreground, then does what comes after (commit the
/// session's changes, read the edited body back). Blocking; the terminal must be free.
pub fn run(s: &TakeoverSettings, p: Prepared) -> Outcome {
    let id = p.issue_id();
    let env = [("AUTOPILOT_ISSUE_ID", id.to_string())];
    match p {
        Prepared::Shell { program, dir, .. } => match interactive(&program, &[], &dir, &env) {
            Ok(_) => Outcome::ok(id, format!("#{id}: back from the shell")),
            Err(e) => Outcome::failed(
                id,
                format!(
                    "cannot start the shell {}: {e} (set $SHELL)",
                    program.display()
                ),
            ),
        },
        Prepared::Edit { editor, body, .. } => edit_body(id, &editor, &body),
        Prepared::Continue {
            program,
            args,
            dir,
            branch,
            title,
            session,
            head_before,
            ..
        } => {
            let status = match interactive(&program, &args, &dir, &env) {
                Ok(status) => status,
                Err(e) => {
                    return Outcome::failed(id, format!("cannot start {}: {e}", program.display()))
                }
            };
            let session = Session {
                issue_id: id,
                dir: &dir,
                branch: &branch,
                title: &title,
                session: &session,
                head_before: &head_before,
            };
            let mut outcome = commit_session(s, &session);
            if !status.success() {
                outcome.message = format!("{} (the agent {})", outcome.message, exited(status));
            }
            outcome
        }
    }
}

/// A continued session, as committing it needs it.
struct Session<'a> {
    issue_id: i64,
    dir: &'a Path,
    branch: &'a str,
    title: &'a str,
    session: &'a str,
    head_before: &'a str,
}

/// Commits what an interactive session left in the worktree onto the issue branch, with a
/// system comment saying so; nothing when an agent claimed the issue meanwhile or the
/// worktree left the branch (the changes stay where they are, and the message says where).
fn commit_session(s: &TakeoverSettings, w: &Session<'_>) -> Outcome {
    let id = w.issue_id;
    let mut store = match Store::open_url(&s.db, Arc::clone(&s.redactor)) {
        Ok(st) => st,
        Err(e) => return Outcome::failed(id, format!("#{id}: nothing committed: {e}")),
    };
    match store.issue(id) {
        Ok(i) if i.status == Status::InProgress => {
            return Outcome::failed(
                id,
                format!(
                    "#{id} was claimed by an agent meanwhile: nothing was committed; your changes are in {}",
                    w.dir.display()
                ),
            )
        }
        Ok(_) => {}
        Err(e) => return Outcome::failed(id, format!("#{id}: nothing committed: {e}")),
    }
    let full = format!("refs/heads/{}", w.branch);
    let on = git::git(w.dir, &["symbolic-ref", "--quiet", "HEAD"]).unwrap_or_default();
    if on != full {
        let place = on.strip_prefix("refs/heads/").unwrap_or("a detached HEAD");
        return Outcome::failed(
            id,
            format!(
                "#{id}: the worktree is on {place}, not {}: nothing was committed; bring it back with git switch {}",
                w.branch, w.branch
            ),
        );
    }
    let message = s
        .redactor
        .text(&format!(
            "#{id} {}\n\nChanges made in an interactive session ({}).\n\nAutopilot-Issue: {id}",
            w.title, w.session
        ))
        .into_owned();
    let committed = (|| {
        let own = git::commits_between(w.dir, w.head_before, "HEAD")?;
        let sha = if git::has_changes(w.dir)? {
            Some(git::commit_all(
                w.dir,
                &message,
                &s.commit_name,
                &s.commit_email,
            )?)
        } else {
            None
        };
        Ok::<_, git::GitError>((own, sha))
    })();
    let (own, sha) = match committed {
        Ok(c) => c,
        Err(e) => {
            return Outcome::failed(
                id,
                format!("#{id}: could not commit the session's changes (they are still in the worktree): {e}"),
            )
        }
    };
    let also = match own {
        0 => String::new(),
        1 => " The session also made 1 commit itself.".into(),
        n => format!(" The session also made {n} commits itself."),
    };
    let comment = match &sha {
        Some(sha) => format!(
            "Changes made in an interactive session were committed as {} on {}.{also}",
            short(sha),
            w.branch
        ),
        None if own > 0 => format!(
            "An interactive session made {own} commit(s) on {}; it left nothing uncommitted.",
            w.branch
        ),
        None => return Outcome::ok(id, format!("#{id}: the session changed nothing")),
    };
    let said = match &sha {
        Some(sha) => format!("#{id}: committed the session as {}", short(sha)),
        None => format!("#{id}: the session made {own} commit(s)"),
    };
    match store.add_comment(id, SYSTEM_AUTHOR, AuthorKind::System, &comment) {
        Ok(_) => Outcome::ok(id, said),
        Err(e) => Outcome::failed(
            id,
            format!("#{id}: {comment} (but the comment could not be saved: {e})"),
        ),
    }
}

/// `exited with status 3`, or the signal that ended a program.
fn exited(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was ended by signal {sig}"),
        (None, None) => "failed".into(),
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(10)]
}

/// Edits `body` in `editor` through a private file; the outcome holds the new body when it
/// changed. Trailing whitespace does not count, as editors add a final newline.
fn edit_body(id: i64, editor: &str, body: &str) -> Outcome {
    let (path, mut file) = match private_file(id) {
        Ok(f) => f,
        Err(e) => return Outcome::failed(id, format!("cannot write a file to edit: {e}")),
    };
    let written = file
        .write_all(body.trim_end().as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all());
    drop(file);
    let remove = |path: &Path| {
        let _ = std::fs::remove_file(path);
    };
    if let Err(e) = written {
        remove(&path);
        return Outcome::failed(id, format!("cannot write a file to edit: {e}"));
    }
    // Through the shell, as git runs it: `$EDITOR` may carry arguments (`code -w`).
    let args = [
        "-c".to_string(),
        format!("{editor} \"$1\""),
        "sh".to_string(),
        path.to_string_lossy().into_owned(),
    ];
    let cwd = std::env::temp_dir();
    let env = [("AUTOPILOT_ISSUE_ID", id.to_string())];
    let status = interactive(Path::new("/bin/sh"), &args, &cwd, &env);
    let status = match status {
        Ok(st) => st,
        Err(e) => {
            remove(&path);
            return Outcome::failed(id, format!("cannot start the editor {editor}: {e}"));
        }
    };
    if !status.success() {
        remove(&path);
        return Outcome::failed(
            id,
            format!("#{id}: nothing saved: the editor {}", exited(status)),
        );
    }
    let text = match std::fs::read(&path).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => {
            // Kept: the user's words are not thrown away for a wrong byte.
            return Outcome::failed(
                id,
                format!(
                    "#{id}: the edited text is not UTF-8: nothing saved (it is kept in {})",
                    path.display()
                ),
            );
        }
        Err(e) => {
            return Outcome::failed(id, format!("#{id}: cannot read the edited text back: {e}"))
        }
    };
    remove(&path);
    let new = text.trim_end();
    if new == body.trim_end() {
        return Outcome::ok(id, format!("#{id}: body unchanged"));
    }
    Outcome {
        body: Some(new.to_string()),
        ..Outcome::ok(id, format!("#{id}: body edited"))
    }
}

/// A new file only this user can read, for an issue's body.
fn private_file(id: i64) -> std::io::Result<(PathBuf, std::fs::File)> {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let mut n = 0u32;
    loop {
        let path = dir.join(format!("autopilot-issue-{id}-{pid}-{n}.md"));
        // create_new: never follows or reuses a file someone else put there.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
