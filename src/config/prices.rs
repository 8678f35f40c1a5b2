//! `[prices."<model id or prefix>"]`: token prices (USD per million tokens) that extend or
//! override the built-in table the live cost estimate uses.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::pricing::{Price, PriceTable};

/// One model's prices; the cache rates default from `input` as Anthropic derives them.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceEntry {
    /// Uncached input, USD per million tokens.
    pub input: f64,
    /// Output, USD per million tokens.
    pub output: f64,
    /// Cache reads (default: a tenth of `input`).
    pub cache_read: Option<f64>,
    /// 5-minute cache writes (default: 1.25 times `input`).
    pub cache_write: Option<f64>,
}

impl PriceEntry {
    /// The price it sets.
    pub fn price(&self) -> Price {
        let mut p = Price::from_io(self.input, self.output);
        p.cache_read = self.cache_read.unwrap_or(p.cache_read);
        p.cache_write = self.cache_write.unwrap_or(p.cache_write);
        p
    }
}

/// Refuses prices that cannot mean anything (negative, NaN, infinite, an empty model),
/// naming the entry.
pub fn check(
    prices: &BTreeMap<String, PriceEntry>,
    name: &dyn Fn(&str) -> String,
) -> anyhow::Result<()> {
    for (model, e) in prices {
        let field = |key: &str| name(&format!("[prices.{model:?}] {key}"));
        if model.trim().is_empty() {
            anyhow::bail!(
                "{}: a price needs a model id or prefix",
                name("[prices.\"\"]")
            );
        }
        let rates = [
            ("input", Some(e.input)),
            ("output", Some(e.output)),
            ("cache_read", e.cache_read),
            ("cache_write", e.cache_write),
        ];
        for (key, value) in rates {
            if let Some(v) = value.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                anyhow::bail!(
                    "{} = {v}: a price is 0 or a positive number of US dollars per million tokens",
                    field(key)
                );
            }
        }
    }
    Ok(())
}

/// Lays `top`'s entries over `base`'s, model by model.
pub fn merge(base: &mut BTreeMap<String, PriceEntry>, top: &BTreeMap<String, PriceEntry>) {
    base.extend(top.iter().map(|(k, v)| (k.clone(), *v)));
}

/// The table the runner prices usage with: the built-in one under the configured entries.
pub fn table(prices: &BTreeMap<String, PriceEntry>) -> PriceTable {
    PriceTable::new(prices.iter().map(|(k, e)| (k.clone(), e.price())).collect())
}
