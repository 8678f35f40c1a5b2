//! Secret redaction: the one place that knows what a secret looks like.
//!
//! Agent output, comments, titles and commit messages are stored, committed and maybe pushed.
//! Known secret shapes (API keys, tokens, private keys, `…KEY=`/`…TOKEN=`/`…SECRET=`/
//! `…PASSWORD=` assignments) are replaced by a visible `[REDACTED:kind]` before any of that
//! happens; `[redact] patterns` in the configuration adds patterns of the user's own.
//!
//! Agent output is a hot path, so every text first goes through a literal prefilter (one
//! Aho-Corasick scan for the prefixes and keywords the built-in patterns need); only a text
//! holding a candidate is searched with the regular expressions.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::{Arc, LazyLock};

use aho_corasick::AhoCorasick;
use regex::bytes::Regex;

/// Every marker starts with this; a match inside a marker is never redacted again.
const MARKER_START: &[u8] = b"[REDACTED:";

/// The kind user patterns report.
pub const CUSTOM_KIND: &str = "custom";

/// The kind a secret answer's value reports ([`Redactor::with_literals`]).
pub const ANSWER_KIND: &str = "answer";

/// The built-in patterns, in the order they are applied: `(kind, regex)`. A pattern with a
/// group named `secret` has only that group replaced (the variable name of an assignment
/// stays readable); otherwise the whole match is.
const BUILTIN: &[(&str, &str)] = &[
    // Terminated blocks first; a block cut off before its END line is redacted up to where
    // its base64 body ends.
    (
        "private-key",
        r"(?-u)-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY-----(?:(?s:.)*?-----END[A-Z0-9 ]{0,40}PRIVATE KEY-----|[A-Za-z0-9+/=:,.\s-]*)",
    ),
    ("anthropic-api-key", r"(?-u)\bsk-ant-[A-Za-z0-9_-]{10,}"),
    ("aws-access-key-id", r"(?-u)\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    (
        "github-token",
        r"(?-u)\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
    ),
    ("slack-token", r"(?-u)\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    // `API_KEY=…`, `GITHUB_TOKEN="…"`, `PGPASSWORD=…`: upper-case names (as the environment,
    // `.env` files and shells spell them) whose last part ends in a keyword, `=` with no
    // space, then the value. Values that are references (`$X`, `%X%`, `<…>`) or already a
    // marker are left alone; punctuation ending a sentence is not part of the value.
    (
        "secret",
        r#"(?-u)[A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD)(?:_[A-Z0-9_]*)?=\\?["']?(?P<secret>[^\s"'\\`$\[=<%{](?:[^\s"'\\`]*[^\s"'\\`.,;:)!?])?)"#,
    ),
];

/// Literals at least one of which a text must contain for a built-in pattern to match.
/// Keywords (the second element true) count only when an assignment follows them.
const TRIGGERS: &[(&str, bool)] = &[
    ("-----BEGIN", false),
    ("sk-ant-", false),
    ("AKIA", false),
    ("ASIA", false),
    ("ghp_", false),
    ("gho_", false),
    ("ghu_", false),
    ("ghs_", false),
    ("ghr_", false),
    ("github_pat_", false),
    ("xoxa-", false),
    ("xoxb-", false),
    ("xoxp-", false),
    ("xoxr-", false),
    ("xoxs-", false),
    ("KEY", true),
    ("TOKEN", true),
    ("SECRET", true),
    ("PASSW", true),
];

/// A user pattern that is not a valid regular expression.
#[derive(Debug, thiserror::Error)]
#[error("invalid [redact] pattern {pattern:?}: {source}")]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// What the regex parser said.
    #[source]
    pub source: regex::Error,
}

#[derive(Clone)]
struct Rule {
    kind: String,
    regex: Regex,
    /// Index of the `secret` group, when the rule has one.
    secret_group: Option<usize>,
}

impl Rule {
    fn new(kind: &str, pattern: &str) -> Result<Rule, regex::Error> {
        let regex = Regex::new(pattern)?;
        let secret_group = regex.capture_names().position(|n| n == Some("secret"));
        Ok(Rule {
            kind: kind.to_string(),
            regex,
            secret_group,
        })
    }
}

/// The built-in rules and their prefilter, compiled once per process.
struct Builtin {
    rules: Vec<Rule>,
    triggers: AhoCorasick,
    /// A plain-text line that opens a private key and does not close it.
    key_opens: Regex,
}

/// The built-in patterns are constants, compiled by every test run: a broken one fails the
/// unit tests, never a user.
#[allow(clippy::expect_used)]
static BUILTIN_RULES: LazyLock<Builtin> = LazyLock::new(|| Builtin {
    rules: BUILTIN
        .iter()
        .map(|(kind, pattern)| Rule::new(kind, pattern).expect("built-in pattern compiles"))
        .collect(),
    // Leftmost-first lets aho-corasick search with its SIMD (Teddy) prefilter; the standard
    // match kind walks the automaton byte by byte, ten times slower on agent output.
    triggers: AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(TRIGGERS.iter().map(|(t, _)| t))
        .expect("prefilter builds"),
    key_opens: Regex::new(
        r"(?-u)-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY-----[A-Za-z0-9+/=:,. \t\r-]*$",
    )
    .expect("private key opener compiles"),
});

