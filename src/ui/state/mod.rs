//! UI state in rooms: one module per piece of the screen, each owning its struct, the keys it
//! takes and its tests. `App` composes them and the router picks the room a key goes to.
//! Nothing here draws: geometry comes from `ui::layout`.

pub mod answer;
pub mod board;
pub mod confirm;
pub mod detail;
pub mod diff;
pub mod editor;
pub mod help;
pub mod inbox;
pub mod panes;
pub mod search;
pub mod stats;
pub mod toasts;

use crate::runner::takeover::{Prepared, Takeover};
use crate::runner::RunnerCommand;
use crate::ui::store_thread::StoreRequest;

/// Something for the event loop to do on the UI's behalf.
// Effects live for one turn of the loop, a handful at a time: their size costs nothing,
// and boxing the store's requests would only add an allocation per key.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Effect {
    /// Ask the store thread.
    Store(StoreRequest),
    /// Tell the runner of this process.
    Runner(RunnerCommand),
    /// Compute a diff off the UI thread.
    Diff(diff::DiffRequest),
    /// Accept an issue: land its branch on its base, then mark it done (the runner's one
    /// accept path, on a blocking task; answered by `UiEvent::Accepted`).
    Accept(i64),
    /// Ring the terminal bell.
    Bell,
    /// Ask the terminal for a desktop notification with this text (`[notify] osc`).
    Notice(String),
    /// Suspend the process (ctrl-z).
    Suspend,
    /// Check a take-over (shell, session, editor) off the UI thread; answered by
    /// `UiEvent::TakeoverReady`.
    PrepareTakeover(Takeover),
    /// Give the terminal to a prepared take-over's program and wait for it off the UI thread;
    /// answered by `UiEvent::TakeoverDone`.
    RunTakeover(Box<Prepared>),
    /// Take the terminal back after a take-over and redraw everything.
    Resume,
}

/// Whether a layer dealt with an action or leaves it to the layer beneath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Handled (or deliberately swallowed).
    Done,
    /// Not this layer's: the one beneath gets it.
    Pass,
}

/// One `(key, what it does)` pair of the hint bar.
pub type Hint = (String, String);

/// The index after (or before) `i` among `n`, wrapping around.
pub(crate) fn step(i: usize, n: usize, back: bool) -> usize {
    if back {
        (i + n - 1) % n
    } else {
        (i + 1) % n
    }
}

/// The value after (or before) `current` in `order`, wrapping around (from the first when
/// `current` is not in it). `order` is never empty.
pub(crate) fn cycle<T: Copy + PartialEq>(order: &[T], current: T, back: bool) -> T {
    let i = order.iter().position(|x| *x == current).unwrap_or(0);
    order[step(i, order.len(), back)]
}

/// `v` within `lo..=hi`, `lo` winning when the range is empty.
pub(crate) fn clamp(v: i64, lo: i64, hi: i64) -> i64 {
    v.max(lo).min(hi.max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycling_wraps_both_ways() {
        assert_eq!(step(2, 3, false), 0);
        assert_eq!(step(0, 3, true), 2);
        assert_eq!(cycle(&['a', 'b', 'c'], 'z', false), 'b');
        assert_eq!(clamp(5, 0, -1), 0);
    }
}
