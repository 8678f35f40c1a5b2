//! The issue editor (title, body, kind, priority, model, effort, the spending cap, and the
//! rest in tab order: dependencies, agent, template, schedule) and the comment/answer editor.

use crossterm::event::{KeyCode, KeyEvent};
use tui_textarea::TextArea;

use super::{cycle, Hint};
use crate::domain::{AgentKind, Effort, Issue, Kind};
use crate::store::{IssueEdit, NewIssue};
use crate::ui::keymap::{Action, Context, Keymap};
use crate::ui::store_thread::StoreRequest;

/// What an editor is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditorPurpose {
    /// A new issue.
    New,
    /// Editing an issue.
    Edit(i64),
    /// A comment.
    Comment(i64),
    /// Request changes on a reviewed issue.
    RequestChanges(i64),
    /// Answer a blocked question (inline in the inbox).
    Reply(i64),
}

/// Editor fields in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// One-line title.
    Title,
    /// Multi-line body.
    Body,
    /// Kind picker.
    Kind,
    /// Priority number.
    Priority,
    /// One-line model name (empty: the configured default).
    Model,
    /// Effort picker (none: the configured one).
    Effort,
    /// One-line spending cap in US dollars, when editing (empty: `[budget] per_issue_usd`).
    Budget,
    /// The ids of the issues it waits for (`3, 7`).
    Depends,
    /// Agent picker (none: `[agent] kind`).
    Agent,
    /// Prompt template picker (none: `[templates]`).
    Template,
    /// When it may start, as `--at` reads it (empty: any time).
    At,
    /// How often it repeats, as `--every` reads it (empty: never).
    Every,
}

/// What an editor key asks of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditorStep {
    /// The editor took it (text, a field change).
    Typed,
    /// Close without saving.
    Cancel,
    /// Save (see [`Editor::submit`]).
    Save,
}

/// The issue/comment editor.
#[derive(Debug, Clone)]
pub struct Editor {
    purpose: EditorPurpose,
    title: TextArea<'static>,
    body: TextArea<'static>,
    kind: Kind,
    priority: i64,
    model: TextArea<'static>,
    effort: Option<Effort>,
    agent: Option<AgentKind>,
    template: Option<String>,
    /// The known templates the picker offers.
    templates: Vec<String>,
    budget: TextArea<'static>,
    deps: TextArea<'static>,
    /// The dependencies the editor opened with: saving sends only what changed.
    deps_before: Vec<i64>,
    at: TextArea<'static>,
    every: TextArea<'static>,
    /// The schedule's text as the editor opened with it: unchanged, saving leaves it.
    schedule_before: (String, String),
    /// Saved, waiting for the store's answer (a refused dependency comes back here).
    pending: bool,
    field: Field,
    error: Option<String>,
}

/// An editor text box holding `lines`, without the default underline on the cursor's line.
fn text_input(lines: Vec<String>, placeholder: Option<&str>) -> TextArea<'static> {
    let mut input = TextArea::new(lines);
    input.set_cursor_line_style(ratatui::style::Style::default());
    if let Some(text) = placeholder {
        input.set_placeholder_text(text);
    }
    input
}

impl Editor {
    /// An empty editor.
    pub fn new(purpose: EditorPurpose) -> Editor {
        let title = text_input(Vec::new(), Some("title"));
        let body = text_input(
            Vec::new(),
            Some(match purpose {
                EditorPurpose::New | EditorPurpose::Edit(_) => "description (markdown)",
                EditorPurpose::Reply(_) => "your answer",
                _ => "your comment",
            }),
        );
        let field = if Self::has_title(purpose) {
            Field::Title
        } else {
            Field::Body
        };
        Editor {
            purpose,
            title,
            body,
            kind: Kind::Feature,
            priority: 0,
            model: text_input(Vec::new(), Some("default")),
            effort: None,
            agent: None,
            template: None,
            templates: Vec::new(),
            budget: text_input(Vec::new(), Some("none")),
            deps: text_input(Vec::new(), Some("none (ids like 3, 7)")),
            deps_before: Vec::new(),
            at: text_input(Vec::new(), Some(schedule::AT_HINT)),
            every: text_input(Vec::new(), Some(schedule::EVERY_HINT)),
            schedule_before: Default::default(),
            pending: false,
            field,
            error: None,
        }
    }

