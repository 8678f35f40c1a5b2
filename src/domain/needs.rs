//! Structured questions: the fields an agent asks for after `BLOCKED:` (`NEEDS: NAME — what`,
//! `NEEDS: NAME (secret) — what`) and the answers a person gives them (`NAME=VALUE`).
//!
//! A field's name becomes an environment variable of the next run, so it must be one, and
//! never one that changes how the agent or autopilot itself runs.

use serde::{Deserialize, Serialize};

/// Most fields one question may ask for; later lines are ignored.
pub const MAX_NEEDS: usize = 12;
/// Longest field name kept.
pub const MAX_NAME: usize = 64;
/// Longest description kept (characters); a longer one is cut.
pub const MAX_DESCRIPTION: usize = 300;
/// Longest value an answer may give one field (bytes): it travels in the environment.
pub const MAX_VALUE: usize = 16 << 10;

/// One field an agent asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Need {
    /// The environment variable name (`DATABASE_URL`).
    pub name: String,
    /// Whether the value is a secret: never stored in the thread, the transcript or events.
    #[serde(default)]
    pub secret: bool,
    /// What the agent says it is for (one line, printable).
    #[serde(default)]
    pub description: String,
}

/// Secret answers on their way to one run: `(name, value)`. Its `Debug` shows names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(pub Vec<(String, String)>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n))
            .finish()
    }
}

