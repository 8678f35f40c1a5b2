//! Deciding what a finished run means, from what the agent said and did. Pure, so every branch
//! is tested without a process.

use super::agent::{AgentEvent, AgentResult};
use crate::domain::Tokens;

/// Everything observed during one agent run.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Whether the agent reported a session start.
    pub saw_init: bool,
    /// The agent's session id.
    pub session_id: Option<String>,
    /// The closing result, if one was printed.
    pub result: Option<AgentResult>,
    /// Text blocks of the latest assistant message (its last 64 KiB).
    pub last_message: std::collections::VecDeque<String>,
    last_message_id: Option<String>,
    last_message_bytes: usize,
    /// The last few plain text lines (adapters without messages).
    pub recent_text: std::collections::VecDeque<String>,
    /// API errors the agent reported.
    pub api_errors: Vec<String>,
    /// Assistant responses seen so far (a live turn count; the result has the final one).
    pub turns: i64,
    last_turn_id: Option<String>,
    /// Tokens of the responses before the current one.
    earlier_tokens: Tokens,
    /// The current response and its tokens (the CLI repeats them on each of its blocks).
    current_usage: Option<(Option<String>, Tokens)>,
    /// The model the session started with, or the last response named.
    model: Option<String>,
}

const RECENT_TEXT_LINES: usize = 40;
/// Most text kept of the latest message (its tail): the final summary, never a whole flood.
const LAST_MESSAGE_BYTES: usize = 64 << 10;

impl Observed {
    /// Folds one event in (taking it: a flood's text is moved, never copied).
    pub fn observe(&mut self, event: AgentEvent) {
        if let AgentEvent::Text {
            message_id: Some(id),
            ..
        }
        | AgentEvent::ToolUse {
            message_id: Some(id),
            ..
        } = &event
        {
            if self.last_turn_id.as_ref() != Some(id) {
                self.turns += 1;
                self.last_turn_id = Some(id.clone());
            }
        }
        match event {
            AgentEvent::Init {
                session_id, model, ..
            } => {
                self.saw_init = true;
                self.model = model.or(self.model.take());
                if !session_id.is_empty() {
                    self.session_id = Some(session_id);
                }
            }
            AgentEvent::Text { message_id, text } => {
                let plain = message_id.is_none();
                if plain || message_id != self.last_message_id {
                    self.last_message.clear();
                    self.last_message_bytes = 0;
                    self.last_message_id = message_id;
                }
                // Plain-text agents have no messages: their question may be any recent line.
                if plain {
                    self.recent_text.push_back(text.clone());
                    if self.recent_text.len() > RECENT_TEXT_LINES {
                        self.recent_text.pop_front();
                    }
                }
                self.last_message_bytes += text.len();
                self.last_message.push_back(text);
                while self.last_message_bytes > LAST_MESSAGE_BYTES && self.last_message.len() > 1 {
                    if let Some(dropped) = self.last_message.pop_front() {
                        self.last_message_bytes -= dropped.len();
                    }
                }
            }
            AgentEvent::ApiError(text) => self.api_errors.push(text),
            AgentEvent::Usage {
                message_id,
                model,
                tokens,
            } => {
                let same = matches!(&self.current_usage, Some((id, _)) if id.is_some() && *id == message_id);
                if !same {
                    if let Some((_, done)) = self.current_usage.take() {
                        self.earlier_tokens += done;
                    }
                }
                self.current_usage = Some((message_id, tokens));
                if model.is_some() {
                    self.model = model;
                }
            }
            AgentEvent::Result(r) => {
                if r.session_id.is_some() {
                    self.session_id.clone_from(&r.session_id);
                }
                self.result = Some(r);
            }
            _ => {}
        }
    }

    /// The run's tokens: the result's totals, else the sum over the responses seen (each
    /// counted once), else `None` when the agent reported none.
    pub fn tokens(&self) -> Option<Tokens> {
        if let Some(t) = self.result_usage().and_then(|u| u.tokens) {
            return Some(t);
        }
        let (_, current) = self.current_usage.as_ref()?;
        let mut sum = self.earlier_tokens;
        sum += *current;
        Some(sum)
    }