    /// An editor for an existing issue, filled with it.
    pub fn editing(issue: &Issue) -> Editor {
        let mut ed = Editor::new(EditorPurpose::Edit(issue.id));
        ed.title = text_input(vec![issue.title.clone()], None);
        ed.body = text_input(issue.body.lines().map(str::to_string).collect(), None);
        ed.kind = issue.kind;
        ed.priority = issue.priority;
        ed.model = text_input(issue.model.iter().cloned().collect(), Some("default"));
        ed.model.move_cursor(tui_textarea::CursorMove::End);
        ed.effort = issue.effort;
        ed.agent = issue.agent;
        ed.template.clone_from(&issue.template);
        let cap = issue.budget_usd.map(|v| format!("{v:.2}"));
        ed.budget = text_input(cap.into_iter().collect(), Some("none"));
        ed.budget.move_cursor(tui_textarea::CursorMove::End);
        ed.with_schedule(issue)
    }

    /// The editor with `ids` in its dependency field (what the issue waits for now).
    pub fn with_dependencies(mut self, ids: &[i64]) -> Editor {
        let text = ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        self.deps = text_input(vec![text], Some("none (ids like 3, 7)"));
        self.deps.move_cursor(tui_textarea::CursorMove::End);
        self.deps_before = ids.to_vec();
        self
    }

