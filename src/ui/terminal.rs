//! The terminal guard: raw mode and the alternate screen in, everything restored on drop, on
//! panic, and around ctrl-z.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, BeginSynchronizedUpdate, EndSynchronizedUpdate,
    EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

/// Whether the terminal is currently in TUI mode (read by the panic hook).
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// The terminal type the app draws on.
pub type Term = Terminal<CrosstermBackend<io::Stdout>>;

/// Owns the terminal mode while the app runs.
pub struct TerminalGuard {
    mouse: bool,
}

/// Puts the terminal back the way the shell expects it. Best effort: never panics, because it
/// also runs inside the panic hook.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = execute!(
        out,
        EndSynchronizedUpdate,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen.
    pub fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        install_panic_hook();
        let guard = TerminalGuard { mouse };
        guard.activate()?;
        Ok(guard)
    }

    fn activate(&self) -> io::Result<()> {
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        execute!(out, EnterAlternateScreen, cursor::Hide)?;
        if self.mouse {
            execute!(out, EnableMouseCapture)?;
        }
        Ok(())
    }

    /// Leaves TUI mode, stops the process (SIGTSTP, as the shell's ctrl-z would) and comes back
    /// when it is continued with `fg`.
    pub fn suspend(&self) -> io::Result<()> {
        restore();
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP);
        // Execution resumes here after SIGCONT.
        self.activate()
    }

    /// Gives the terminal back as the shell had it, for a program run in the foreground
    /// (a shell, an editor); [`TerminalGuard::reacquire`] takes it again.
    pub fn release(&self) {
        restore();
    }

    /// Takes the terminal again after [`TerminalGuard::release`].
    pub fn reacquire(&self) -> io::Result<()> {
        self.activate()
    }

    /// A ratatui terminal on stdout.
    pub fn terminal(&self) -> io::Result<Term> {
        Terminal::new(CrosstermBackend::new(io::stdout()))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Draws one frame inside a synchronized update so streaming output never tears.
pub fn draw_synced(term: &mut Term, f: impl FnOnce(&mut ratatui::Frame<'_>)) -> io::Result<()> {
    execute!(io::stdout(), BeginSynchronizedUpdate)?;
    let result = term.draw(f).map(|_| ());
    execute!(io::stdout(), EndSynchronizedUpdate)?;
    result
}
