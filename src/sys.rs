//! What the runner, the CLI and the TUI each need once from the system: this machine's name
//! and the async runtime they run on.

/// This box's name: `AUTOPILOT_HOST` when set, else the machine's host name.
pub fn machine_name() -> Option<String> {
    // A box's identity: several "boxes" can share one machine (tests, or two clones on one
    // host) by naming themselves.
    box_name(std::env::var("AUTOPILOT_HOST").ok()).or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| !h.is_empty())
    })
}

/// A name given for the box, made printable, one line and no longer than a DNS name (it is
/// stored on every run and claim and shown in panes and `doctor`); `None` when nothing is left.
fn box_name(given: Option<String>) -> Option<String> {
    given
        .map(|h| {
            crate::domain::sanitize::one_line(&h)
                .trim()
                .chars()
                .take(253)
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
}

/// This machine's name, recorded on runs so crash recovery only judges its own processes.
pub fn host_name() -> String {
    machine_name().unwrap_or_else(|| "localhost".into())
}

/// The tokio runtime the headless runner and the TUI run on: two workers are plenty for
/// agents that spend their time waiting on pipes and SQLite, on the blocking pool.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::box_name;

    #[test]
    fn a_given_box_name_is_printable_one_line_and_bounded() {
        assert_eq!(box_name(Some("box-a".into())).as_deref(), Some("box-a"));
        assert_eq!(
            box_name(Some("\u{1b}]52;c;Zm9v\u{7}\u{1b}[2Jbox\nb ".into())).as_deref(),
            Some("box b")
        );
        assert_eq!(box_name(Some("x".repeat(1000))).map(|h| h.len()), Some(253));
        for nothing in ["", "  ", "\u{1b}[2J", "\n\n"] {
            assert_eq!(box_name(Some(nothing.into())), None, "{nothing:?}");
        }
        assert_eq!(box_name(None), None);
    }
}
