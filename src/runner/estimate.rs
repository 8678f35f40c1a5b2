//! The live cost estimate of a running run. Claude Code reports the cost only in its final
//! result line, so while the agent works the cost is estimated from each response's `usage`
//! and the price table, stored on the run (throttled), shown marked as an estimate, and
//! checked against `[budget] per_run_usd`.
//!
//! Each response is counted once, by message id: the CLI repeats a response's usage on every
//! one of its content blocks, and a later repeat may carry a larger output count, so the
//! largest count of each kind is kept. The usage printed with a response is a snapshot from
//! its start (`output_tokens` is 1 or so): until the final result, output is undercounted
//! and the estimate runs low; the result's reported cost replaces it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::agent::AgentEvent;
use super::events::Estimate;
use super::run::StopReason;
use super::Db;
use crate::domain::pricing::{self, PriceTable};
use crate::domain::Tokens;

/// A change of at least this much (USD) is stored at once; smaller ones wait for
/// [`STORE_EVERY`].
const STORE_STEP: f64 = 0.01;
/// The longest a changed estimate waits to be stored.
const STORE_EVERY: Duration = Duration::from_secs(3);

/// One response's usage as counted so far.
struct Message {
    model: Option<String>,
    tokens: Tokens,
    /// What it costs; `None` when its model has no price.
    usd: Option<f64>,
}

/// The usage of one run, priced: each response once.
pub(super) struct Tally {
    prices: Arc<PriceTable>,
    session_model: Option<String>,
    messages: HashMap<String, Message>,
    usd: f64,
    /// Responses with tokens whose model has no price.
    unpriced: usize,
    seen: bool,
}

impl Tally {
    /// An empty tally priced with `prices`.
    pub fn new(prices: Arc<PriceTable>) -> Tally {
        Tally {
            prices,
            session_model: None,
            messages: HashMap::new(),
            usd: 0.0,
            unpriced: 0,
            seen: false,
        }
    }

    /// Folds one event in; true when the estimate may have changed.
    pub fn observe(&mut self, event: &AgentEvent) -> bool {
        match event {
            AgentEvent::Init {
                model: Some(model), ..
            } => {
                self.session_model = Some(model.clone());
                false
            }
            AgentEvent::Usage {
                message_id,
                model,
                tokens,
            } => {
                self.seen = true;
                // A response without an id cannot be repeated: it counts on its own.
                let key = message_id
                    .clone()
                    .unwrap_or_else(|| format!("#{}", self.messages.len()));
                let msg = self.messages.entry(key).or_insert(Message {
                    model: None,
                    tokens: Tokens::default(),
                    usd: Some(0.0),
                });
                if msg.model.is_none() {
                    msg.model.clone_from(model);
                }
                let merged = Tokens {
                    input: msg.tokens.input.max(tokens.input),
                    output: msg.tokens.output.max(tokens.output),
                    cache_read: msg.tokens.cache_read.max(tokens.cache_read),
                    cache_write: msg.tokens.cache_write.max(tokens.cache_write),
                };
                let model = msg.model.as_deref().or(self.session_model.as_deref());
                let usd = match model.and_then(|m| self.prices.price(m)) {
                    Some(p) => Some(p.cost(&merged)),
                    None if merged == Tokens::default() => Some(0.0),
                    None => None,
                };
                match msg.usd {
                    Some(old) => self.usd -= old,
                    None => self.unpriced -= 1,
                }
                match usd {
                    Some(new) => self.usd += new,
                    None => self.unpriced += 1,
                }
                msg.tokens = merged;
                msg.usd = usd;
                true
            }
            _ => false,
        }
    }

    /// The estimate so far: `None` before any usage, [`Estimate::Unknown`] while some usage
    /// is of a model without a price.
    pub fn estimate(&self) -> Option<Estimate> {
        match (self.seen, self.unpriced) {
            (false, _) => None,
            (true, 0) => Some(Estimate::Usd(self.usd.max(0.0))),
            (true, _) => Some(Estimate::Unknown),
        }
    }
}

