//! The editor's prompt template picker: none (`[templates]` decides) or one of the known
//! templates, cycled like the agent and effort pickers.

use crossterm::event::KeyEvent;

use super::{pick, Editor};

impl Editor {
    /// The editor with `names` (the known templates) to pick from; the issue's own template
    /// stays a choice even when its file is gone, so opening and saving changes nothing.
    pub fn with_templates(mut self, names: &[String]) -> Editor {
        let mut choices = names.to_vec();
        if let Some(own) = self.template.as_ref().filter(|t| !names.contains(t)) {
            choices.push(own.clone());
        }
        self.templates = choices;
        self
    }

    /// Selected template (None: `[templates]` for its kind, then the default).
    pub fn template(&self) -> Option<&str> {
        self.template.as_deref()
    }

    /// What the picker offers: none first, then the templates.
    pub fn template_choices(&self) -> impl Iterator<Item = Option<&str>> {
        std::iter::once(None).chain(self.templates.iter().map(|t| Some(t.as_str())))
    }

    pub(super) fn pick_template(&mut self, key: KeyEvent) {
        let choices: Vec<Option<&str>> = self.template_choices().collect();
        let next = pick(&choices, self.template.as_deref(), key).map(str::to_string);
        self.template = next;
    }
}
