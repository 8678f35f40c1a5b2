//! `[templates]`: which prompt template an issue's runs get by default (`default = "NAME"`)
//! and per kind (`bug = "bugfix"`), and where template files are found.

use anyhow::bail;

use super::{user_config_file, Config, FileConfig};
use crate::domain::Kind;
use crate::runner::templates::TemplateSet;

/// Refuses keys that are neither `default` nor a kind, and values that are not template names
/// (whether the files exist is checked when a run starts: they may be added later).
pub(super) fn check(f: &FileConfig, name: &dyn Fn(&str) -> String) -> anyhow::Result<()> {
    for (key, value) in &f.templates {
        if key != "default" && key.parse::<Kind>().is_err() {
            bail!(
                "{}: {key:?} is neither `default` nor a kind ({})",
                name("[templates]"),
                Kind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        crate::domain::template::check_name(value)
            .map_err(|e| anyhow::anyhow!("{}: {e}", name(&format!("[templates] {key}"))))?;
    }
    Ok(())
}

/// Lays `top`'s `[templates]` keys over `base`'s, one by one.
pub(super) fn merge(base: &mut FileConfig, top: &FileConfig) {
    for (k, v) in &top.templates {
        base.templates.insert(k.clone(), v.clone());
    }
}

impl Config {
    /// The templates: the repository's `.autopilot/templates/`, then `templates/` beside the
    /// user's config file, with `[templates]`.
    pub fn templates(&self) -> TemplateSet {
        let mut dirs = vec![("repo", self.paths.state_dir.join("templates"))];
        let env = |k: &str| std::env::var(k).ok();
        if let Some(dir) = user_config_file(&env)
            .as_deref()
            .and_then(std::path::Path::parent)
        {
            dirs.push(("user", dir.join("templates")));
        }
        TemplateSet {
            dirs,
            config: self.file.templates.clone(),
        }
    }
}
