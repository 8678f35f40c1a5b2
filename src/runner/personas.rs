//! Personas (`[personas.NAME]`): a role's own instructions, model and effort, and the
//! pipeline (`[pipeline] KIND = [...]`) of personas that run after the implementer. The
//! instructions of `implement`, `plan` and `analyze` are put before the built-in prompt (which
//! keeps the protocol autopilot reads: `BLOCKED:`, `SUBTASK:`, the diagnosis); the reviewer's
//! replace its built-in instructions, as `[review] prompt_file` does (the answer format stays).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::agent::ModelChoice;
use super::error::{self, RunnerError};
use crate::domain::{Effort, Kind};

/// The implementer's role name.
pub const IMPLEMENT: &str = "implement";
/// The reviewer's role name.
pub const REVIEW: &str = "review";
/// The planner's role name (`split`).
pub const PLAN: &str = "plan";
/// The analyst's role name (`[runner] retry = "analyze"`).
pub const ANALYZE: &str = "analyze";
/// The roles autopilot has built-in instructions for; every other persona is custom.
pub const BUILT_IN: &[&str] = &[IMPLEMENT, REVIEW, PLAN, ANALYZE];

/// One persona as the runner uses it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Persona {
    /// Its name: a built-in role or a custom one (`tester`).
    pub name: String,
    /// Its instructions (absolute); read for each run, so edits apply at once.
    pub prompt_file: Option<PathBuf>,
    /// The model its runs use.
    pub model: Option<String>,
    /// The effort its runs use.
    pub effort: Option<Effort>,
}

/// `[personas]` and `[pipeline]` as the runner uses them.
#[derive(Debug, Clone, Default)]
pub struct Personas {
    /// Each configured persona by name.
    pub by_name: BTreeMap<String, Persona>,
    /// Per kind, the steps from the implementer on (`implement`, custom ones, `review`).
    pub pipeline: BTreeMap<Kind, Vec<String>>,
}

impl Personas {
    /// The model and effort of a run of `role`: what `base` chose (an issue's own `--model` and
    /// `--effort`), else the persona's, else the agent's defaults.
    pub fn choice(&self, role: &str, mut base: ModelChoice) -> ModelChoice {
        if let Some(p) = self.by_name.get(role) {
            base.model = base.model.or_else(|| p.model.clone());
            base.effort = base.effort.or(p.effort);
        }
        base
    }

    /// The custom personas that run after the implementer on an issue of `kind`, in order.
    pub fn after_implementer(&self, kind: Kind) -> Vec<&Persona> {
        self.pipeline
            .get(&kind)
            .into_iter()
            .flatten()
            .filter(|s| !BUILT_IN.contains(&s.as_str()))
            .filter_map(|s| self.by_name.get(s))
            .collect()
    }

    /// Whether the reviewer reads an issue of `kind`'s change: its pipeline says so when it has
    /// one, else `[review] agent` (`configured`).
    pub fn reviews(&self, kind: Kind, configured: bool) -> bool {
        match self.pipeline.get(&kind) {
            Some(steps) => steps.iter().any(|s| s == REVIEW),
            None => configured,
        }
    }

    /// Whether anything runs after the checks of an issue of `kind`: custom personas or the
    /// reviewer.
    pub fn after_checks(&self, kind: Kind, configured: bool) -> bool {
        self.reviews(kind, configured) || !self.after_implementer(kind).is_empty()
    }

    /// The instructions of `role`'s persona, read now (`None`: it has none configured).
    pub async fn instructions(&self, role: &str) -> Result<Option<String>, RunnerError> {
        let Some(path) = self.by_name.get(role).and_then(|p| p.prompt_file.clone()) else {
            return Ok(None);
        };
        let what = format!("[personas.{role}] prompt_file");
        error::blocking("persona prompt", move || {
            super::review::reviewer::read_instructions(&path)
        })
        .await?
        .map(Some)
        .map_err(|e| RunnerError::Persona(format!("{what}: {e}")))
    }
}

/// `prompt` with a persona's instructions before it.
pub fn with_instructions(role: &str, text: &str, prompt: String) -> String {
    format!(
        "Your role: {role}. Instructions for this role (follow them while you work on what follows):\n{}\n\n{prompt}",
        text.trim_end()
    )
}

/// An implementer's `prompt` with the template's guidelines and the persona's instructions
/// (`role`) before it, as far as there are any.
pub fn dress(
    name: &str,
    role: Option<&str>,
    guidelines: Option<&super::templates::Loaded>,
    mut prompt: String,
) -> String {
    if let Some(t) = guidelines {
        prompt = super::prompt::with_guidelines(t, prompt);
    }
    match role {
        Some(r) => with_instructions(name, r, prompt),
        None => prompt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn personas() -> Personas {
        let p = |name: &str, model: Option<&str>| Persona {
            name: name.into(),
            model: model.map(Into::into),
            effort: Some(Effort::High),
            ..Persona::default()
        };
        Personas {
            by_name: [
                ("implement".into(), p("implement", Some("opus"))),
                ("tester".into(), p("tester", None)),
            ]
            .into(),
            pipeline: [(
                Kind::Feature,
                vec!["implement".into(), "tester".into(), "review".into()],
            )]
            .into(),
        }
    }

    #[test]
    fn the_issues_own_choice_wins_over_the_personas() {
        let ps = personas();
        let c = ps.choice("implement", ModelChoice::default());
        assert_eq!(
            (c.model.as_deref(), c.effort),
            (Some("opus"), Some(Effort::High))
        );
        let own = ModelChoice {
            model: Some("haiku".into()),
            effort: Some(Effort::Low),
            kind: None,
        };
        let c = ps.choice("implement", own);
        assert_eq!(
            (c.model.as_deref(), c.effort),
            (Some("haiku"), Some(Effort::Low))
        );
        assert_eq!(
            ps.choice("plan", ModelChoice::default()),
            ModelChoice::default()
        );
    }

    #[test]
    fn the_pipeline_decides_per_kind_and_review_falls_back_to_the_setting() {
        let ps = personas();
        let names: Vec<_> = ps
            .after_implementer(Kind::Feature)
            .iter()
            .map(|p| p.name.clone())
            .collect();
        assert_eq!(names, ["tester"]);
        assert!(ps.after_implementer(Kind::Bug).is_empty());
        assert!(ps.reviews(Kind::Feature, false));
        assert!(!ps.reviews(Kind::Bug, false));
        assert!(ps.reviews(Kind::Bug, true));
        assert!(ps.after_checks(Kind::Feature, false));
        assert!(!ps.after_checks(Kind::Bug, false));
    }
}
