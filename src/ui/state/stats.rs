//! The stats overlay: the report the store thread loaded, and which of the most expensive
//! issues is selected.

use super::Hint;
use crate::ui::keymap::{Action, Context, Keymap};
use crate::ui::store_thread::StatsReport;

/// The overlay's state. `report` is `None` until the first load arrives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsView {
    report: Option<StatsReport>,
    selected: usize,
}

/// What a key in the overlay asks of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsStep {
    /// Handled inside the overlay.
    Stay,
    /// Close it.
    Close,
    /// Close it and open this issue's detail.
    Open(i64),
}

impl StatsView {
    /// The loaded report.
    pub fn report(&self) -> Option<&StatsReport> {
        self.report.as_ref()
    }

    /// The selected row of the most expensive issues.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// A fresh report; the selection stays in range.
    pub fn set_report(&mut self, report: StatsReport) {
        let n = report.stats.top_issues.len();
        self.selected = self.selected.min(n.saturating_sub(1));
        self.report = Some(report);
    }

    /// An action while the overlay is on top.
    pub fn on_action(&mut self, action: Action) -> StatsStep {
        let n = self.report.as_ref().map_or(0, |r| r.stats.top_issues.len());
        match action {
            Action::Down => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Close | Action::Stats | Action::Quit => return StatsStep::Close,
            Action::Open => {
                let issue = self
                    .report
                    .as_ref()
                    .and_then(|r| r.stats.top_issues.get(self.selected));
                if let Some(i) = issue {
                    return StatsStep::Open(i.id);
                }
            }
            _ => {}
        }
        StatsStep::Stay
    }

    /// The hint bar's pairs.
    pub fn hints(km: &Keymap) -> Vec<Hint> {
        km.hints(Context::Stats)
            .into_iter()
            .map(|(k, d)| (k, d.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stats::IssueSpend;
    use crate::domain::Status;

    fn report(ids: &[i64]) -> StatsReport {
        let mut r = StatsReport::default();
        for &id in ids {
            r.stats.top_issues.push(IssueSpend {
                id,
                title: format!("issue {id}"),
                status: Status::Done,
                cost_usd: 1.0,
                runs: 1,
            });
        }
        r
    }

    #[test]
    fn the_selection_moves_within_the_list_and_enter_opens_it() {
        let mut v = StatsView::default();
        assert_eq!(v.on_action(Action::Open), StatsStep::Stay, "nothing loaded");
        v.set_report(report(&[7, 3, 9]));
        assert_eq!(v.on_action(Action::Down), StatsStep::Stay);
        v.on_action(Action::Down);
        v.on_action(Action::Down);
        assert_eq!(v.selected(), 2);
        assert_eq!(v.on_action(Action::Open), StatsStep::Open(9));
        v.on_action(Action::Up);
        assert_eq!(v.on_action(Action::Open), StatsStep::Open(3));
        // A reload with fewer issues keeps the selection on one of them.
        v.set_report(report(&[5]));
        assert_eq!(v.selected(), 0);
        assert_eq!(v.on_action(Action::Close), StatsStep::Close);
    }
}
