//! Reading the stored transcripts of a queue whose issues may each have been run by another
//! agent (`--agent codex` on one issue of a Claude queue): a line is parsed by the configured
//! agent's format first and, when that format does not know it, by the others'.

use std::path::Path;
use std::sync::Arc;

use super::{Adapter, AgentEvent, AgentRequest};

/// A renderer trying each agent's format in turn; it only reads output, never starts anything.
pub struct AnyAgent {
    /// The configured agent first, then the others.
    pub formats: Vec<Arc<dyn Adapter>>,
}

impl AnyAgent {
    /// The format that knows `line`, and its events. A JSON event goes to the JSON formats
    /// (the configured one first): the first that shows it has it, and one none of them shows
    /// stays unshown (unless the command agent is configured: then it is that agent's words);
    /// the command agent never claims an event another agent shows. Any other line is the
    /// configured format's.
    fn read(&self, line: &[u8]) -> Option<(&dyn Adapter, Vec<AgentEvent>)> {
        let configured = self.formats.first()?.as_ref();
        if !is_event(line) {
            return Some((configured, configured.parse_line(line)));
        }
        let mut ignored = None;
        for format in self.formats.iter().filter(|f| f.name() != "command") {
            let events = format.parse_line(line);
            if matches!(events.as_slice(), [AgentEvent::Ignored]) {
                ignored.get_or_insert(format.as_ref());
            } else {
                return Some((format.as_ref(), events));
            }
        }
        // A command agent's own JSON lines are its words, shown as it printed them.
        if configured.name() == "command" {
            return Some((configured, configured.parse_line(line)));
        }
        Some((ignored.unwrap_or(configured), vec![AgentEvent::Ignored]))
    }
}

/// Whether a line is a JSON object with a string `type`: an agent's event, not its words.
fn is_event(line: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Typed<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    line.first() == Some(&b'{')
        && serde_json::from_slice::<Typed<'_>>(line).is_ok_and(|t| t.kind.is_some())
}

impl Adapter for AnyAgent {
    fn name(&self) -> &'static str {
        self.formats.first().map_or("any", |f| f.name())
    }

    fn program(&self) -> &Path {
        self.formats
            .first()
            .map_or(Path::new("claude"), |f| f.program())
    }

    fn command(&self, req: &AgentRequest) -> tokio::process::Command {
        match self.formats.first() {
            Some(f) => f.command(req),
            None => tokio::process::Command::new("false"),
        }
    }

    fn parse_line(&self, line: &[u8]) -> Vec<AgentEvent> {
        self.read(line)
            .map(|(_, events)| events)
            .unwrap_or_default()
    }

    fn reports_result(&self) -> bool {
        self.formats.first().is_some_and(|f| f.reports_result())
    }

    fn answers_version(&self) -> bool {
        self.formats.first().is_some_and(|f| f.answers_version())
    }

    fn wants_prompt_file(&self) -> bool {
        self.formats.first().is_some_and(|f| f.wants_prompt_file())
    }

    fn interactive_args(&self, session: &str, choice: &super::ModelChoice) -> Option<Vec<String>> {
        self.formats.first()?.interactive_args(session, choice)
    }

    fn preflight(
        &self,
        permission_mode: &str,
        euid_is_root: bool,
        is_sandbox: Option<&str>,
    ) -> Result<(), String> {
        self.formats.first().map_or(Ok(()), |f| {
            f.preflight(permission_mode, euid_is_root, is_sandbox)
        })
    }

    fn render_line(&self, line: &[u8]) -> Vec<super::PaneLine> {
        match self.read(line) {
            Some((format, events)) => events.iter().flat_map(|e| format.display(e)).collect(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::renderer;

    fn rendered(kind: Option<&str>, fixture: &str) -> String {
        let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let adapter = renderer(kind);
        data.split(|b| *b == b'\n')
            .flat_map(|line| adapter.render_line(line))
            .map(|l| l.text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_transcript_reads_the_same_whichever_agent_is_configured() {
        let codex = "codex-exec-json/implement.jsonl";
        let claude = "claude-stream-json/implement.jsonl";
        let codex_own = rendered(Some("codex"), codex);
        assert!(
            codex_own.contains("Hello from the real Codex CLI"),
            "{codex_own}"
        );
        assert_eq!(rendered(None, codex), codex_own);
        let under_command = rendered(Some("command"), codex);
        assert!(under_command.contains("● session"), "{under_command}");
        assert!(
            under_command.contains("Implemented hello.txt."),
            "{under_command}"
        );
        let claude_own = rendered(None, claude);
        assert!(!claude_own.is_empty());
        assert_eq!(rendered(Some("codex"), claude), claude_own);
        // Plain text stays text under every configuration.
        let plain = renderer(Some("codex")).render_line(b"just words");
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].text, "just words");
    }
}
