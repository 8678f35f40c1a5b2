//! What tokens cost: the built-in price table for Claude models (USD per million tokens) and
//! the prices `[prices."<model>"]` adds or overrides. The live estimate of a running run is
//! priced with it; the agent's own reported cost always replaces the estimate at the end.

use std::collections::BTreeMap;

use super::Tokens;

/// USD per million tokens of each kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Uncached input.
    pub input: f64,
    /// Output.
    pub output: f64,
    /// Input read from the prompt cache.
    pub cache_read: f64,
    /// Input written to the prompt cache (the 5-minute cache).
    pub cache_write: f64,
}

impl Price {
    /// A price from its input and output rates, the cache rates as Anthropic derives them:
    /// a cache read costs a tenth of input, a 5-minute cache write 1.25 times input.
    pub fn from_io(input: f64, output: f64) -> Price {
        Price {
            input,
            output,
            cache_read: input * 0.1,
            cache_write: input * 1.25,
        }
    }

    /// What `tokens` cost at this price, in USD.
    pub fn cost(&self, t: &Tokens) -> f64 {
        let per = |n: i64, rate: f64| n.max(0) as f64 * rate / 1_000_000.0;
        per(t.input, self.input)
            + per(t.output, self.output)
            + per(t.cache_read, self.cache_read)
            + per(t.cache_write, self.cache_write)
    }
}

/// A sum of US dollars for a comment: cents, or more digits below a dime (a cap of $0.007
/// must not read as $0.01).
pub fn usd(v: f64) -> String {
    if v.abs() >= 0.1 || v == 0.0 {
        format!("${v:.2}")
    } else {
        format!("${v:.4}")
    }
}

/// Built-in list prices by model id prefix (input, output; USD per million tokens).
const BUILTIN: &[(&str, f64, f64)] = &[
    ("claude-opus-4-6", 5.0, 25.0),
    ("claude-opus-4-5", 5.0, 25.0),
    ("claude-opus-4-1", 15.0, 75.0),
    ("claude-opus-4-0", 15.0, 75.0),
    ("claude-opus-4-2025", 15.0, 75.0),
    ("claude-sonnet-4", 3.0, 15.0),
    ("claude-3-7-sonnet", 3.0, 15.0),
    ("claude-3-5-sonnet", 3.0, 15.0),
    ("claude-haiku-4-5", 1.0, 5.0),
    ("claude-3-5-haiku", 0.8, 4.0),
];

/// The current price of each family, for ids no prefix knows (`opus`, `claude-opus-5-5`).
const FAMILIES: &[(&str, f64, f64)] = &[
    ("opus", 5.0, 25.0),
    ("sonnet", 3.0, 15.0),
    ("haiku", 1.0, 5.0),
];

/// The prices known: the configured ones over the built-in table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    configured: BTreeMap<String, Price>,
}

impl PriceTable {
    /// The built-in table extended (and overridden) by `configured`, keyed by model id or
    /// id prefix.
    pub fn new(configured: BTreeMap<String, Price>) -> PriceTable {
        PriceTable { configured }
    }

