//! Configuration: `autopilot.toml` at the repo root over user-wide defaults in the XDG config
//! dir, then environment variables, then flags — each layer overriding the one before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::domain::redact::Redactor;
use crate::domain::sanitize::one_line;
use crate::runner::agent::Adapter;
use crate::runner::review::accept::AcceptSettings;
use crate::runner::review::merge::MergePolicy;
use crate::runner::RunnerSettings;

mod agent;
mod api;
mod budget;
mod github;
mod hooks;
mod paths;
mod personas;
mod prices;
mod retry;
mod store;
mod templates;
pub use agent::AgentSection;
pub use api::{ApiSection, DEFAULT_FEEDBACK_PER_MINUTE, DEFAULT_LISTEN};
pub use budget::{valid_usd, BudgetSection, OnExceed};
pub use github::GithubSection;
pub use hooks::{NotifySection, OscStyle, OscValue, WorktreeSection};
pub use paths::Paths;
pub use personas::PersonaEntry;
pub use prices::PriceEntry;
pub use store::StoreSection;

/// The commented sample printed by `config --sample`.
pub const SAMPLE: &str = include_str!("../autopilot.sample.toml");

/// The file name of the shared repository settings.
pub const REPO_FILE: &str = "autopilot.toml";

/// `[runner]`: slots, polling, leases.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerSection {
    /// Parallel agent slots.
    pub slots: Option<usize>,
    /// Seconds between checks for work made ready by other processes.
    pub poll_seconds: Option<u64>,
    /// Claim lease length in seconds.
    pub lease_seconds: Option<u64>,
    /// Branch new work starts from (default: the repo's current branch).
    pub base_branch: Option<String>,
    /// Interruptions after which an issue is parked in blocked instead of retried.
    pub max_interruptions: Option<i64>,
    /// Wall-clock limit of one run, in minutes (0: none).
    pub max_run_minutes: Option<f64>,
    /// Minutes without agent output after which a run counts as stalled (0: never).
    pub stall_minutes: Option<f64>,
    /// Seconds the queue waits after a rate limit with no reset time.
    pub rate_limit_backoff_seconds: Option<u64>,
    /// Most transcript MiB stored per run.
    pub transcript_cap_mb: Option<u64>,
    /// No new claims while this many issues wait in review (0: no limit).
    pub max_in_review: Option<u32>,
    /// What a failed run does: `none` (block), `same` (run again), `analyze` (diagnose first).
    pub retry: Option<String>,
    /// Retries per claim before the issue blocks (at most 5).
    pub max_retries: Option<u32>,
    /// The failure classes retried.
    pub retry_on: Option<Vec<String>>,
    /// The model of the `analyze` run.
    pub analyze_model: Option<String>,
}

/// `[git]`: commits, pushes, pull requests.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitSection {
    /// Commit author name.
    pub commit_name: Option<String>,
    /// Commit author e-mail.
    pub commit_email: Option<String>,
    /// Push the branch and open a PR with `gh` after a successful run.
    pub push: Option<bool>,
}

/// `[merge]`: how accepting an issue lands its branch on the base.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeSection {
    /// `merge` (default), `squash`, `rebase`, `ff-only` or `none`.
    pub policy: Option<MergePolicy>,
    /// Delete the issue branch once it is merged (default true).
    pub delete_branch: Option<bool>,
    /// Push the base to origin after merging (default false).
    pub push: Option<bool>,
}

/// `[ui]`: look and feel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSection {
    /// Theme name (`default`, `light`, `mono`) or a path to a theme file.
    pub theme: Option<String>,
    /// Capture the mouse (breaks terminal copy/paste, so off by default).
    pub mouse: Option<bool>,
    /// Ring the terminal bell when an agent needs you.
    pub bell: Option<bool>,
    /// Key overrides: action name → keys (`hand_off = ["H"]`).
    pub keys: Option<BTreeMap<String, Vec<String>>>,
}

/// `[redact]`: secrets of the user's own, on top of the built-in patterns.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactSection {
    /// Regular expressions; a group named `secret` limits what is replaced.
    pub patterns: Option<Vec<String>>,
}

/// `[checks]`: completion checks run on every committed change before it goes to review.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksSection {
    /// Shell commands run in the worktree; all must exit 0.
    pub commands: Option<Vec<String>>,
    /// Wall-clock limit of one check command, in minutes (0: none).
    pub timeout_minutes: Option<f64>,
    /// How many times failing checks go back to the agent before the issue blocks.
    pub fix_attempts: Option<u32>,
}

