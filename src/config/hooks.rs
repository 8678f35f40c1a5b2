//! `[notify]` (a command and a terminal notice when an issue needs a person) and `[worktree]`
//! (files copied into a new worktree and a setup command run there before the first agent).

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

use super::FileConfig;
use crate::domain::sanitize::one_line;
use crate::runner::notify::Notify;
use crate::runner::setup::WorktreeSetup;

/// `[notify]`: how people who are not looking at the board hear that an issue needs them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    /// A shell command run on blocked, in_review, failed, stopped and budget events.
    pub command: Option<String>,
    /// Seconds the command may run before it is killed (default 10).
    pub timeout_seconds: Option<u64>,
    /// Send a terminal notification through the TUI: `true` or `"9"` (OSC 9), `"777"`
    /// (OSC 777), `false` (none).
    pub osc: Option<OscValue>,
}

/// `[notify] osc` as written: a switch, or the escape sequence's number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OscValue {
    /// `true` (OSC 9) or `false`.
    Flag(bool),
    /// `"9"` or `"777"`.
    Name(String),
}

/// Which terminal notification the TUI sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OscStyle {
    /// `ESC ] 9 ; text BEL`: iTerm2, kitty, WezTerm, Ghostty, Windows Terminal.
    Nine,
    /// `ESC ] 777 ; notify ; title ; text BEL`: foot, rxvt-unicode, Ghostty, WezTerm.
    SevenSevenSeven,
}

impl NotifySection {
    /// The terminal notification to send, if any (the value was checked on load).
    pub fn osc_style(&self) -> Option<OscStyle> {
        match self.osc.as_ref()? {
            OscValue::Flag(true) => Some(OscStyle::Nine),
            OscValue::Flag(false) => None,
            OscValue::Name(n) if n == "777" => Some(OscStyle::SevenSevenSeven),
            OscValue::Name(_) => Some(OscStyle::Nine),
        }
    }
}

/// `[worktree]`: what a new worktree gets before the agent first runs in it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorktreeSection {
    /// Untracked files or directories, relative to the repository root, copied into it.
    pub copy: Option<Vec<PathBuf>>,
    /// A shell command run in it; a failure blocks the issue.
    pub setup: Option<String>,
    /// Seconds the setup command may run (default 600; 0: no limit).
    pub setup_timeout_seconds: Option<u64>,
}

/// Lays the `[notify]` and `[worktree]` fields `top` sets over `base`.
pub(super) fn merge(base: &mut FileConfig, top: &FileConfig) {
    let (n, w) = (&top.notify, &top.worktree);
    if n.command.is_some() {
        base.notify.command.clone_from(&n.command);
    }
    if n.timeout_seconds.is_some() {
        base.notify.timeout_seconds = n.timeout_seconds;
    }
    if n.osc.is_some() {
        base.notify.osc.clone_from(&n.osc);
    }
    if w.copy.is_some() {
        base.worktree.copy.clone_from(&w.copy);
    }
    if w.setup.is_some() {
        base.worktree.setup.clone_from(&w.setup);
    }
    if w.setup_timeout_seconds.is_some() {
        base.worktree.setup_timeout_seconds = w.setup_timeout_seconds;
    }
}

/// Refuses `[worktree] copy` paths that leave the repository (absolute, `..`) or are empty:
/// a copy must never read outside the repository nor write outside the worktree.
pub(super) fn check(file: &FileConfig, name: &dyn Fn(&str) -> String) -> anyhow::Result<()> {
    for p in file.worktree.copy.iter().flatten() {
        if let Err(why) = relative_inside(p) {
            bail!(
                "{} entry {:?}: {why}",
                name("[worktree] copy"),
                one_line(&p.to_string_lossy())
            );
        }
    }
    if let Some(OscValue::Name(n)) = &file.notify.osc {
        if n != "9" && n != "777" {
            bail!(
                "{} = {:?}: use true (OSC 9), \"777\" (OSC 777) or false",
                name("[notify] osc"),
                one_line(n)
            );
        }
    }
    if file
        .notify
        .command
        .as_deref()
        .is_some_and(|c| c.trim().is_empty())
    {
        bail!("{}: the command is empty", name("[notify] command"));
    }
    Ok(())
}

/// Whether `p` is a relative path that stays inside the directory it is joined to.
fn relative_inside(p: &Path) -> Result<(), &'static str> {
    if p.as_os_str().is_empty() {
        return Err("an empty path");
    }
    for c in p.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err("`..` would leave the repository"),
            Component::RootDir | Component::Prefix(_) => {
                return Err("an absolute path; give it relative to the repository root")
            }
        }
    }
    if p.components().all(|c| c == Component::CurDir) {
        return Err("the repository itself, not a file in it");
    }
    Ok(())
}

/// `[notify]` as the runner uses it.
pub(super) fn notify(file: &FileConfig) -> Notify {
    Notify {
        command: file.notify.command.clone().filter(|c| !c.trim().is_empty()),
        timeout: Duration::from_secs(file.notify.timeout_seconds.unwrap_or(10).max(1)),
    }
}

/// `[worktree]` as the runner uses it.
pub(super) fn worktree(file: &FileConfig) -> WorktreeSetup {
    let w = &file.worktree;
    WorktreeSetup {
        copy: w.copy.clone().unwrap_or_default(),
        setup: w.setup.clone().filter(|c| !c.trim().is_empty()),
        timeout: match w.setup_timeout_seconds.unwrap_or(600) {
            0 => None,
            s => Some(Duration::from_secs(s)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_paths_must_stay_inside_the_repository() {
        for bad in ["../x", "/etc/passwd", "a/../../b", "", ".", "./"] {
            assert!(relative_inside(Path::new(bad)).is_err(), "{bad:?}");
        }
        for good in [".env", "config/local.toml", "./a/b", "dir"] {
            assert!(relative_inside(Path::new(good)).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn osc_is_a_switch_or_the_sequence_number() {
        let style = |v: &str| {
            let file: FileConfig =
                toml::from_str(&format!("[notify]\nosc = {v}\n")).unwrap_or_default();
            (
                file.notify.osc_style(),
                check(&file, &|f| f.to_string()).is_ok(),
            )
        };
        assert_eq!(style("true"), (Some(OscStyle::Nine), true));
        assert_eq!(style("false"), (None, true));
        assert_eq!(style("\"9\""), (Some(OscStyle::Nine), true));
        assert_eq!(style("\"777\""), (Some(OscStyle::SevenSevenSeven), true));
        assert!(!style("\"99\"").1);
    }

    #[test]
    fn a_bad_copy_path_is_an_error_naming_the_setting_and_the_path() {
        let text = "[worktree]\ncopy = [\".env\", \"../secrets\"]\n";
        let file: FileConfig = toml::from_str(text).unwrap_or_default();
        let err = check(&file, &|f| format!("autopilot.toml: {f}"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("[worktree] copy"), "{err}");
        assert!(err.contains("../secrets"), "{err}");
    }
}