    /// The price of `model`: a configured exact id first, then the longest known prefix
    /// (configured ones win a tie), then the family word in it (`opus`, `sonnet`, `haiku`).
    /// `None` for a model nothing matches: no estimate is better than a wrong one.
    pub fn price(&self, model: &str) -> Option<Price> {
        if let Some(p) = self.configured.get(model) {
            return Some(*p);
        }
        let configured = self
            .configured
            .iter()
            .map(|(k, p)| (k.as_str(), *p))
            .filter(|(k, _)| !k.is_empty());
        let builtin = BUILTIN.iter().map(|(k, i, o)| (*k, Price::from_io(*i, *o)));
        let mut best: Option<(usize, Price)> = None;
        for (prefix, price) in configured.chain(builtin) {
            if model.starts_with(prefix) && !matches!(best, Some((len, _)) if len >= prefix.len()) {
                best = Some((prefix.len(), price));
            }
        }
        if let Some((_, p)) = best {
            return Some(p);
        }
        let lower = model.to_ascii_lowercase();
        let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        FAMILIES
            .iter()
            .find(|(family, _, _)| words.contains(family))
            .map(|(_, i, o)| Price::from_io(*i, *o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: i64, output: i64, cache_read: i64, cache_write: i64) -> Tokens {
        Tokens {
            input,
            output,
            cache_read,
            cache_write,
        }
    }

    fn io(table: &PriceTable, model: &str) -> Option<(f64, f64)> {
        table.price(model).map(|p| (p.input, p.output))
    }

    #[test]
    fn model_ids_match_by_longest_prefix_then_family() {
        let t = PriceTable::default();
        assert_eq!(io(&t, "claude-opus-4-6"), Some((5.0, 25.0)));
        assert_eq!(io(&t, "claude-opus-4-5-20251101"), Some((5.0, 25.0)));
        assert_eq!(io(&t, "claude-opus-4-1-20250805"), Some((15.0, 75.0)));
        assert_eq!(io(&t, "claude-opus-4-20250514"), Some((15.0, 75.0)));
        assert_eq!(io(&t, "claude-sonnet-4-5-20250929"), Some((3.0, 15.0)));
        assert_eq!(io(&t, "claude-haiku-4-5-20251001"), Some((1.0, 5.0)));
        assert_eq!(io(&t, "claude-3-5-haiku-20241022"), Some((0.8, 4.0)));
        // Aliases and ids no prefix knows take their family's current price.
        assert_eq!(io(&t, "opus"), Some((5.0, 25.0)));
        assert_eq!(io(&t, "sonnet"), Some((3.0, 15.0)));
        assert_eq!(io(&t, "haiku"), Some((1.0, 5.0)));
        assert_eq!(io(&t, "claude-opus-5-5"), Some((5.0, 25.0)));
        assert_eq!(io(&t, "claude-opus-4-7"), Some((5.0, 25.0)));
    }

    #[test]
    fn unknown_models_have_no_price() {
        let t = PriceTable::default();
        for model in [
            "",
            "<synthetic>",
            "gpt-5",
            "mock-model",
            "opusx",
            "claude-next",
        ] {
            assert_eq!(t.price(model), None, "{model}");
        }
    }

    #[test]
    fn configured_prices_win_and_extend_the_table() {
        let mut configured = BTreeMap::new();
        configured.insert("claude-sonnet-4-5".to_string(), Price::from_io(2.0, 10.0));
        configured.insert("mock".to_string(), Price::from_io(1.0, 1.0));
        configured.insert("claude-opus-4-6".to_string(), Price::from_io(7.0, 30.0));
        let t = PriceTable::new(configured);
        assert_eq!(io(&t, "claude-sonnet-4-5-20250929"), Some((2.0, 10.0)));
        assert_eq!(io(&t, "claude-sonnet-4-6"), Some((3.0, 15.0)), "built in");
        assert_eq!(io(&t, "mock-model"), Some((1.0, 1.0)));
        assert_eq!(io(&t, "claude-opus-4-6"), Some((7.0, 30.0)), "exact id");
    }

    #[test]
    fn small_sums_keep_their_digits() {
        assert_eq!(usd(2.0), "$2.00");
        assert_eq!(usd(0.42), "$0.42");
        assert_eq!(usd(0.007), "$0.0070");
        assert_eq!(usd(0.0), "$0.00");
    }

    #[test]
    fn costs_add_every_kind_of_token() {
        let p = Price::from_io(3.0, 15.0);
        assert!((p.cache_read - 0.3).abs() < 1e-12);
        assert!((p.cache_write - 3.75).abs() < 1e-12);
        let usd = p.cost(&tokens(1_000_000, 100_000, 2_000_000, 400_000));
        assert!((usd - (3.0 + 1.5 + 0.6 + 1.5)).abs() < 1e-9, "{usd}");
        assert_eq!(p.cost(&tokens(-5, 0, 0, 0)), 0.0);
    }
}