impl Secrets {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Names that are refused whole, and prefixes refused with everything after them.
const REFUSED: &[&str] = &[
    "PATH",
    "HOME",
    "SHELL",
    "USER",
    "LOGNAME",
    "PWD",
    "OLDPWD",
    "IFS",
    "ENV",
    "BASH_ENV",
    "CDPATH",
    "TMPDIR",
    "TERM",
    "LANG",
    "TZ",
    "PS4",
    "PROMPT_COMMAND",
    "NODE_OPTIONS",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PERL5LIB",
    "PERL5OPT",
    "RUBYOPT",
    "RUBYLIB",
    "IS_SANDBOX",
    "EDITOR",
    "VISUAL",
    "SSH_AUTH_SOCK",
];
const REFUSED_PREFIXES: &[&str] = &[
    "LD_",
    "DYLD_",
    "ANTHROPIC_",
    "CLAUDE_",
    "CLAUDE",
    "AUTOPILOT_",
    "GIT_",
    "BASH_FUNC_",
    "OPENAI_",
    "CODEX_",
    "XDG_",
    "LC_",
];

/// Why `name` cannot be a field: not an environment variable name, or one that would change
/// how the agent, git or autopilot run. `None` when it is fine.
pub fn refused(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if !valid {
        return Some(format!(
            "{:?} is not a field name: use A-Z, 0-9 and _, not starting with a digit, at most {MAX_NAME} characters",
            crate::domain::sanitize::one_line(name.get(..MAX_NAME).unwrap_or(name))
        ));
    }
    if REFUSED.contains(&name) {
        return Some(format!(
            "{name} is refused: it changes how the agent's programs run"
        ));
    }
    REFUSED_PREFIXES
        .iter()
        .find(|p| name.starts_with(**p))
        .map(|p| {
            format!(
                "{name} is refused: names starting with {p} configure the agent, git or autopilot"
            )
        })
}

/// The fields listed by `NEEDS:` lines in a question. Lines that are malformed or name a
/// refused variable are skipped (the question keeps them as text); a repeated name keeps its
/// first line; at most [`MAX_NEEDS`].
pub fn parse(question: &str) -> Vec<Need> {
    let mut out: Vec<Need> = Vec::new();
    for line in question.lines() {
        let trimmed = line
            .trim_start()
            .trim_start_matches(['*', '_', '`', '>', '-', ' '])
            .trim_end()
            .trim_end_matches(['*', '_', '`']);
        let Some(rest) = trimmed.strip_prefix("NEEDS:") else {
            continue;
        };
        let Some(need) = parse_one(rest) else {
            continue;
        };
        if out.iter().any(|n| n.name == need.name) {
            continue;
        }
        out.push(need);
        if out.len() == MAX_NEEDS {
            break;
        }
    }
    out
}

/// `NAME [(secret)] — description` (also `-` or `--`, or no description at all).
fn parse_one(rest: &str) -> Option<Need> {
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let (name, mut tail) = rest.split_at(end);
    // `A-B` is not `A` described as `B`.
    if refused(name).is_some() || !(tail.is_empty() || tail.starts_with([' ', '\t', '('])) {
        return None;
    }
    tail = tail.trim_start();
    let secret = match tail.strip_prefix("(secret)") {
        Some(t) => {
            tail = t.trim_start();
            true
        }
        None => false,
    };
    let description = if tail.is_empty() {
        ""
    } else {
        tail.strip_prefix('—')
            .or_else(|| tail.strip_prefix("--"))
            .or_else(|| tail.strip_prefix('-'))
            .or_else(|| tail.strip_prefix(':'))?
    };
    let description = crate::domain::sanitize::one_line(description.trim());
    let description: String = description.chars().take(MAX_DESCRIPTION).collect();
    Some(Need {
        name: name.to_string(),
        secret,
        description: description.trim().to_string(),
    })
}

/// One `NAME=VALUE` of an answer, split; the error says what is wrong with it.
pub fn assignment(arg: &str) -> Result<(String, String), String> {
    let Some((name, value)) = arg.split_once('=') else {
        return Err(format!(
            "{:?} is not NAME=VALUE",
            crate::domain::sanitize::one_line(&arg.chars().take(80).collect::<String>())
        ));
    };
    if let Some(why) = refused(name) {
        return Err(why);
    }
    check_value(name, value)?;
    Ok((name.to_string(), value.to_string()))
}

/// Whether `value` can be passed to an agent as the environment variable `name`.
pub fn check_value(name: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{name} has an empty value"));
    }
    if value.contains('\0') {
        return Err(format!(
            "{name}'s value holds a NUL byte, which the environment cannot carry"
        ));
    }
    if value.len() > MAX_VALUE {
        return Err(format!(
            "{name}'s value is {} bytes; at most {MAX_VALUE} are allowed",
            value.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(name: &str, secret: bool, description: &str) -> Need {
        Need {
            name: name.into(),
            secret,
            description: description.into(),
        }
    }

    #[test]
    fn every_dash_and_the_secret_mark_are_read() {
        let q = "Which database?\nNEEDS: DATABASE_URL — the staging URL\n\
                 NEEDS: API_TOKEN (secret) -- the vendor's token\n**NEEDS: REGION - eu or us**\nNEEDS: PLAIN";
        assert_eq!(
            parse(q),
            vec![
                need("DATABASE_URL", false, "the staging URL"),
                need("API_TOKEN", true, "the vendor's token"),
                need("REGION", false, "eu or us"),
                need("PLAIN", false, ""),
            ]
        );
    }

    #[test]
    fn hostile_and_malformed_lines_are_skipped() {
        let q = "NEEDS: PATH — hijack\nNEEDS: LD_PRELOAD — evil\nNEEDS: ANTHROPIC_API_KEY (secret) — x\n\
                 NEEDS: AUTOPILOT_RUN_ID — x\nNEEDS: lower — x\nNEEDS: 1ABC — x\nNEEDS: A-B — x\n\
                 NEEDS: OK\x1b[31m — red\nNEEDS: GOOD — fine \x1b]0;title\x07 here\u{202e}\n\
                 NEEDS: GOOD — again\nNEEDS: X (secret) junk\nNEEDS: GIT_DIR — x\nNEEDS: ";
        let got = parse(q);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].name, "GOOD");
        assert!(!got[0].description.contains('\x1b'), "{got:?}");
        assert!(!got[0].description.contains('\u{202e}'), "{got:?}");
        assert!(got[0].description.starts_with("fine"), "{got:?}");
    }

    #[test]
    fn counts_names_and_descriptions_are_capped() {
        let many: String = (0..50).map(|i| format!("NEEDS: F{i} — d\n")).collect();
        assert_eq!(parse(&many).len(), MAX_NEEDS);
        let long = format!("NEEDS: {} — x", "A".repeat(MAX_NAME + 1));
        assert!(parse(&long).is_empty());
        let wordy = format!("NEEDS: A — {}", "é".repeat(5000));
        assert_eq!(
            parse(&wordy)[0].description.chars().count(),
            MAX_DESCRIPTION
        );
    }

    #[test]
    fn refusals_say_which_name_and_why() {
        assert!(refused("PATH").is_some_and(|w| w.contains("PATH")));
        assert!(refused("LD_LIBRARY_PATH").is_some_and(|w| w.contains("LD_")));
        assert!(refused("ANTHROPIC_BASE_URL").is_some());
        assert!(refused("CLAUDE_CODE_USE_BEDROCK").is_some());
        assert!(refused("9LIVES").is_some());
        assert!(refused("DATABASE_URL").is_none());
        assert!(refused("_X1").is_none());
    }

    #[test]
    fn assignments_split_at_the_first_equals() {
        assert_eq!(
            assignment("URL=postgres://a?b=c"),
            Ok(("URL".into(), "postgres://a?b=c".into()))
        );
        assert!(assignment("URL").is_err_and(|e| e.starts_with("\"URL\" is not NAME=VALUE")));
        let long = "é".repeat(200);
        assert!(assignment(&long).is_err_and(|e| e.starts_with(&format!("{:?}", "é".repeat(80)))));
        assert!(assignment("URL=").is_err());
        assert!(assignment("=x").is_err());
        assert!(assignment("HOME=/tmp").is_err_and(|e| e.contains("HOME")));
        assert!(assignment("A=\0").is_err());
    }
}