/// The estimate of a run being written: tallied, reported when it changes, stored on the run
/// (throttled), and checked against the per-run cap.
pub(super) struct Live {
    tally: Tally,
    cap: Option<f64>,
    stop: CancellationToken,
    reason: StopReason,
    reported: Option<Estimate>,
    stored: Option<f64>,
    stored_at: Instant,
}

impl Live {
    /// Tallies with `prices`; reaching `cap` (USD) gives `reason` and fires `stop`.
    pub fn new(
        prices: Arc<PriceTable>,
        cap: Option<f64>,
        stop: CancellationToken,
        reason: StopReason,
    ) -> Live {
        Live {
            tally: Tally::new(prices),
            cap,
            stop,
            reason,
            reported: None,
            stored: None,
            stored_at: Instant::now(),
        }
    }

    /// Folds one event in.
    pub fn observe(&mut self, event: &AgentEvent) {
        self.tally.observe(event);
    }

    /// The estimate, when it changed since the last call (to report it).
    pub fn changed(&mut self) -> Option<Estimate> {
        let now = self.tally.estimate();
        if now == self.reported {
            return None;
        }
        self.reported = now;
        now
    }

    /// Stops the run when its estimate reached the cap: the reason names both and the setting.
    pub fn check_cap(&self) {
        let (Some(cap), Some(Estimate::Usd(usd))) = (self.cap, self.tally.estimate()) else {
            return;
        };
        if usd >= cap && !self.stop.is_cancelled() {
            self.reason
                .set_as(crate::domain::FailureClass::Budget, over_cap(usd, cap));
            self.stop.cancel();
        }
    }

    /// How long until an estimate held back by the throttle is due to be stored, if one is.
    pub fn unstored_for(&self) -> Option<Duration> {
        let Some(Estimate::Usd(usd)) = self.tally.estimate() else {
            return None;
        };
        (self.stored != Some(usd)).then(|| {
            // Never zero: a store that keeps refusing must not spin the writer.
            STORE_EVERY
                .saturating_sub(self.stored_at.elapsed())
                .max(Duration::from_millis(250))
        })
    }

    /// Stores the estimate on the run when it moved by [`STORE_STEP`], or changed at all and
    /// [`STORE_EVERY`] passed, or (`now`) whenever it changed: once per batch at most, never
    /// per line. A store that is busy only delays it.
    pub async fn store(&mut self, db: &Db, run_id: i64, now: bool) {
        let Some(usd) = self.due(now) else {
            return;
        };
        match db.call(move |s| s.set_run_estimate(run_id, usd)).await {
            Ok(()) => self.mark_stored(usd),
            Err(e) => tracing::debug!(run_id, "could not store the cost estimate yet: {e}"),
        }
    }

    /// The estimate to store now, by the rules of [`Self::store`]; it rides along with the
    /// run's next output when that is stored.
    pub fn due(&self, now: bool) -> Option<f64> {
        let Some(Estimate::Usd(usd)) = self.tally.estimate() else {
            return None;
        };
        let due = match self.stored {
            None => true,
            Some(old) if old == usd => false,
            Some(old) => {
                now || (usd - old).abs() >= STORE_STEP || self.stored_at.elapsed() >= STORE_EVERY
            }
        };
        due.then_some(usd)
    }

    /// Notes that `usd` is on the run now.
    pub fn mark_stored(&mut self, usd: f64) {
        self.stored = Some(usd);
        self.stored_at = Instant::now();
    }
}