/// `[review]`: an optional reviewer run that reads the change before a person does.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewSection {
    /// Whether a reviewer run reads each change that passed its checks (default false).
    pub agent: Option<bool>,
    /// How many times the reviewer's changes go back to the implementer (default 2).
    pub max_cycles: Option<u32>,
    /// The reviewer's instructions, relative to the repository root (default: built in).
    pub prompt_file: Option<PathBuf>,
}

/// One configuration file, every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `[agent]`.
    #[serde(default)]
    pub agent: AgentSection,
    /// `[runner]`.
    #[serde(default)]
    pub runner: RunnerSection,
    /// `[git]`.
    #[serde(default)]
    pub git: GitSection,
    /// `[ui]`.
    #[serde(default)]
    pub ui: UiSection,
    /// `[merge]`.
    #[serde(default)]
    pub merge: MergeSection,
    /// `[redact]`.
    #[serde(default)]
    pub redact: RedactSection,
    /// `[checks]`.
    #[serde(default)]
    pub checks: ChecksSection,
    /// `[review]`.
    #[serde(default)]
    pub review: ReviewSection,
    /// `[budget]`.
    #[serde(default)]
    pub budget: BudgetSection,
    /// `[api]`.
    #[serde(default)]
    pub api: ApiSection,
    /// `[prices."<model>"]`: token prices over the built-in table.
    #[serde(default)]
    pub prices: BTreeMap<String, PriceEntry>,
    /// `[github]`.
    #[serde(default)]
    pub github: GithubSection,
    /// `[notify]`.
    #[serde(default)]
    pub notify: NotifySection,
    /// `[worktree]`.
    #[serde(default)]
    pub worktree: WorktreeSection,
    /// `[templates]`: `default` and kinds to prompt template names.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    /// `[personas.NAME]`: a role's own instructions, model and effort.
    #[serde(default)]
    pub personas: BTreeMap<String, PersonaEntry>,
    /// `[pipeline]`: per kind, the personas from the implementer on.
    #[serde(default)]
    pub pipeline: BTreeMap<String, Vec<String>>,
    /// `[store]`.
    #[serde(default)]
    pub store: StoreSection,
}

macro_rules! overlay {
    ($base:expr, $top:expr, $($sec:ident . $field:ident),+ $(,)?) => {
        $( if $top.$sec.$field.is_some() { $base.$sec.$field = $top.$sec.$field.clone(); } )+
    };
}

