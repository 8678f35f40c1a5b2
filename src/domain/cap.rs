//! Spending caps in US dollars, as every layer reads them: the config's `[budget]`, the CLI's
//! `--budget`, the editor's Budget field and the store's own check.

/// Whether `v` can be a cap: finite and above zero.
pub fn valid_usd(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// Text that is neither a cap nor `none`; each caller says so in its own place's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotACap;

/// A cap as a person types it: empty or `none` for no cap of its own, else dollars above zero
/// (`5`, `2.50`, `$3`); [`NotACap`] when it is neither.
pub fn parse_cap(text: &str) -> Result<Option<f64>, NotACap> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match t.trim_start_matches('$').parse::<f64>() {
        Ok(v) if valid_usd(v) => Ok(Some(v)),
        _ => Err(NotACap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_are_positive_dollars_or_none() {
        for (text, cap) in [
            ("5", Some(5.0)),
            (" $2.50 ", Some(2.5)),
            ("", None),
            ("NONE", None),
        ] {
            assert_eq!(parse_cap(text), Ok(cap), "{text:?}");
        }
        for bad in ["0", "-1", "nan", "inf", "1e400", "abc", "$", "\u{1b}[2J"] {
            assert_eq!(parse_cap(bad), Err(NotACap), "{bad:?}");
        }
    }
}