    /// Dependency input.
    pub fn deps(&self) -> &TextArea<'static> {
        &self.deps
    }

    /// Whether the editor waits for the store's answer to its save.
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// The store refused the save: its message shows here and everything typed stays.
    pub fn refused(&mut self, message: String) {
        self.pending = false;
        self.field = Field::Depends;
        self.error = Some(message);
    }

    /// A comment editor holding `text` already (a quote, a draft), the cursor at its end.
    pub fn prefilled(purpose: EditorPurpose, text: &str) -> Editor {
        let mut ed = Editor::new(purpose);
        ed.fill(text);
        ed
    }

    /// Puts `text` in an untouched body (a draft that arrived after the editor opened);
    /// whether it did. Nothing typed is ever replaced.
    pub fn fill_if_empty(&mut self, text: &str) -> bool {
        if self.body.lines().iter().any(|l| !l.is_empty()) {
            return false;
        }
        self.fill(text);
        true
    }

    fn fill(&mut self, text: &str) {
        self.body = text_input(text.split('\n').map(str::to_string).collect(), None);
        self.body.move_cursor(tui_textarea::CursorMove::Bottom);
        self.body.move_cursor(tui_textarea::CursorMove::End);
    }

    fn has_title(purpose: EditorPurpose) -> bool {
        matches!(purpose, EditorPurpose::New | EditorPurpose::Edit(_))
    }

    /// What saving does.
    pub fn purpose(&self) -> EditorPurpose {
        self.purpose
    }

    /// Title input.
    pub fn title(&self) -> &TextArea<'static> {
        &self.title
    }

    /// Body input.
    pub fn body(&self) -> &TextArea<'static> {
        &self.body
    }

    /// Selected kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Priority.
    pub fn priority(&self) -> i64 {
        self.priority
    }

    /// Model input.
    pub fn model(&self) -> &TextArea<'static> {
        &self.model
    }

    /// Spending cap input.
    pub fn budget(&self) -> &TextArea<'static> {
        &self.budget
    }

    /// Whether the spending cap is a field (it is for issues, not comments).
    pub fn has_budget(&self) -> bool {
        self.is_issue()
    }

    /// Selected effort (None: the configured one).
    pub fn effort(&self) -> Option<Effort> {
        self.effort
    }

    /// Selected agent (None: the configured one).
    pub fn agent(&self) -> Option<AgentKind> {
        self.agent
    }

    /// Focused field.
    pub fn field(&self) -> Field {
        self.field
    }

    /// Validation message.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether this editor has title, kind and priority fields.
    pub fn is_issue(&self) -> bool {
        Self::has_title(self.purpose)
    }

    /// The heading.
    pub fn heading(&self) -> String {
        match self.purpose {
            EditorPurpose::New => "New issue".into(),
            EditorPurpose::Edit(id) => format!("Edit #{id}"),
            EditorPurpose::Comment(id) => format!("Comment on #{id}"),
            EditorPurpose::RequestChanges(id) => format!("Request changes on #{id}"),
            EditorPurpose::Reply(id) => format!("Answer #{id}"),
        }
    }

    fn next_field(&mut self, back: bool) {
        if !self.is_issue() {
            return;
        }
        let mut order = vec![
            Field::Title,
            Field::Body,
            Field::Kind,
            Field::Priority,
            Field::Model,
            Field::Effort,
        ];
        if self.has_budget() {
            order.push(Field::Budget);
        }
        order.extend([Field::Depends, Field::Agent, Field::Template]);
        order.extend([Field::At, Field::Every]);
        self.field = cycle(&order, self.field, back);
    }

    /// A key while the editor is open (`action` is what the editor context binds it to);
    /// unbound keys go to the focused field.
    pub(crate) fn on_key(&mut self, action: Option<Action>, key: KeyEvent) -> EditorStep {
        match action {
            Some(Action::Close) => return EditorStep::Cancel,
            Some(Action::Save) => return EditorStep::Save,
            Some(Action::NextField) => {
                self.next_field(false);
                return EditorStep::Typed;
            }
            Some(Action::PrevField) => {
                self.next_field(true);
                return EditorStep::Typed;
            }
            _ => {}
        }
        self.error = None;
        match self.field {
            Field::Title => {
                // A title is one line: enter moves on to the body.
                if key.code == KeyCode::Enter {
                    self.field = Field::Body;
                } else {
                    self.title.input(key);
                }
            }
            Field::Body => {
                self.body.input(key);
            }
            Field::Kind => self.pick_kind(key),
            Field::Priority => self.edit_priority(key),
            // A model is one word on one line: enter moves on.
            Field::Model if key.code == KeyCode::Enter => self.field = Field::Effort,
            Field::Model => {
                self.model.input(key);
            }
            Field::Effort => self.pick_effort(key),
            Field::Budget if key.code == KeyCode::Enter => {}
            Field::Budget => {
                self.budget.input(key);
            }
            Field::Agent => {
                // None (the configured agent) comes first, before the agents.
                let mut choices = vec![None];
                choices.extend(AgentKind::ALL.iter().copied().map(Some));
                self.agent = pick(&choices, self.agent, key);
            }
            Field::Template => self.pick_template(key),
            Field::Depends | Field::At | Field::Every if key.code == KeyCode::Enter => {}
            Field::Depends => {
                self.deps.input(key);
            }
            Field::At | Field::Every => self.type_schedule(key),
        }
        EditorStep::Typed
    }

    fn pick_kind(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Left | KeyCode::Char('h') => self.kind = cycle(Kind::ALL, self.kind, true),
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Char(' ') => {
                self.kind = cycle(Kind::ALL, self.kind, false)
            }
            KeyCode::Char('f') => self.kind = Kind::Feature,
            KeyCode::Char('b') => self.kind = Kind::Bug,
            KeyCode::Char('c') => self.kind = Kind::Chore,
            KeyCode::Char('F') => self.kind = Kind::Feedback,
            _ => {}
        }
    }

    fn pick_effort(&mut self, key: KeyEvent) {
        // None (the configured effort) comes first, before the levels.
        let mut choices = vec![None];
        choices.extend(Effort::ALL.iter().copied().map(Some));
        self.effort = pick(&choices, self.effort, key);
    }

    fn edit_priority(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Left | KeyCode::Down | KeyCode::Char('-') => self.priority -= 1,
            KeyCode::Right | KeyCode::Up | KeyCode::Char('+') => self.priority += 1,
            KeyCode::Char(c) if c.is_ascii_digit() => {
                let d = i64::from(c.to_digit(10).unwrap_or(0));
                self.priority =
                    (self.priority.abs().saturating_mul(10).saturating_add(d)).min(9_999);
            }
            KeyCode::Backspace => self.priority /= 10,
            _ => {}
        }
    }

    /// The store request saving asks for, or None with the reason shown in the editor.
    pub(crate) fn submit(&mut self, keymap: &Keymap) -> Option<StoreRequest> {
        let title = self.title.lines().join(" ").trim().to_string();
        let body = self.body.lines().join("\n").trim_end().to_string();
        let model = Some(self.model.lines().join("").trim().to_string()).filter(|m| !m.is_empty());
        if self.is_issue() && title.is_empty() {
            self.error = Some("a title is needed".into());
            self.field = Field::Title;
            return None;
        }
        let budget = match budget_text(&self.budget.lines().join("")) {
            Ok(b) => b,
            Err(e) => {
                self.error = Some(e);
                self.field = Field::Budget;
                return None;
            }
        };
        let deps = match dep_ids(&self.deps.lines().join(" "), self.purpose) {
            Ok(d) => d,
            Err(e) => {
                self.error = Some(e);
                self.field = Field::Depends;
                return None;
            }
        };
        let (not_before, every_ms) = self.schedule()?;
        if !self.is_issue() && body.trim().is_empty() {
            let cancel = keymap.label(Context::Editor, Action::Close);
            self.error = Some(format!("write something first ({cancel} cancels)"));
            return None;
        }
        Some(match self.purpose {
            EditorPurpose::New => StoreRequest::Create(NewIssue {
                title,
                body,
                kind: self.kind,
                priority: self.priority,
                ready: false,
                depends_on: deps,
                model,
                effort: self.effort,
                budget_usd: budget,
                parent: None,
                assignee: None,
                agent: self.agent,
                template: self.template.clone(),
                source_url: None,
                not_before: not_before.flatten(),
                every_ms: every_ms.flatten(),
            }),
            EditorPurpose::Edit(id) => {
                let edit = IssueEdit {
                    title: Some(title),
                    body: Some(body),
                    kind: Some(self.kind),
                    priority: Some(self.priority),
                    base: None,
                    model: Some(model),
                    effort: Some(self.effort),
                    budget_usd: Some(budget),
                    parent: None,
                    assignee: None,
                    agent: Some(self.agent),
                    not_before,
                    every_ms,
                    template: Some(self.template.clone()),
                };
                let add: Vec<i64> = deps
                    .iter()
                    .copied()
                    .filter(|d| !self.deps_before.contains(d))
                    .collect();
                let remove: Vec<i64> = self
                    .deps_before
                    .iter()
                    .copied()
                    .filter(|d| !deps.contains(d))
                    .collect();
                if add.is_empty() && remove.is_empty() {
                    StoreRequest::Update(id, edit)
                } else {
                    // Kept open until the store answers: a cycle is only known there.
                    self.pending = true;
                    StoreRequest::UpdateWithDeps {
                        id,
                        edit,
                        add,
                        remove,
                    }
                }
            }
            EditorPurpose::Comment(id) | EditorPurpose::Reply(id) => {
                StoreRequest::Comment(id, body)
            }
            EditorPurpose::RequestChanges(id) => StoreRequest::RequestChanges(id, body),
        })
    }

    /// The hint bar while the editor is open (the field keys only where there are fields).
    pub fn hints(&self, keymap: &Keymap) -> Vec<Hint> {
        let mut actions = vec![Action::Save, Action::Close];
        if self.is_issue() {
            actions.push(Action::NextField);
        }
        actions
            .into_iter()
            .filter_map(|a| keymap.hint(Context::Editor, a))
            .map(|(k, d)| (k, d.to_string()))
            .collect()
    }

    /// `ctrl-s save · esc cancel`, with `verb` for what saving does.
    pub fn keys_line(keymap: &Keymap, verb: &str) -> String {
        format!(
            "{} {verb} · {} cancel",
            keymap.label(Context::Editor, Action::Save),
            keymap.label(Context::Editor, Action::Close)
        )
    }

    /// How to move between the issue editor's fields.
    pub fn fields_line(keymap: &Keymap) -> String {
        format!(
            "{} next field · enter in the title goes to the body",
            keymap.label(Context::Editor, Action::NextField)
        )
    }
}