    /// The run's model: the one the result says cost the most, else the one last seen.
    pub fn model(&self) -> Option<String> {
        self.result_usage()
            .and_then(|u| u.model.clone())
            .or_else(|| self.model.clone())
    }

    /// Each model's share, when the result reported several.
    pub fn by_model(&self) -> Vec<crate::domain::ModelTokens> {
        self.result_usage()
            .map(|u| u.by_model.clone())
            .unwrap_or_default()
    }

    fn result_usage(&self) -> Option<&crate::domain::RunUsage> {
        self.result.as_ref().and_then(|r| r.usage.as_deref())
    }

    /// The agent's final words: the last message, or the result text.
    pub fn final_text(&self) -> String {
        let joined = Vec::from_iter(self.last_message.iter().map(String::as_str)).join("\n\n");
        if joined.trim().is_empty() {
            self.result
                .as_ref()
                .and_then(|r| r.text.clone())
                .unwrap_or_default()
        } else {
            joined
        }
    }

    /// The question after `BLOCKED:`, if the final answer (or any recent plain line) has one.
    pub fn blocked_question(&self) -> Option<String> {
        let candidates = [
            self.final_text(),
            self.result
                .as_ref()
                .and_then(|r| r.text.clone())
                .unwrap_or_default(),
        ];
        // A plain-text agent's question is its newest `BLOCKED:` line and the lines after it
        // (its `NEEDS:` lines).
        let recent = Vec::from_iter(self.recent_text.iter().map(String::as_str));
        let newest = recent.iter().rposition(|t| find_blocked(t).is_some());
        candidates
            .iter()
            .find_map(|t| find_blocked(t))
            .or_else(|| newest.and_then(|i| find_blocked(&recent[i..].join("\n"))))
    }
}

/// Recognises a rate or usage limit in a failed result or the API errors before it.
fn rate_limited(obs: &Observed) -> Option<Verdict> {
    let result = obs.result.as_ref().filter(|r| r.is_error)?;
    let mut texts: Vec<String> = obs.api_errors.clone();
    texts.extend(result.text.clone());
    texts.extend(result.errors.iter().cloned());
    let joined = texts.join("\n");
    let lower = joined.to_ascii_lowercase();
    let limited = result.api_error_status == Some(429)
        || lower.contains("rate_limit_error")
        || lower.contains("rate limit")
        || lower.contains("usage limit");
    if !limited {
        return None;
    }
    // Claude's usage-limit message ends with `|<epoch seconds>` when it knows the reset time.
    let resets_at = joined.split('|').skip(1).find_map(|part| {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        (digits.len() == 10)
            .then(|| digits.parse::<i64>().ok().map(|s| s * 1000))
            .flatten()
    });
    let message = joined
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("rate limited")
        .trim()
        .to_string();
    Some(Verdict::RateLimited { message, resets_at })
}

/// The longest a rate or usage limit holds the queue, whatever reset time the agent printed:
/// a garbled or hostile one (`|9999999999`, the year 2286) must not hold every runner for
/// centuries. Limits reset within hours; a hold is re-taken if the limit still applies.
/// `autopilot-tui resume` (or `p` in the TUI) lifts a hold at any time.
pub const MAX_RATE_LIMIT_HOLD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// How long the queue waits after a rate limit, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// When claiming starts again (epoch ms).
    pub until: i64,
    /// The reason stored with the hold (shown by `doctor` and the TUI).
    pub reason: String,
    /// Set when the agent's reset time was beyond [`MAX_RATE_LIMIT_HOLD`] and was cut to it.
    pub clamped: Option<String>,
}