impl FileConfig {
    /// Reads one file; a missing file is an empty config. An invalid `[redact]` pattern is an
    /// error naming the file and the pattern.
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let invalid = || format!("invalid configuration in {}", path.display());
        let mut file: FileConfig = match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).with_context(invalid)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileConfig::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        file.check(&|field| match field.starts_with('[') {
            true => format!("{}: {field}", path.display()),
            false => format!("{}: [runner] {field}", path.display()),
        })?;
        if let Some(patterns) = &file.redact.patterns {
            Redactor::with_patterns(patterns).with_context(invalid)?;
        }
        personas::resolve(&mut file, path.parent().unwrap_or(Path::new(".")));
        Ok(file)
    }

    /// Refuses values that cannot mean anything, rather than quietly reading them as
    /// something else; `name` says where a field was set (a file's key, a variable).
    fn check(&self, name: &dyn Fn(&str) -> String) -> anyhow::Result<()> {
        if let Some(n) = self.runner.slots {
            crate::runner::check_slots(n)
                .map_err(|e| anyhow::anyhow!("{} = {n}: {e}", name("slots")))?;
        }
        if self
            .checks
            .commands
            .iter()
            .flatten()
            .any(|c| c.trim().is_empty())
        {
            bail!("{}: a check command is empty", name("[checks] commands"));
        }
        self.budget.check(name)?;
        retry::check(&self.runner, name)?;
        prices::check(&self.prices, name)?;
        hooks::check(self, name)?;
        templates::check(self, name)?;
        personas::check(self, name)?;
        let limits = [
            ("max_run_minutes", self.runner.max_run_minutes),
            ("stall_minutes", self.runner.stall_minutes),
            ("[checks] timeout_minutes", self.checks.timeout_minutes),
        ];
        for (field, value) in limits {
            if let Some(m) = value.filter(|m| !(m.is_finite() && *m >= 0.0)) {
                bail!(
                    "{} = {m}: a limit is 0 (none) or a positive number of minutes",
                    name(field)
                );
            }
        }
        Ok(())
    }

    /// Lays `top` over `self`: every field `top` sets wins, except redaction patterns, which
    /// add up (a repository's file must not switch off the user's own patterns).
    pub fn merge(mut self, top: &FileConfig) -> FileConfig {
        if let Some(more) = &top.redact.patterns {
            let patterns = self.redact.patterns.get_or_insert_with(Vec::new);
            for p in more {
                if !patterns.contains(p) {
                    patterns.push(p.clone());
                }
            }
        }
        prices::merge(&mut self.prices, &top.prices);
        hooks::merge(&mut self, top);
        templates::merge(&mut self, top);
        personas::merge(&mut self, top);
        overlay!(
            self,
            top,
            agent.kind,
            agent.command,
            agent.model,
            agent.permission_mode,
            agent.max_turns,
            agent.allowed_tools,
            agent.extra_args,
            agent.id,
            agent.models,
            agent.effort,
            agent.fallback_models,
            agent.command_agent,
            runner.slots,
            runner.poll_seconds,
            runner.lease_seconds,
            runner.base_branch,
            runner.max_interruptions,
            runner.max_run_minutes,
            runner.stall_minutes,
            runner.rate_limit_backoff_seconds,
            runner.transcript_cap_mb,
            runner.max_in_review,
            runner.retry,
            runner.max_retries,
            runner.retry_on,
            runner.analyze_model,
            git.commit_name,
            git.commit_email,
            git.push,
            merge.policy,
            merge.delete_branch,
            merge.push,
            github.merge_pr,
            ui.theme,
            ui.mouse,
            ui.bell,
            ui.keys,
            checks.commands,
            checks.timeout_minutes,
            checks.fix_attempts,
            review.agent,
            review.max_cycles,
            review.prompt_file,
            budget.daily_usd,
            budget.per_issue_usd,
            budget.per_run_usd,
            budget.on_exceed,
            api.listen,
            api.token_file,
            store.url,
            store.shared,
            api.feedback,
            api.feedback_per_minute,
        );
        self
    }

    /// The layer made of `AUTOPILOT_*` environment variables.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<FileConfig> {
        fn parsed<T: std::str::FromStr>(
            env: &dyn Fn(&str) -> Option<String>,
            key: &str,
        ) -> anyhow::Result<Option<T>> {
            match env(key).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| anyhow::anyhow!("{key}={v:?} is not a valid value")),
            }
        }
        let text = |key: &str| env(key).filter(|v| !v.is_empty());
        let mut c = FileConfig::default();
        if let Some(cmd) = text("AUTOPILOT_AGENT_COMMAND") {
            c.agent.kind = Some("command".into());
            c.agent.command = Some(cmd);
        }
        if let Some(bin) = text("AUTOPILOT_CLAUDE_BIN") {
            c.agent.kind = Some("claude".into());
            c.agent.command = Some(bin);
        }
        c.agent.model = text("AUTOPILOT_MODEL");
        c.agent.permission_mode = text("AUTOPILOT_PERMISSION_MODE");
        c.agent.max_turns = parsed(env, "AUTOPILOT_MAX_TURNS")?;
        c.agent.id = text("AUTOPILOT_AGENT_ID");
        c.runner.poll_seconds = parsed(env, "AUTOPILOT_POLL_SECONDS")?;
        c.runner.lease_seconds = parsed(env, "AUTOPILOT_LEASE_SECONDS")?;
        c.runner.base_branch = text("AUTOPILOT_BASE_BRANCH");
        c.runner.max_run_minutes = parsed(env, "AUTOPILOT_MAX_RUN_MINUTES")?;
        c.runner.stall_minutes = parsed(env, "AUTOPILOT_STALL_MINUTES")?;
        c.runner.rate_limit_backoff_seconds = parsed(env, "AUTOPILOT_RATE_LIMIT_BACKOFF_SECONDS")?;
        c.runner.transcript_cap_mb = parsed(env, "AUTOPILOT_TRANSCRIPT_CAP_MB")?;
        c.git.commit_name = text("AUTOPILOT_COMMIT_NAME");
        c.git.commit_email = text("AUTOPILOT_COMMIT_EMAIL");
        c.git.push = text("AUTOPILOT_PUSH").map(|v| matches!(v.as_str(), "1" | "true" | "yes"));
        c.ui.theme = text("AUTOPILOT_THEME");
        c.merge.policy = parsed(env, "AUTOPILOT_MERGE_POLICY")?;
        c.store.shared = store::shared_env(&text);
        c.check(&|field| format!("AUTOPILOT_{}", field.to_ascii_uppercase()))?;
        Ok(c)
    }
}