static BUILTIN_ONLY: LazyLock<Arc<Redactor>> = LazyLock::new(|| {
    Arc::new(Redactor {
        builtin: &BUILTIN_RULES,
        custom: Vec::new(),
    })
});

/// Carried from one line of agent output to the next: a private key printed as plain text
/// spans several lines.
#[derive(Debug, Clone, Default)]
pub struct LineState {
    in_private_key: bool,
}

/// Replaces secrets with `[REDACTED:kind]`: the built-in patterns, then the user's.
pub struct Redactor {
    builtin: &'static Builtin,
    custom: Vec<Rule>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("custom_patterns", &self.custom.len())
            .finish()
    }
}

/// What replaces a secret of `kind`. It holds no quote and no backslash, so a JSON string
/// holding it stays valid.
pub fn marker(kind: &str) -> String {
    format!("[REDACTED:{kind}]")
}

impl Redactor {
    /// The built-in patterns only (shared, compiled once).
    pub fn builtin() -> Arc<Redactor> {
        Arc::clone(&BUILTIN_ONLY)
    }

    /// The built-in patterns plus `patterns` (regular expressions; a group named `secret`
    /// limits what is replaced). The first invalid pattern is an error naming it.
    pub fn with_patterns(patterns: &[String]) -> Result<Redactor, PatternError> {
        let custom = patterns
            .iter()
            .map(|p| {
                Rule::new(CUSTOM_KIND, p).map_err(|source| PatternError {
                    pattern: p.clone(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Redactor {
            builtin: &BUILTIN_RULES,
            custom,
        })
    }

    /// This redactor plus `literals` (exact values, such as a run's secret answers), each
    /// replaced by `[REDACTED:answer]` wherever it appears. Empty values are skipped.
    pub fn with_literals<'v>(&self, literals: impl IntoIterator<Item = &'v str>) -> Redactor {
        let mut custom = self.custom.clone();
        let mut forms: Vec<String> = Vec::new();
        for value in literals {
            // Output is redacted line by line, and a JSON line is first checked as written:
            // the value, each of its lines, and its JSON-escaped spelling.
            forms.push(value.to_string());
            forms.extend(value.lines().map(str::to_string));
            if let Ok(json) = serde_json::to_string(value) {
                forms.push(json[1..json.len() - 1].to_string());
            }
        }
        forms.retain(|f| !f.trim().is_empty());
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        for form in forms {
            if let Ok(rule) = Rule::new(ANSWER_KIND, &regex::escape(&form)) {
                custom.push(rule);
            }
        }
        Redactor {
            builtin: self.builtin,
            custom,
        }
    }

    /// Whether `text` may hold something a built-in pattern matches (a cheap superset).
    fn candidate(&self, text: &[u8]) -> bool {
        self.builtin.triggers.find_iter(text).any(|m| {
            if !TRIGGERS[m.pattern().as_usize()].1 {
                return true;
            }
            // A keyword counts when an upper-case name goes on to `=`.
            let rest = &text[m.end()..];
            let name = rest
                .iter()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
                .count();
            rest.get(name) == Some(&b'=')
        })
    }

    /// Whether any rule may match `text`: the prefilter, then the user's patterns (which have
    /// no prefilter of their own).
    fn may_match(&self, text: &[u8]) -> bool {
        self.candidate(text) || self.custom.iter().any(|r| r.regex.is_match(text))
    }

    /// Redacts a text (a comment, a title, a commit message).
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Every replacement swaps whole matches of valid UTF-8 for ASCII, except where a
            // user pattern splits a character: that is made lossy, never invalid.
            Cow::Owned(b) => Cow::Owned(match String::from_utf8(b) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }),
        }
    }