/// The hold after a rate limit at `now`: until the reset time the agent gave, else for
/// `backoff`; never longer than [`MAX_RATE_LIMIT_HOLD`], and the reason says when it was cut.
pub fn rate_limit_hold(
    message: &str,
    resets_at: Option<i64>,
    now: i64,
    backoff: std::time::Duration,
) -> Hold {
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let latest = now.saturating_add(ms(MAX_RATE_LIMIT_HOLD));
    let wanted = resets_at
        .filter(|t| *t > now)
        .unwrap_or_else(|| now.saturating_add(ms(backoff)));
    let clamped = (wanted > latest).then(|| {
        format!(
            "the reset time the agent gave, {}, is more than {} hours away: the hold ends after {} hours instead",
            crate::domain::format_millis(wanted),
            MAX_RATE_LIMIT_HOLD.as_secs() / 3600,
            MAX_RATE_LIMIT_HOLD.as_secs() / 3600,
        )
    });
    let mut reason = format!(
        "rate limited: {}",
        crate::domain::sanitize::strip_all(message)
    );
    if let Some(note) = &clamped {
        reason.push_str(&format!(" ({note})"));
    }
    Hold {
        until: wanted.min(latest),
        reason,
        clamped,
    }
}

fn find_blocked(text: &str) -> Option<String> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line
            .trim_start()
            .trim_start_matches(['*', '_', '`', '>', ' ']);
        if let Some(rest) = trimmed.strip_prefix("BLOCKED:") {
            let tail = &text[offset + line.len()..];
            let question = format!(
                "{}{}",
                rest.trim(),
                if tail.trim().is_empty() {
                    String::new()
                } else {
                    format!("\n{}", tail.trim_end())
                }
            );
            let question = question
                .trim()
                .trim_end_matches(['*', '_', '`'])
                .trim()
                .to_string();
            return Some(if question.is_empty() {
                "(the agent gave no question text)".into()
            } else {
                question
            });
        }
        offset += line.len();
    }
    None
}

/// The result subtype of Claude Code stopping at its `--max-budget-usd`.
const BUDGET_STOP: &str = "error_max_budget_usd";

/// What a run amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A person or a limit stopped it.
    Stopped(String),
    /// Claude Code stopped itself at `--max-budget-usd`; the text says what it reported.
    OverBudget(String),
    /// The API refused for rate or usage limits: the whole queue should wait, not this issue.
    RateLimited {
        /// What the agent said.
        message: String,
        /// When the limit resets (epoch ms), when the agent said so.
        resets_at: Option<i64>,
    },
    /// The agent failed; the text says how.
    Failed(String),
    /// The agent asked this.
    Blocked(String),
    /// There are changes to commit; the text is the agent's summary.
    Implemented(String),
    /// Neither changes nor a question; the agent's last words.
    NoChanges(String),
}