/// Who a person is on comments, moves and events: `AUTOPILOT_USER`, else `USER`, else
/// `human` (the CLI and the TUI must agree, or the TUI toasts the user's own actions). Control
/// sequences and newlines are removed: the name is printed to terminals and stored.
pub fn user_name(env: &dyn Fn(&str) -> Option<String>) -> String {
    ["AUTOPILOT_USER", "USER"]
        .iter()
        .find_map(|k| env(k).map(|u| one_line(&u)).filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "human".into())
}

/// The user-wide config file (`$AUTOPILOT_CONFIG_HOME/config.toml`, else the XDG config dir).
pub fn user_config_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(home) = env("AUTOPILOT_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(home).join("config.toml"));
    }
    if let Some(xdg) = env("XDG_CONFIG_HOME").filter(|v| v.starts_with('/')) {
        return Some(PathBuf::from(xdg).join("autopilot-tui").join("config.toml"));
    }
    directories::BaseDirs::new().map(|b| b.home_dir().join(".config/autopilot-tui/config.toml"))
}

/// A limit in (possibly fractional) minutes; zero means none (negative values are refused when
/// the configuration is read).
fn minutes(m: f64) -> Option<std::time::Duration> {
    (m.is_finite() && m > 0.0).then(|| std::time::Duration::from_secs_f64((m * 60.0).min(1e9)))
}

/// A reviewer whose instructions cannot be read would fail every review: with `[review] agent
/// = true`, the `prompt_file` must be a readable UTF-8 file when the configuration is loaded
/// (it is read again for each review, so edits apply at once).
fn check_reviewer_prompt(review: &ReviewSection, repo_root: &Path) -> anyhow::Result<()> {
    let (Some(true), Some(file)) = (review.agent, review.prompt_file.as_ref()) else {
        return Ok(());
    };
    let path = repo_root.join(file);
    crate::runner::review::reviewer::read_instructions(&path).map_err(|e| {
        anyhow::anyhow!(
            "[review] prompt_file = {:?}: {e}",
            one_line(&file.to_string_lossy())
        )
    })?;
    Ok(())
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The merged layers.
    pub file: FileConfig,
    /// Repository layout.
    pub paths: Paths,
    /// The built-in secret patterns plus `[redact] patterns` of every layer.
    pub redactor: std::sync::Arc<Redactor>,
}

impl Config {
    /// Loads user file < repo file < environment, for the repo at `paths`.
    pub fn load(mut paths: Paths, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let user = match user_config_file(env) {
            Some(p) => FileConfig::load(&p)?,
            None => FileConfig::default(),
        };
        let repo = FileConfig::load(&paths.repo_root.join(REPO_FILE))?;
        let file = user.merge(&repo).merge(&FileConfig::from_env(env)?);
        check_reviewer_prompt(&file.review, &paths.repo_root)?;
        personas::check_merged(&file)?;
        store::apply_url(&mut paths, &file.store)?;
        store::check_shared(&file.store, &paths.db)?;
        let redactor = match &file.redact.patterns {
            Some(patterns) if !patterns.is_empty() => {
                std::sync::Arc::new(Redactor::with_patterns(patterns)?)
            }
            _ => Redactor::builtin(),
        };
        Ok(Config {
            file,
            paths,
            redactor,
        })
    }

    /// Agent identity: configured, else `<host>` (the slot number is appended per slot);
    /// printable, on one line, as it is shown and stored everywhere.
    pub fn agent_id(&self) -> String {
        self.file
            .agent
            .id
            .as_deref()
            .map(one_line)
            .filter(|id| !id.is_empty())
            .or_else(crate::sys::machine_name)
            .unwrap_or_else(|| "autopilot".into())
    }

