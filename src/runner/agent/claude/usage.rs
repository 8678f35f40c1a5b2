//! Token counts in Claude Code's stream-json: each assistant message's `usage`, and the
//! result's `usage` and per-model `modelUsage`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::{ModelTokens, RunUsage, Tokens};

/// Token counts as the Messages API reports them (in assistant messages and the result).
#[derive(Deserialize)]
pub(super) struct Usage {
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    cache_read_input_tokens: Option<i64>,
    cache_creation_input_tokens: Option<i64>,
}

impl Usage {
    pub(super) fn tokens(&self) -> Tokens {
        Tokens {
            input: self.input_tokens.unwrap_or(0),
            output: self.output_tokens.unwrap_or(0),
            cache_read: self.cache_read_input_tokens.unwrap_or(0),
            cache_write: self.cache_creation_input_tokens.unwrap_or(0),
        }
    }
}

/// One model's totals in the result's `modelUsage`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ModelUsage {
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    cache_read_input_tokens: Option<i64>,
    cache_creation_input_tokens: Option<i64>,
    #[serde(rename = "costUSD")]
    cost_usd: Option<f64>,
}

/// The run's tokens and main model from the result: `modelUsage` covers every model the CLI
/// called (side calls may use a smaller one), `usage` only the conversation's; the model is the
/// one that cost the most.
pub(super) fn result_usage(
    usage: Option<&Usage>,
    by_model: Option<&BTreeMap<String, ModelUsage>>,
) -> Option<Box<RunUsage>> {
    let Some(by_model) = by_model.filter(|m| !m.is_empty()) else {
        return usage.map(|u| {
            Box::new(RunUsage {
                tokens: Some(u.tokens()),
                ..RunUsage::default()
            })
        });
    };
    let mut total = Tokens::default();
    let mut shares = Vec::with_capacity(by_model.len());
    for (name, m) in by_model {
        let tokens = Tokens {
            input: m.input_tokens.unwrap_or(0),
            output: m.output_tokens.unwrap_or(0),
            cache_read: m.cache_read_input_tokens.unwrap_or(0),
            cache_write: m.cache_creation_input_tokens.unwrap_or(0),
        };
        total += tokens;
        shares.push(ModelTokens {
            model: name.clone(),
            tokens,
            cost_usd: m.cost_usd.filter(|c| c.is_finite()),
        });
    }
    let model = by_model
        .iter()
        .max_by(|a, b| {
            a.1.cost_usd
                .unwrap_or(0.0)
                .total_cmp(&b.1.cost_usd.unwrap_or(0.0))
        })
        .map(|(name, _)| name.clone());
    Some(Box::new(RunUsage {
        tokens: Some(total),
        model,
        by_model: shares,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::parse_line;
    use crate::domain::Tokens;
    use crate::runner::agent::AgentEvent;
    use crate::runner::outcome::Observed;

    fn tokens(input: i64, output: i64, cache_read: i64, cache_write: i64) -> Tokens {
        Tokens {
            input,
            output,
            cache_read,
            cache_write,
        }
    }

    fn observe(lines: &[&[u8]]) -> Observed {
        let mut obs = Observed::default();
        for line in lines {
            for ev in parse_line(line) {
                obs.observe(ev);
            }
        }
        obs
    }

    fn fixture_lines() -> Vec<Vec<u8>> {
        let path = format!(
            "{}/tests/fixtures/claude-stream-json/implement.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        data.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn the_results_totals_win_and_name_the_model() {
        let lines = fixture_lines();
        let obs = observe(&lines.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert_eq!(obs.tokens(), Some(tokens(25322, 70, 0, 0)));
        assert_eq!(obs.model().as_deref(), Some("claude-opus-5-5"));
    }

    #[test]
    fn without_a_result_each_message_id_counts_once() {
        // The fixture's first response comes as two lines (a text and a tool call) with the
        // same id and the same usage; the second response is one line.
        let lines = fixture_lines();
        let before_result: Vec<&[u8]> = lines
            .iter()
            .map(Vec::as_slice)
            .filter(|l| !l.windows(15).any(|w| w == br#""type":"result""#))
            .collect();
        let obs = observe(&before_result);
        assert_eq!(obs.tokens(), Some(tokens(12597 + 12725, 2, 0, 0)));
        assert_eq!(obs.model().as_deref(), Some("claude-opus-5-5"));
        let usage_events = before_result
            .iter()
            .flat_map(|l| parse_line(l))
            .filter(|e| matches!(e, AgentEvent::Usage { .. }))
            .count();
        assert_eq!(usage_events, 3);
    }

    #[test]
    fn repeated_ids_take_the_latest_count_and_new_ids_add_up() {
        let obs = observe(&[
            br#"{"type":"assistant","message":{"id":"a","model":"m1","content":[],"usage":{"input_tokens":10,"output_tokens":1,"cache_read_input_tokens":100,"cache_creation_input_tokens":5}}}"#,
            br#"{"type":"assistant","message":{"id":"a","content":[],"usage":{"input_tokens":10,"output_tokens":7,"cache_read_input_tokens":100,"cache_creation_input_tokens":5}}}"#,
            br#"{"type":"assistant","message":{"id":"b","model":"m2","content":[],"usage":{"input_tokens":3,"output_tokens":2}}}"#,
        ]);
        assert_eq!(obs.tokens(), Some(tokens(13, 9, 100, 5)));
        assert_eq!(obs.model().as_deref(), Some("m2"));
        assert_eq!(
            observe(&[
                b"{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s\",\"model\":\"m0\"}"
            ])
            .tokens(),
            None
        );
    }

    #[test]
    fn several_models_are_summed_and_the_costliest_named() {
        let obs = observe(&[
            br#"{"type":"result","subtype":"success","usage":{"input_tokens":100,"output_tokens":10},"modelUsage":{"big":{"inputTokens":100,"outputTokens":10,"cacheReadInputTokens":7,"cacheCreationInputTokens":3,"costUSD":0.5},"small":{"inputTokens":40,"outputTokens":4,"cacheReadInputTokens":0,"cacheCreationInputTokens":1,"costUSD":0.01}}}"#,
        ]);
        assert_eq!(obs.tokens(), Some(tokens(140, 14, 7, 4)));
        assert_eq!(obs.model().as_deref(), Some("big"));
        let shares: Vec<(String, Tokens, Option<f64>)> = obs
            .by_model()
            .into_iter()
            .map(|m| (m.model, m.tokens, m.cost_usd))
            .collect();
        assert_eq!(
            shares,
            [
                ("big".to_string(), tokens(100, 10, 7, 3), Some(0.5)),
                ("small".to_string(), tokens(40, 4, 0, 1), Some(0.01))
            ]
        );
        // Only `usage`: its counts, and the model from the messages.
        let obs = observe(&[
            br#"{"type":"assistant","message":{"id":"a","model":"m1","content":[],"usage":{"input_tokens":1,"output_tokens":1}}}"#,
            br#"{"type":"result","subtype":"success","usage":{"input_tokens":9,"output_tokens":8,"cache_read_input_tokens":7,"cache_creation_input_tokens":6}}"#,
        ]);
        assert_eq!(obs.tokens(), Some(tokens(9, 8, 7, 6)));
        assert_eq!(obs.model().as_deref(), Some("m1"));
    }
}