/// The dependency ids typed in the editor (`3, 7`, `#3 #7`), without repeats; an id that is
/// not a number, or the issue itself, is refused here (a cycle only by the store).
fn dep_ids(text: &str, purpose: EditorPurpose) -> Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    for word in text.split(|c: char| c == ',' || c.is_whitespace()) {
        let word = word.trim();
        if word.is_empty() {
            continue;
        }
        let id = word
            .trim_start_matches('#')
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                format!(
                    "depends on: {:?} is not an issue id (ids like 3, 7)",
                    crate::domain::sanitize::one_line(word)
                )
            })?;
        if purpose == EditorPurpose::Edit(id) {
            return Err(format!(
                "depends on: #{id} cannot depend on itself (it would never be claimed)"
            ));
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The cap typed in the editor: empty (or `none`) for none, else dollars above zero.
fn budget_text(text: &str) -> Result<Option<f64>, String> {
    crate::domain::cap::parse_cap(text).map_err(|crate::domain::cap::NotACap| {
        "budget: a positive number of US dollars, like 5 or 2.50 (empty: none)".into()
    })
}

/// The choice left (←, h) or right (→, l, space) of `current` in `choices`, on a picker key.
fn pick<T: Copy + PartialEq>(choices: &[T], current: T, key: KeyEvent) -> T {
    match key.code {
        KeyCode::Left | KeyCode::Char('h') => cycle(choices, current, true),
        KeyCode::Right | KeyCode::Char('l') | KeyCode::Char(' ') => cycle(choices, current, false),
        _ => current,
    }
}

mod schedule;
mod template;

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "editor_budget_tests.rs"]
mod budget_tests;