/// Decides a run's verdict. Order matters: a stop wins, then failure, then a question, then
/// changes. `expects_result` is false for adapters that never print a result line.
pub fn decide(
    obs: &Observed,
    exit_code: Option<i32>,
    stopped: Option<String>,
    has_changes: bool,
    expects_result: bool,
) -> Verdict {
    if let Some(why) = stopped {
        return Verdict::Stopped(why);
    }
    if let Some(limited) = rate_limited(obs) {
        return limited;
    }
    if let Some(r) = obs.result.as_ref().filter(|r| r.subtype == BUDGET_STOP) {
        let mut said = r.errors.join("; ");
        if let Some(usd) = r.cost_usd {
            said = format!("{said} (reported cost ${usd:.2})");
        }
        return Verdict::OverBudget(said.trim().to_string());
    }
    let result_error = obs.result.as_ref().filter(|r| r.is_error).map(|r| {
        let mut parts = Vec::new();
        if let Some(t) = r.text.as_ref().filter(|t| !t.is_empty()) {
            parts.push(t.clone());
        }
        parts.extend(r.errors.iter().cloned());
        if parts.is_empty() {
            parts.extend(obs.api_errors.iter().cloned());
        }
        let detail = if parts.is_empty() {
            String::new()
        } else {
            format!(": {}", parts.join("; "))
        };
        format!("the agent reported an error ({}){detail}", r.subtype)
    });
    if let Some(e) = result_error {
        return Verdict::Failed(e);
    }
    match exit_code {
        Some(0) => {}
        Some(code) => return Verdict::Failed(format!("the agent exited with status {code}")),
        None => return Verdict::Failed("the agent was killed by a signal".into()),
    }
    if expects_result && obs.result.is_none() {
        return Verdict::Failed(
            "the agent exited without printing a result line (its output ended early)".into(),
        );
    }
    if let Some(q) = obs.blocked_question() {
        return Verdict::Blocked(q);
    }
    if has_changes {
        return Verdict::Implemented(obs.final_text());
    }
    Verdict::NoChanges(obs.final_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::agent::claude::parse_line;
    use crate::runner::agent::AgentResult;

    #[test]
    fn claude_stopping_at_its_budget_is_over_budget_not_failed() {
        let mut obs = Observed::default();
        let line = br#"{"type":"result","subtype":"error_max_budget_usd","is_error":true,"errors":["Reached maximum budget ($0.5)"],"total_cost_usd":0.61,"num_turns":3}"#;
        for ev in parse_line(line) {
            obs.observe(ev);
        }
        assert_eq!(
            decide(&obs, Some(1), None, true, true),
            Verdict::OverBudget("Reached maximum budget ($0.5) (reported cost $0.61)".into())
        );
    }

    fn observe_fixture(name: &str) -> Observed {
        let path = format!(
            "{}/tests/fixtures/claude-stream-json/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let data = std::fs::read(path).unwrap();
        let mut obs = Observed::default();
        for line in data.split(|b| *b == b'\n') {
            for ev in parse_line(line) {
                obs.observe(ev);
            }
        }
        obs
    }

    #[test]
    fn fixtures_give_the_expected_verdicts() {
        let obs = observe_fixture("implement.jsonl");
        assert_eq!(
            obs.session_id.as_deref(),
            Some("062e0f85-25fa-426a-8285-726f28fd0e90")
        );
        assert_eq!(
            decide(&obs, Some(0), None, true, true),
            Verdict::Implemented("Implemented hello.txt.".into())
        );
        assert_eq!(
            decide(&obs, Some(0), None, false, true),
            Verdict::NoChanges("Implemented hello.txt.".into())
        );

        let obs = observe_fixture("blocked.jsonl");
        assert_eq!(
            decide(&obs, Some(0), None, false, true),
            Verdict::Blocked("Which database should the cache use, Redis or Postgres?".into())
        );

        let obs = observe_fixture("error.jsonl");
        match decide(&obs, Some(1), None, false, true) {
            Verdict::Failed(e) => assert!(e.contains("API Error: 500"), "{e}"),
            other => panic!("{other:?}"),
        }

        let obs = observe_fixture("slow.jsonl");
        assert_eq!(
            obs.final_text(),
            "line 1\n\nline 2\n\nline 3\n\nline 4\n\nline 5"
        );
    }

    #[test]
    fn turns_are_counted_live_from_message_ids() {
        let obs = observe_fixture("implement.jsonl");
        assert_eq!(
            obs.turns, 2,
            "text+tool in one response, then the final text"
        );
        assert_eq!(obs.result.as_ref().and_then(|r| r.turns), Some(2));
        assert_eq!(observe_fixture("slow.jsonl").turns, 1);
    }

    #[test]
    fn stops_and_bad_exits_win() {
        let obs = observe_fixture("blocked.jsonl");
        assert_eq!(
            decide(&obs, None, Some("stopped by alice".into()), true, true),
            Verdict::Stopped("stopped by alice".into())
        );
        assert!(
            matches!(decide(&obs, Some(143), None, true, true), Verdict::Failed(e) if e.contains("143"))
        );
        assert!(
            matches!(decide(&obs, None, None, true, true), Verdict::Failed(e) if e.contains("signal"))
        );
        let empty = Observed::default();
        assert!(
            matches!(decide(&empty, Some(0), None, true, true), Verdict::Failed(e) if e.contains("without printing a result"))
        );
        assert!(matches!(
            decide(&empty, Some(0), None, true, false),
            Verdict::Implemented(_)
        ));
    }

    #[test]
    fn rate_and_usage_limits_are_recognised() {
        let mut obs = Observed::default();
        obs.observe(AgentEvent::Result(AgentResult {
            is_error: true,
            api_error_status: Some(429),
            text: Some("API Error: 429 rate_limit_error".into()),
            ..AgentResult::default()
        }));
        assert!(matches!(
            decide(&obs, Some(1), None, false, true),
            Verdict::RateLimited {
                resets_at: None,
                ..
            }
        ));
        let mut obs = Observed::default();
        obs.observe(AgentEvent::Result(AgentResult {
            is_error: true,
            text: Some("Claude AI usage limit reached|1900000000".into()),
            ..AgentResult::default()
        }));
        assert_eq!(
            decide(&obs, Some(1), None, false, true),
            Verdict::RateLimited {
                message: "Claude AI usage limit reached|1900000000".into(),
                resets_at: Some(1_900_000_000_000)
            }
        );
        // an ordinary API error is a failure
        let obs = observe_fixture("error.jsonl");
        assert!(matches!(
            decide(&obs, Some(1), None, false, true),
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn a_reset_time_beyond_the_horizon_is_cut_and_says_so() {
        let now = 1_800_000_000_000;
        let backoff = std::time::Duration::from_secs(300);
        let day = 24 * 3_600_000;
        // the year 2286: held for a day, and the reason says why
        let far = rate_limit_hold(
            "usage limit reached|9999999999",
            Some(9_999_999_999_000),
            now,
            backoff,
        );
        assert_eq!(far.until, now + day);
        assert!(far.clamped.is_some());
        assert!(
            far.reason.contains("2286-11-20") && far.reason.contains("24 hours"),
            "{}",
            far.reason
        );
        // a reset within the horizon is kept as given, a past one falls back to the backoff
        let soon = rate_limit_hold("limit", Some(now + 3_600_000), now, backoff);
        assert_eq!((soon.until, soon.clamped), (now + 3_600_000, None));
        assert_eq!(soon.reason, "rate limited: limit");
        assert_eq!(
            rate_limit_hold("limit", Some(now - 1), now, backoff).until,
            now + 300_000
        );
        assert_eq!(
            rate_limit_hold("limit", None, now, backoff).until,
            now + 300_000
        );
        // an absurd backoff is cut too
        let long = rate_limit_hold("limit", None, now, std::time::Duration::from_secs(u64::MAX));
        assert_eq!(long.until, now + day);
    }

    #[test]
    fn one_endless_message_keeps_only_its_tail() {
        let mut obs = Observed::default();
        for i in 0..100_000 {
            obs.observe(AgentEvent::Text {
                message_id: Some("flood".into()),
                text: format!("line {i} {}", "y".repeat(200)),
            });
        }
        let kept: usize = obs.last_message.iter().map(String::len).sum();
        assert!(
            kept <= LAST_MESSAGE_BYTES && kept > LAST_MESSAGE_BYTES / 2,
            "{kept}"
        );
        assert!(obs.final_text().contains("line 99999"));
        assert!(obs.recent_text.is_empty(), "message text is not kept twice");
        for i in 0..1_000 {
            obs.observe(AgentEvent::Text {
                message_id: None,
                text: format!("plain {i}"),
            });
        }
        assert_eq!(obs.recent_text.len(), RECENT_TEXT_LINES);
        assert_eq!(obs.final_text(), "plain 999");
    }

    #[test]
    fn blocked_markers_are_found_in_text() {
        assert_eq!(
            find_blocked("Thinking.\nBLOCKED: Which one?\nA or B"),
            Some("Which one?\nA or B".into())
        );
        assert_eq!(find_blocked("**BLOCKED: which?**"), Some("which?".into()));
        assert_eq!(find_blocked("I am not BLOCKED: at all"), None);
        assert_eq!(
            find_blocked("BLOCKED:"),
            Some("(the agent gave no question text)".into())
        );
    }
}
