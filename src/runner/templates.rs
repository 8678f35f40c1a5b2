//! Prompt templates: Markdown files `NAME.md` in the repository's `.autopilot/templates/` and
//! the user's `templates/` beside their config file (the repository's win), one of which a
//! run's prompt carries as its "Guidelines" section. Which one: the issue's own, else
//! `[templates]` for its kind, else `[templates] default`, else none. Files are read when a
//! run starts, so edits apply to the next run; a template named by an issue or the
//! configuration that is gone by then is left out and the thread says so (the run goes on:
//! guidelines help, they are not the issue).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::domain::template::check_name;
use crate::domain::Issue;

/// Most bytes of a template inlined into a prompt; the rest is cut with a marker.
pub const TEMPLATE_MAX: usize = 16 << 10;

/// The known templates and which one each issue gets.
#[derive(Debug, Clone, Default)]
pub struct TemplateSet {
    /// Where templates are looked for, first wins: (`repo` or `user`, directory).
    pub dirs: Vec<(&'static str, PathBuf)>,
    /// `[templates]`: `default` and kinds (`bug`, `feature`, …) to template names.
    pub config: BTreeMap<String, String>,
}

/// A template as `templates` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateInfo {
    /// Its name (the file name without `.md`).
    pub name: String,
    /// `repo` or `user`.
    pub source: &'static str,
    /// Its file.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its first non-blank line, printable.
    pub first_line: String,
}

/// A template's text as a prompt carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// Its name.
    pub name: String,
    /// Its text: redacted, without control sequences, capped at [`TEMPLATE_MAX`].
    pub text: String,
}

impl TemplateSet {
    /// The templates found, by name (a repository's hides a user's of the same name); files
    /// whose names are not template names are skipped.
    pub fn list(&self) -> Vec<TemplateInfo> {
        let mut found: BTreeMap<String, TemplateInfo> = BTreeMap::new();
        for (source, dir) in &self.dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Some(name) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".md"))
                else {
                    continue;
                };
                if check_name(name).is_err() || found.contains_key(name) || !path.is_file() {
                    continue;
                }
                let text = read_head(&path);
                found.insert(
                    name.to_string(),
                    TemplateInfo {
                        name: name.to_string(),
                        source,
                        path: path.display().to_string(),
                        bytes: entry.metadata().map(|m| m.len()).unwrap_or(0),
                        first_line: text
                            .lines()
                            .map(crate::domain::sanitize::one_line)
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or_default(),
                    },
                );
            }
        }
        found.into_values().collect()
    }

    /// Checks that `name` is a known template; the error names the known ones.
    pub fn check_known(&self, name: &str) -> Result<(), String> {
        check_name(name)?;
        if self.path_of(name).is_some() {
            return Ok(());
        }
        let known: Vec<String> = self.list().into_iter().map(|t| t.name).collect();
        Err(format!(
            "there is no template {name:?}: {} (templates are NAME.md files in {})",
            if known.is_empty() {
                "there are none yet".to_string()
            } else {
                format!("known: {}", known.join(", "))
            },
            self.dirs
                .iter()
                .map(|(_, d)| d.display().to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        ))
    }

    /// The template `issue` asks for: its own, else `[templates]` for its kind, else the
    /// default (`None`: no template).
    pub fn name_for(&self, issue: &Issue) -> Option<String> {
        issue
            .template
            .clone()
            .or_else(|| self.config.get(issue.kind.as_str()).cloned())
            .or_else(|| self.config.get("default").cloned())
            .filter(|n| !n.is_empty())
    }

    /// The file of template `name`, if there is one.
    fn path_of(&self, name: &str) -> Option<PathBuf> {
        check_name(name).ok()?;
        self.dirs
            .iter()
            .map(|(_, d)| d.join(format!("{name}.md")))
            .find(|p| p.is_file())
    }

    /// Reads template `name` for a prompt, redacted with `red`; the error says why it cannot
    /// be used.
    pub fn load(
        &self,
        name: &str,
        red: &crate::domain::redact::Redactor,
    ) -> Result<Loaded, String> {
        self.check_known(name)?;
        let path = self.path_of(name).ok_or("it is gone")?;
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if text.len() > TEMPLATE_MAX {
            let mut cut = TEMPLATE_MAX;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let left = text.len() - cut;
            text.truncate(cut);
            text.push_str(&format!(
                "\n…[autopilot: {left} more bytes of template {name} left out; templates are capped at {TEMPLATE_MAX} bytes]"
            ));
        }
        let text = red.text(&text);
        Ok(Loaded {
            name: name.to_string(),
            text: crate::domain::sanitize::strip_all(&text),
        })
    }
}

/// The start of a file (enough for its first line), lossily as text.
fn read_head(path: &Path) -> String {
    use std::io::Read;
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(4096).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Kind, Status};

    fn set(repo: &Path, user: &Path) -> TemplateSet {
        TemplateSet {
            dirs: vec![("repo", repo.to_path_buf()), ("user", user.to_path_buf())],
            config: BTreeMap::from([
                ("default".to_string(), "general".to_string()),
                ("bug".to_string(), "bugfix".to_string()),
            ]),
        }
    }

    #[test]
    fn the_repository_wins_and_the_issue_then_kind_then_default_decide() {
        let (repo, user) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::write(repo.path().join("bugfix.md"), "\n# Repo bugfix\nx").unwrap();
        std::fs::write(user.path().join("bugfix.md"), "# User bugfix").unwrap();
        std::fs::write(user.path().join("general.md"), "# General").unwrap();
        std::fs::write(user.path().join("not a name.md"), "x").unwrap();
        let s = set(repo.path(), user.path());
        let list = s.list();
        let names: Vec<(&str, &str, &str)> = list
            .iter()
            .map(|t| (t.name.as_str(), t.source, t.first_line.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("bugfix", "repo", "# Repo bugfix"),
                ("general", "user", "# General")
            ]
        );
        let red = crate::domain::redact::Redactor::builtin();
        assert_eq!(s.load("bugfix", &red).unwrap().text, "\n# Repo bugfix\nx");
        let mut issue = Issue::sample(1, "t", Kind::Bug, Status::Ready);
        assert_eq!(s.name_for(&issue).as_deref(), Some("bugfix"));
        issue.kind = Kind::Feature;
        assert_eq!(s.name_for(&issue).as_deref(), Some("general"));
        issue.template = Some("mine".into());
        assert_eq!(s.name_for(&issue).as_deref(), Some("mine"));
        let e = s.load("mine", &red).unwrap_err();
        assert!(e.contains("known: bugfix, general"), "{e}");
    }

    #[test]
    fn a_huge_hostile_template_is_capped_redacted_and_stripped() {
        let (repo, user) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let text = format!(
            "\u{1b}]52;c;AAAA\u{7}key sk-ant-api03-{}\n{}",
            "a".repeat(40),
            "é".repeat(TEMPLATE_MAX)
        );
        std::fs::write(repo.path().join("big.md"), text).unwrap();
        let red = crate::domain::redact::Redactor::builtin();
        let t = set(repo.path(), user.path()).load("big", &red).unwrap();
        assert!(t.text.len() < TEMPLATE_MAX + 200, "{}", t.text.len());
        assert!(t
            .text
            .contains("left out; templates are capped at 16384 bytes"));
        assert!(!t.text.contains('\u{1b}') && !t.text.contains("aaaaaaaaaa"));
    }
}
