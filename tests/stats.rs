//! `stats` through the real binary and the fake agent: its totals are the sum of the runs
//! `show --json` reports, its JSON keys are pinned, bad input is refused as a usage error.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::TestRepo;

fn stats(repo: &TestRepo, args: &[&str]) -> Value {
    let mut all = vec!["stats", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&repo.ok(&all)).unwrap()
}

/// Every run of every issue, as `show --json` reports them.
fn all_runs(repo: &TestRepo) -> Vec<Value> {
    let list: Value = serde_json::from_str(&repo.ok(&["list", "--json"])).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .flat_map(|i| {
            let id = i["id"].as_i64().unwrap();
            repo.show(id)["runs"].as_array().unwrap().clone()
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn stats_totals_are_the_sum_of_the_runs() {
    let repo = TestRepo::new().with_env("TZ", "Asia/Kolkata");
    repo.add(&["Say hello", "--ready", "--kind", "chore"]);
    repo.add(&["Pick a database [scenario:ask]", "--ready"]);
    repo.add(&["Fails [scenario:fail]", "--ready", "--kind", "bug"]);
    repo.add(&["Title \u{1b}[2J\u{202e} [scenario:nochange]", "--ready"]);
    repo.ok(&["run", "--once"]);

    let runs = all_runs(&repo);
    assert!(runs.len() >= 4, "{runs:?}");
    let s = stats(&repo, &[]);
    let cost: f64 = runs.iter().filter_map(|r| r["cost_usd"].as_f64()).sum();
    assert!(cost > 0.0, "the fake agent reports costs");
    assert!(close(s["total_cost_usd"].as_f64().unwrap(), cost), "{s}");
    assert_eq!(s["runs"], runs.len() as i64);
    for key in [
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
    ] {
        let sum: i64 = runs.iter().filter_map(|r| r[key].as_i64()).sum();
        assert_eq!(s[key], sum, "{key}: {s}");
    }
    let mut outcomes = std::collections::BTreeMap::<String, i64>::new();
    for r in &runs {
        *outcomes
            .entry(r["outcome"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(s["by_outcome"], serde_json::to_value(&outcomes).unwrap());
    assert_eq!(s["time_zone"], "Asia/Kolkata");
    let days = s["by_day"].as_array().unwrap();
    let day_sum: f64 = days.iter().map(|d| d["cost_usd"].as_f64().unwrap()).sum();
    let day_runs: i64 = days.iter().map(|d| d["runs"].as_i64().unwrap()).sum();
    assert!(close(day_sum, cost) && day_runs == runs.len() as i64, "{s}");
    // Everything ran today, unless the test itself crossed midnight in Kolkata.
    let today = s["today_cost_usd"].as_f64().unwrap();
    if days.len() == 1 {
        assert!(close(today, cost), "{s}");
    }
    let by_model: f64 = s["by_model"]
        .as_object()
        .unwrap()
        .values()
        .map(|u| u["cost_usd"].as_f64().unwrap())
        .sum();
    assert!(close(by_model, cost), "{s}");
    assert_eq!(s["by_agent"].as_object().unwrap().len(), 1, "{s}");
    let top = &s["top_issues"][0];
    assert!(top["cost_usd"].as_f64().unwrap() > 0.0, "{s}");

    // The text report: titles and names come out printable.
    let text = repo.ok(&["stats"]);
    assert!(text.contains("COSTLIEST ISSUES"), "{text}");
    assert!(!text.contains(['\u{1b}', '\u{202e}']), "{text:?}");
    assert!(text.contains("(Asia/Kolkata)"), "{text}");

    // A window that starts tomorrow is empty; today's spend is still today's.
    let s = stats(&repo, &["--since", "2999-12-31"]);
    assert_eq!(
        (s["runs"].as_i64(), s["total_cost_usd"].as_f64()),
        (Some(0), Some(0.0))
    );
    assert!(close(s["today_cost_usd"].as_f64().unwrap(), today), "{s}");
    assert!(s["by_day"].as_array().unwrap().is_empty());
}

#[test]
fn bad_since_dates_are_usage_errors_that_name_the_format() {
    let repo = TestRepo::new();
    for bad in ["garbage", "2026-02-30", "30/11/2026"] {
        let out = repo.run(&["stats", "--since", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("YYYY-MM-DD"), "{err}");
    }
    let text = repo.ok(&["stats"]);
    assert!(text.contains("no runs all time"), "{text}");
}

/// Replaces what varies between runs (times, days, the zone's offset) with placeholders.
fn normalize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k.ends_with("_secs") && v.is_number() {
                    *v = Value::String("<secs>".into());
                } else if k == "day" {
                    *v = Value::String("<day>".into());
                } else {
                    normalize(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

#[test]
fn stats_json_is_pinned_byte_for_byte() {
    let repo = TestRepo::new().with_env("TZ", "UTC");
    repo.add(&["Say hello", "--ready", "--kind", "bug"]);
    repo.ok(&["run", "--once"]);
    let mut s = stats(&repo, &[]);
    normalize(&mut s);
    let text = serde_json::to_string_pretty(&s).unwrap();
    assert_eq!(text, STATS_JSON, "stats --json changed:\n{text}");
}

const STATS_JSON: &str = r#"{
  "by_agent": {
    "test-agent-1": {
      "cache_read_tokens": 0,
      "cache_write_tokens": 0,
      "cost_usd": 0.102688,
      "input_tokens": 25322,
      "mean_cost_usd": 0.102688,
      "mean_duration_secs": "<secs>",
      "output_tokens": 70,
      "runs": 1
    }
  },
  "by_day": [
    {
      "cost_usd": 0.102688,
      "day": "<day>",
      "runs": 1
    }
  ],
  "by_model": {
    "claude-opus-5-5": {
      "cache_read_tokens": 0,
      "cache_write_tokens": 0,
      "cost_usd": 0.102688,
      "input_tokens": 25322,
      "mean_cost_usd": 0.102688,
      "mean_duration_secs": "<secs>",
      "output_tokens": 70,
      "runs": 1
    }
  },
  "by_outcome": {
    "implemented": 1
  },
  "by_template": {
    "none": {
      "by_model": {
        "claude-opus-5-5": {
          "cost_usd": 0.102688,
          "first_runs": 1,
          "first_try_reviews": 1,
          "mean_cost_usd": 0.102688,
          "mean_duration_secs": "<secs>",
          "mean_turns": 2.0,
          "runs": 1,
          "success_rate": 1.0
        }
      },
      "cost_usd": 0.102688,
      "first_runs": 1,
      "first_try_reviews": 1,
      "mean_cost_usd": 0.102688,
      "mean_duration_secs": "<secs>",
      "mean_turns": 2.0,
      "runs": 1,
      "success_rate": 1.0
    }
  },
  "cache_read_tokens": 0,
  "cache_write_tokens": 0,
  "failures": {},
  "flow": {
    "blocked_time": {
      "mean_secs": null,
      "median_secs": null,
      "samples": 0
    },
    "blocked_total_secs": "<secs>",
    "cycle_time": {
      "mean_secs": "<secs>",
      "median_secs": "<secs>",
      "samples": 1
    },
    "first_runs": 1,
    "first_try_reviews": 1,
    "lead_time": {
      "mean_secs": null,
      "median_secs": null,
      "samples": 0
    },
    "success_rate": 1.0
  },
  "input_tokens": 25322,
  "output_tokens": 70,
  "per_kind": {
    "bug": {
      "cache_read_tokens": 0,
      "cache_write_tokens": 0,
      "cost_usd": 0.102688,
      "input_tokens": 25322,
      "mean_cost_usd": 0.102688,
      "mean_duration_secs": "<secs>",
      "output_tokens": 70,
      "runs": 1
    }
  },
  "per_outcome": {
    "implemented": {
      "cache_read_tokens": 0,
      "cache_write_tokens": 0,
      "cost_usd": 0.102688,
      "input_tokens": 25322,
      "mean_cost_usd": 0.102688,
      "mean_duration_secs": "<secs>",
      "output_tokens": 70,
      "runs": 1
    }
  },
  "runs": 1,
  "since": null,
  "time_zone": "UTC",
  "today_cost_usd": 0.102688,
  "top_issues": [
    {
      "cost_usd": 0.102688,
      "id": 1,
      "runs": 1,
      "status": "in_review",
      "title": "Say hello"
    }
  ],
  "total_cost_usd": 0.102688
}"#;