    /// The runner settings, with `slots` from a flag when given.
    pub fn runner_settings(&self, slots: Option<usize>) -> RunnerSettings {
        let f = &self.file;
        RunnerSettings {
            repo_root: self.paths.repo_root.clone(),
            worktrees: self.paths.worktrees.clone(),
            db: self.paths.db.clone(),
            slots: slots
                .or(f.runner.slots)
                .unwrap_or(1)
                .clamp(1, crate::runner::MAX_SLOTS),
            agent_id: self.agent_id(),
            poll: std::time::Duration::from_secs(f.runner.poll_seconds.unwrap_or(15).max(1)),
            watch_store: true,
            lease: std::time::Duration::from_secs(f.runner.lease_seconds.unwrap_or(60).max(3)),
            base_branch: f.runner.base_branch.clone(),
            max_interruptions: f.runner.max_interruptions.unwrap_or(3).max(1),
            commit_name: f
                .git
                .commit_name
                .clone()
                .unwrap_or_else(|| "autopilot agent".into()),
            commit_email: f
                .git
                .commit_email
                .clone()
                .unwrap_or_else(|| "agent@autopilot.local".into()),
            push: f.git.push.unwrap_or(false),
            shared: self.shared_mode(),
            permission_mode: self.permission_mode(),
            max_run: minutes(f.runner.max_run_minutes.unwrap_or(120.0)),
            stall: minutes(f.runner.stall_minutes.unwrap_or(20.0)),
            rate_limit_backoff: std::time::Duration::from_secs(
                f.runner.rate_limit_backoff_seconds.unwrap_or(300).max(1),
            ),
            transcript_cap: f.runner.transcript_cap_mb.unwrap_or(512).max(1) << 20,
            checks: crate::runner::review::checks::Checks {
                commands: f.checks.commands.clone().unwrap_or_default(),
                timeout: minutes(f.checks.timeout_minutes.unwrap_or(15.0)),
                fix_attempts: f.checks.fix_attempts.unwrap_or(2),
            },
            review: crate::runner::review::reviewer::Reviewer {
                agent: f.review.agent.unwrap_or(false),
                max_cycles: f.review.max_cycles.unwrap_or(2),
                // A reviewer persona's instructions win over `[review] prompt_file`.
                prompt_file: f
                    .personas
                    .get(crate::runner::personas::REVIEW)
                    .and_then(|p| p.prompt_file.clone())
                    .or_else(|| {
                        f.review
                            .prompt_file
                            .as_ref()
                            .map(|p| self.paths.repo_root.join(p))
                    }),
            },
            redactor: std::sync::Arc::clone(&self.redactor),
            budget: crate::runner::budget::Budget {
                daily_usd: f.budget.daily_usd,
                per_issue_usd: f.budget.per_issue_usd,
                stop_on_exceed: f.budget.on_exceed == Some(OnExceed::Stop),
                max_in_review: f.runner.max_in_review.filter(|n| *n > 0),
            },
            prices: std::sync::Arc::new(prices::table(&f.prices)),
            per_run_usd: f.budget.per_run_usd,
            notify: hooks::notify(f),
            worktree: hooks::worktree(f),
            templates: self.templates(),
            retry: retry::policy(&f.runner, &f.personas),
            personas: personas::personas(f),
        }
    }

    /// What accepting an issue needs: where, and the `[merge]` settings.
    pub fn accept_settings(&self) -> AcceptSettings {
        let (s, m) = (self.runner_settings(None), &self.file.merge);
        AcceptSettings {
            repo_root: s.repo_root,
            worktrees: s.worktrees,
            db: s.db,
            redactor: s.redactor,
            base_branch: s.base_branch,
            commit_name: s.commit_name,
            commit_email: s.commit_email,
            policy: m.policy.unwrap_or_default(),
            delete_branch: m.delete_branch.unwrap_or(true),
            push: m.push.unwrap_or(false),
            merge_pr: self.file.github.merge_pr.unwrap_or(false),
            shared: s.shared,
        }
    }

    /// The permission mode claude runs under.
    pub fn permission_mode(&self) -> String {
        self.file
            .agent
            .permission_mode
            .clone()
            .unwrap_or_else(|| "bypassPermissions".into())
    }

    /// The configured adapter for reading stored transcripts (`log`, the transcript view),
    /// built without looking for the agent's executable, which rendering never starts.
    pub fn renderer(&self) -> std::sync::Arc<dyn Adapter> {
        crate::runner::agent::renderer(self.file.agent.kind.as_deref())
    }
}

#[cfg(test)]
mod tests;