/// Why a run over its cap was stopped (the start of its system comment).
pub(super) fn over_cap(usd: f64, cap: f64) -> String {
    format!(
        "stopped at its per-run budget: its estimated cost ~{} reached the cap of {} \
         ([budget] per_run_usd; raise it in autopilot.toml to let a run spend more)",
        pricing::usd(usd),
        pricing::usd(cap)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::pricing::Price;

    fn usage(id: Option<&str>, model: Option<&str>, input: i64, output: i64) -> AgentEvent {
        AgentEvent::Usage {
            message_id: id.map(Into::into),
            model: model.map(Into::into),
            tokens: Tokens {
                input,
                output,
                cache_read: 0,
                cache_write: 0,
            },
        }
    }

    fn usd(t: &Tally) -> f64 {
        match t.estimate() {
            Some(Estimate::Usd(v)) => v,
            other => panic!("{other:?}"),
        }
    }

    fn table() -> Arc<PriceTable> {
        // $1 per million input tokens, $10 per million output tokens.
        let prices = [("mm-1".to_string(), Price::from_io(1.0, 10.0))].into();
        Arc::new(PriceTable::new(prices))
    }

    #[test]
    fn a_response_repeated_on_each_block_counts_once_with_its_largest_counts() {
        let mut t = Tally::new(table());
        assert_eq!(t.estimate(), None);
        t.observe(&usage(Some("a"), Some("mm-1"), 1_000_000, 1));
        t.observe(&usage(Some("a"), Some("mm-1"), 1_000_000, 1));
        t.observe(&usage(Some("a"), None, 1_000_000, 1));
        assert!((usd(&t) - 1.00001).abs() < 1e-9, "{}", usd(&t));
        // A later repeat with a larger output count replaces the smaller one.
        t.observe(&usage(Some("a"), None, 1_000_000, 100_000));
        assert!((usd(&t) - 2.0).abs() < 1e-9);
        t.observe(&usage(Some("a"), None, 10, 5));
        assert!((usd(&t) - 2.0).abs() < 1e-9, "counts never shrink");
        t.observe(&usage(Some("b"), Some("mm-1"), 500_000, 0));
        assert!((usd(&t) - 2.5).abs() < 1e-9);
    }

    #[test]
    fn the_session_model_prices_responses_without_one_and_unknown_models_are_unknown() {
        let mut t = Tally::new(table());
        let init = AgentEvent::Init {
            session_id: "s".into(),
            model: Some("mm-1".into()),
            permission_mode: None,
        };
        t.observe(&init);
        t.observe(&usage(Some("a"), None, 1_000_000, 0));
        assert!((usd(&t) - 1.0).abs() < 1e-9);
        t.observe(&usage(Some("b"), Some("mystery"), 5, 5));
        assert_eq!(t.estimate(), Some(Estimate::Unknown));
        // A synthetic error message with no tokens does not make the cost unknown.
        let mut t = Tally::new(table());
        t.observe(&usage(Some("x"), Some("<synthetic>"), 0, 0));
        assert_eq!(t.estimate(), Some(Estimate::Usd(0.0)));
    }

    #[test]
    fn the_fixture_transcript_is_priced_once_per_response() {
        let path = format!(
            "{}/tests/fixtures/claude-stream-json/implement.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut t = Tally::new(Arc::new(PriceTable::default()));
        for line in data.split(|b| *b == b'\n') {
            for ev in super::super::agent::claude::parse_line(line) {
                if !matches!(ev, AgentEvent::Result(_)) {
                    t.observe(&ev);
                }
            }
        }
        // claude-opus-5-5 is priced as Opus ($5 in, $25 out): two responses, one repeated.
        let want = ((12597.0 + 12725.0) * 5.0 + 2.0 * 25.0) / 1e6;
        assert!((usd(&t) - want).abs() < 1e-9, "{} vs {want}", usd(&t));
    }

    #[test]
    fn reaching_the_cap_stops_the_run_with_the_reason() {
        let (stop, reason) = (CancellationToken::new(), StopReason::default());
        let mut live = Live::new(table(), Some(1.0), stop.clone(), reason.clone());
        live.observe(&usage(Some("a"), Some("mm-1"), 900_000, 0));
        assert_eq!(live.changed(), Some(Estimate::Usd(0.9)));
        assert_eq!(live.changed(), None, "reported once");
        live.check_cap();
        assert!(!stop.is_cancelled());
        live.observe(&usage(Some("b"), Some("mm-1"), 100_000, 0));
        live.check_cap();
        assert!(stop.is_cancelled());
        let why = reason.get().unwrap_or_default();
        assert!(why.contains("~$1.00") && why.contains("$1.00"), "{why}");
        assert!(why.contains("[budget] per_run_usd"), "{why}");
    }
}
