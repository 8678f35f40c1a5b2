//! A real terminal for end-to-end UI tests: a private tmux server (its own socket) running the
//! binary; tests type with `send-keys` and read the screen with `capture-pane`.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{bin, wait_for, TestRepo};

/// How long a screen or store condition may take to appear.
pub const LIMIT: Duration = Duration::from_secs(30);
static N: AtomicUsize = AtomicUsize::new(0);

/// Whether tmux can be used; under `CI=true` a missing tmux fails the test instead of
/// skipping it (.ci/run installs tmux).
pub fn available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v.is_empty() || v == "false"),
            "CI=true but tmux is not installed"
        );
        eprintln!("tmux not installed; skipping");
    }
    ok
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A private tmux server running the TUI in a 120×32 terminal; killed on drop. Its socket
/// lives in the test's temp dir, so no server file is left behind in /tmp/tmux-UID.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `autopilot-tui <args>` in the repo with the repo's environment (fake agent,
    /// isolated config, and anything added with `with_env`).
    pub fn start(repo: &TestRepo, args: &str) -> Option<Tmux> {
        Tmux::start_sized(repo, args, 120, 32)
    }

    /// As `start`, in a terminal of the given size.
    pub fn start_sized(repo: &TestRepo, args: &str, width: u16, height: u16) -> Option<Tmux> {
        let bin = quote(&bin().display().to_string());
        Tmux::launch(repo, width, height, &format!("{bin} {args}"))
    }

    /// Runs the TUI from a shell that outlives it and prints `EXITED:<status>` afterwards, so
    /// a test can look at the terminal the TUI left behind.
    pub fn start_in_shell(repo: &TestRepo, args: &str) -> Option<Tmux> {
        let bin = quote(&bin().display().to_string());
        Tmux::launch(
            repo,
            120,
            32,
            &format!("sh -c \"{bin} {args}; echo EXITED:\\$?; exec sleep 600\""),
        )
    }

    /// An interactive bash (with job control) in the repo and the test environment; the test
    /// types the command. `bin` is the binary's path to type.
    pub fn start_interactive(repo: &TestRepo) -> Option<(Tmux, String)> {
        let t = Tmux::launch(repo, 120, 32, "bash --norc --noprofile -i")?;
        Some((t, bin().display().to_string()))
    }

    fn launch(repo: &TestRepo, width: u16, height: u16, command: &str) -> Option<Tmux> {
        if !available() {
            return None;
        }
        let socket = repo
            .dir
            .path()
            .join(format!("tmux-{}.sock", N.fetch_add(1, Ordering::SeqCst)))
            .display()
            .to_string();
        let mut env = repo.env_vars();
        env.push(("TERM".into(), "xterm-256color".into()));
        env.push(("PS1".into(), "$ ".into()));
        let vars: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .collect();
        let script = format!(
            "cd {} && exec env -i PATH=\"$PATH\" {} {command}",
            quote(&repo.root.display().to_string()),
            vars.join(" "),
        );
        let ok = Command::new("tmux")
            .args([
                "-S",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                &script,
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux new-session failed");
        Some(Tmux { socket })
    }

    /// A tmux format value for the pane (`#{alternate_on}`, `#{pane_pid}`, …).
    pub fn format(&self, format: &str) -> String {
        let out = Command::new("tmux")
            .args(["-S", &self.socket, "display-message", "-p", format])
            .output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-S", &self.socket, "capture-pane", "-p"])
            .output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Waits until `what` is on screen; returns the screen.
    pub fn wait_screen(&self, what: &str) -> String {
        wait_for(&format!("{what:?} on screen"), LIMIT, || {
            let s = self.screen();
            s.contains(what).then_some(s)
        })
    }

    /// Sends keys by tmux name (`Enter`, `C-s`, `q`).
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let status = Command::new("tmux")
                .args(["-S", &self.socket, "send-keys", k])
                .status();
            assert!(status.is_ok_and(|s| s.success()), "send-keys {k}");
        }
    }

    /// Resizes the terminal, as a user dragging the window would.
    pub fn resize(&self, width: u16, height: u16) {
        let status = Command::new("tmux")
            .args([
                "-S",
                &self.socket,
                "resize-window",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "resize-window");
    }

    /// Types literal text.
    pub fn text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["-S", &self.socket, "send-keys", "-l", text])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "send-keys -l");
    }

    /// The pane's title as the terminal knows it (OSC 0/2 would change it).
    pub fn pane_title(&self) -> String {
        self.format("#{pane_title}")
    }

    /// Copies every byte the program writes to its terminal from now on into `file`, escape
    /// sequences included (what `capture-pane` cannot show).
    pub fn pipe_output(&self, file: &std::path::Path) {
        let cmd = format!("cat >> {}", quote(&file.display().to_string()));
        let status = Command::new("tmux")
            .args(["-S", &self.socket, "pipe-pane", "-O", &cmd])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "pipe-pane");
    }

    /// Whether the session (and so the TUI) still runs.
    pub fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["-S", &self.socket, "has-session"])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Quits with `q` (confirming if asked) and waits for the process to end.
    pub fn quit(&self) {
        self.keys(&["q"]);
        wait_for("the TUI to exit", LIMIT, || (!self.alive()).then_some(()));
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-S", &self.socket, "kill-server"])
            .status();
        let _ = std::fs::remove_file(&self.socket);
    }
}
