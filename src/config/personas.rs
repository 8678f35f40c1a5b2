//! `[personas.NAME]` (a role's own instructions, model and effort) and `[pipeline]` (the
//! personas that run after the implementer, per kind of issue): checked when read, resolved
//! into the runner's [`Personas`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::bail;
use serde::Deserialize;

use super::FileConfig;
use crate::domain::sanitize::one_line;
use crate::domain::{Effort, Kind};
use crate::runner::personas::{Persona, Personas, BUILT_IN, IMPLEMENT, REVIEW};

/// `[personas.NAME]`: one role's settings, every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaEntry {
    /// Its instructions, relative to the directory of the file that sets it (the repository
    /// root for `autopilot.toml`); made absolute when the file is read.
    pub prompt_file: Option<PathBuf>,
    /// The model its runs use (an issue's own `--model` still wins for `implement`).
    pub model: Option<String>,
    /// The effort its runs use (an issue's own `--effort` still wins for `implement`).
    pub effort: Option<Effort>,
}

/// Names the runner gives its own runs, which no persona may take.
const RESERVED: &[&str] = &["check", "setup", "persona"];

/// Whether `name` is a persona name: lower-case letters, digits, `-` and `_`, at most 40.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Makes the relative `prompt_file`s of `f` absolute against `dir`, the directory of the file
/// they were read from.
pub(super) fn resolve(f: &mut FileConfig, dir: &Path) {
    for entry in f.personas.values_mut() {
        if let Some(p) = entry.prompt_file.as_mut().filter(|p| p.is_relative()) {
            *p = dir.join(&*p);
        }
    }
}

/// Refuses what one file's `[personas]` and `[pipeline]` cannot mean (whether the files exist
/// and the pipeline's names are defined is checked on the merged layers: [`check_merged`]).
pub(super) fn check(f: &FileConfig, name: &dyn Fn(&str) -> String) -> anyhow::Result<()> {
    for (persona, entry) in &f.personas {
        let shown = one_line(persona);
        if !valid_name(persona) {
            bail!(
                "{}: {shown:?} is not a persona name (lower-case letters, digits, - and _; at most 40)",
                name("[personas]")
            );
        }
        if RESERVED.contains(&persona.as_str()) {
            bail!(
                "{}: {shown:?} is a name the runner keeps for its own runs",
                name("[personas]")
            );
        }
        let here = |field: &str| name(&format!("[personas.{persona}] {field}"));
        if entry.model.as_ref().is_some_and(|m| m.trim().is_empty()) {
            bail!("{}: the model name is empty", here("model"));
        }
        if entry
            .prompt_file
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            bail!("{}: the path is empty", here("prompt_file"));
        }
    }
    for (kind, list) in &f.pipeline {
        let here = name(&format!("[pipeline] {}", one_line(kind)));
        if kind.parse::<Kind>().is_err() {
            bail!(
                "{}: {:?} is not a kind ({})",
                name("[pipeline]"),
                one_line(kind),
                kinds()
            );
        }
        if list.is_empty() {
            bail!("{here}: the list is empty (leave the kind out for no pipeline)");
        }
        for (n, step) in list.iter().enumerate() {
            let shown = one_line(step);
            if !valid_name(step) {
                bail!("{here}: {shown:?} is not a persona name");
            }
            if list[..n].contains(step) {
                bail!("{here}: {shown:?} is listed twice");
            }
            match step.as_str() {
                IMPLEMENT if n != 0 => bail!("{here}: \"implement\" can only come first"),
                REVIEW if n + 1 != list.len() => {
                    bail!("{here}: \"review\" can only come last (its changes go back to the implementer)")
                }
                s if BUILT_IN.contains(&s) && s != IMPLEMENT && s != REVIEW => {
                    bail!("{here}: {shown:?} is not a step after the implementer (only implement, review and custom personas are)")
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The known kinds, for messages.
fn kinds() -> String {
    Kind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the merged layers: each custom persona has a readable prompt file, every file named
/// exists (said at start-up, with its path), and every pipeline step is defined.
pub(super) fn check_merged(f: &FileConfig) -> anyhow::Result<()> {
    for (persona, entry) in &f.personas {
        match &entry.prompt_file {
            Some(path) => {
                crate::runner::review::reviewer::read_instructions(path).map_err(|e| {
                    anyhow::anyhow!("[personas.{persona}] prompt_file: {}", one_line(&e))
                })?;
            }
            None if !BUILT_IN.contains(&persona.as_str()) => bail!(
                "[personas.{persona}] needs a prompt_file: a custom persona has no built-in instructions"
            ),
            None => {}
        }
    }
    for (kind, list) in &f.pipeline {
        for step in list {
            if !BUILT_IN.contains(&step.as_str()) && !f.personas.contains_key(step) {
                bail!(
                    "[pipeline] {kind}: {:?} is not defined: add [personas.{}] with its prompt_file",
                    one_line(step),
                    one_line(step)
                );
            }
        }
    }
    Ok(())
}

/// Lays `top`'s personas over `base`'s, field by field, and its pipelines kind by kind.
pub(super) fn merge(base: &mut FileConfig, top: &FileConfig) {
    for (name, t) in &top.personas {
        let b = base.personas.entry(name.clone()).or_default();
        if t.prompt_file.is_some() {
            b.prompt_file = t.prompt_file.clone();
        }
        if t.model.is_some() {
            b.model = t.model.clone();
        }
        if t.effort.is_some() {
            b.effort = t.effort;
        }
    }
    for (kind, list) in &top.pipeline {
        base.pipeline.insert(kind.clone(), list.clone());
    }
}

/// The runner's view of the checked settings.
pub(super) fn personas(f: &FileConfig) -> Personas {
    let by_name: BTreeMap<String, Persona> = f
        .personas
        .iter()
        .map(|(name, e)| {
            let p = Persona {
                name: name.clone(),
                prompt_file: e.prompt_file.clone(),
                model: e.model.clone(),
                effort: e.effort,
            };
            (name.clone(), p)
        })
        .collect();
    let pipeline = f
        .pipeline
        .iter()
        .filter_map(|(k, list)| Some((k.parse::<Kind>().ok()?, list.clone())))
        .collect();
    Personas { by_name, pipeline }
}