    /// Redacts one line of agent output as printed. On a JSON line only string values are
    /// changed, and a changed one is written back as a valid JSON string, so the line parses
    /// as before. `state` follows a private key printed over several plain-text lines.
    pub fn line<'a>(&self, line: &'a [u8], state: &mut LineState) -> Cow<'a, [u8]> {
        if state.in_private_key {
            if let Some(rest) = self.continue_private_key(line, state) {
                return rest;
            }
        }
        if !self.may_match(line) {
            return Cow::Borrowed(line);
        }
        if line.trim_ascii_start().first() == Some(&b'{') {
            return self.json_strings(line);
        }
        state.in_private_key = self.builtin.key_opens.is_match(line);
        self.bytes(line)
    }

    /// The next plain-text line inside a private key: its body is replaced; the END line
    /// closes it. `None` when the line is not part of a key after all.
    fn continue_private_key<'a>(
        &self,
        line: &'a [u8],
        state: &mut LineState,
    ) -> Option<Cow<'a, [u8]>> {
        const END: &[u8] = b"-----END";
        if let Some(at) = memchr::memmem::find(line, END) {
            let tail = &line[at + END.len()..];
            let close = memchr::memmem::find(tail, b"PRIVATE KEY-----")?;
            state.in_private_key = false;
            let mut out = marker("private-key").into_bytes();
            let rest = &tail[close + b"PRIVATE KEY-----".len()..];
            out.extend_from_slice(&self.bytes(rest));
            return Some(Cow::Owned(out));
        }
        let body = line
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=:,. \t\r-".contains(b));
        if !body {
            state.in_private_key = false;
            return None;
        }
        Some(if line.trim_ascii().is_empty() {
            Cow::Borrowed(line)
        } else {
            Cow::Owned(marker("private-key").into_bytes())
        })
    }

    /// Redacts the string literals of a JSON line, leaving everything else byte for byte.
    fn json_strings<'a>(&self, line: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out: Option<Vec<u8>> = None;
        let (mut copied, mut at) = (0, 0);
        while let Some(open) = memchr::memchr(b'"', &line[at..]).map(|i| at + i) {
            let Some(close) = string_end(line, open) else {
                // A truncated line: what is left is not a complete string; redact it as text.
                if let Cow::Owned(rest) = self.bytes(&line[open..]) {
                    let out = out.get_or_insert_with(Vec::new);
                    out.extend_from_slice(&line[copied..open]);
                    out.extend_from_slice(&rest);
                    copied = line.len();
                }
                break;
            };
            let literal = &line[open..=close];
            at = close + 1;
            if !self.may_match(literal) {
                continue;
            }
            let redacted = match serde_json::from_slice::<String>(literal) {
                Ok(decoded) => match self.text(&decoded) {
                    Cow::Borrowed(_) => continue,
                    Cow::Owned(text) => match serde_json::to_vec(&text) {
                        Ok(encoded) => encoded,
                        Err(_) => continue,
                    },
                },
                // Not decodable (invalid UTF-8 in it): the bytes inside the quotes are
                // redacted as they are; markers hold nothing that needs escaping.
                Err(_) => match self.bytes(&literal[1..literal.len() - 1]) {
                    Cow::Borrowed(_) => continue,
                    Cow::Owned(inner) => [&b"\""[..], &inner, b"\""].concat(),
                },
            };
            let out = out.get_or_insert_with(|| Vec::with_capacity(line.len()));
            out.extend_from_slice(&line[copied..open]);
            out.extend_from_slice(&redacted);
            copied = at;
        }
        match out {
            None => Cow::Borrowed(line),
            Some(mut out) => {
                out.extend_from_slice(&line[copied..]);
                Cow::Owned(out)
            }
        }
    }

    /// Applies every rule to plain bytes.
    fn bytes<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        let mut text = Cow::Borrowed(text);
        if self.candidate(&text) {
            for rule in &self.builtin.rules {
                text = apply(rule, text);
            }
        }
        for rule in &self.custom {
            text = apply(rule, text);
        }
        text
    }
}

/// The index of the quote closing the JSON string that opens at `open`.
fn string_end(line: &[u8], open: usize) -> Option<usize> {
    let mut at = open + 1;
    loop {
        let i = at + memchr::memchr2(b'"', b'\\', line.get(at..)?)?;
        if line[i] == b'"' {
            return Some(i);
        }
        at = i + 2;
    }
}

/// Where the markers already in `text` are.
fn marker_spans(text: &[u8]) -> Vec<Range<usize>> {
    memchr::memmem::find_iter(text, MARKER_START)
        .map(|start| {
            let end = memchr::memchr(b']', &text[start..]).map_or(text.len(), |i| start + i + 1);
            start..end
        })
        .collect()
}

/// Replaces every match of `rule` in `text` (or its `secret` group) with the rule's marker,
/// except inside markers already there: redacting twice changes nothing.
fn apply<'a>(rule: &Rule, text: Cow<'a, [u8]>) -> Cow<'a, [u8]> {
    let spans = marker_spans(&text);
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    for caps in rule.regex.captures_iter(&text) {
        let Some(m) = rule.secret_group.and_then(|g| caps.get(g)).or(caps.get(0)) else {
            continue;
        };
        let inside_marker = spans.iter().any(|s| m.start() < s.end && s.start < m.end());
        if m.is_empty() || inside_marker {
            continue;
        }
        let out = out.get_or_insert_with(|| Vec::with_capacity(text.len()));
        out.extend_from_slice(&text[copied..m.start()]);
        out.extend_from_slice(marker(&rule.kind).as_bytes());
        copied = m.end();
    }
    match out {
        None => text,
        Some(mut out) => {
            out.extend_from_slice(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

#[cfg(test)]
mod tests;
