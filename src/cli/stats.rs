//! `stats`: where the money and the hours went, as an aligned text report or JSON.

use std::collections::BTreeMap;
use std::io::Write;

use jiff::civil::Date;

use super::{output, Ctx};
use crate::domain::stats::{Durations, Stats, TemplateStats, Usage};
use crate::domain::Printable;
use crate::store::StatsQuery;

/// Prints the report from `since` (all time when `None`), in the local time zone.
pub fn print_stats(
    ctx: &Ctx,
    out: &mut impl Write,
    since: Option<Date>,
    json: bool,
) -> anyhow::Result<()> {
    let query = StatsQuery {
        since,
        ..StatsQuery::all_time()
    };
    let stats = ctx.store()?.stats(&query)?;
    if json {
        writeln!(out, "{}", output::json_text(&stats)?)?;
    } else {
        print_text(out, stats.printable())?;
    }
    Ok(())
}

fn usd(v: f64) -> String {
    format!("${v:.4}")
}

fn plural(n: i64, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// `1h 05m`, `4m 10s`, `12s`: the largest two units.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as i64;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

fn opt_duration(secs: Option<f64>) -> String {
    secs.map_or_else(|| "-".to_string(), duration)
}

fn groups(out: &mut impl Write, title: &str, map: &BTreeMap<String, Usage>) -> anyhow::Result<()> {
    if map.is_empty() {
        return Ok(());
    }
    let width = map
        .keys()
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    writeln!(
        out,
        "\n{title:<width$}  {:>6}  {:>10}  {:>10}  {:>9}  {:>10}  {:>10}",
        "RUNS",
        "COST",
        "MEAN COST",
        "MEAN TIME",
        "TOKENS IN",
        "OUT",
        width = width + 2
    )?;
    for (name, u) in map {
        let mean = u.mean_cost_usd.map_or_else(|| "-".to_string(), usd);
        writeln!(
            out,
            "  {name:<width$}  {:>6}  {:>10}  {:>10}  {:>9}  {:>10}  {:>10}",
            u.runs,
            usd(u.cost_usd),
            mean,
            opt_duration(u.mean_duration_secs),
            u.input_tokens,
            u.output_tokens,
        )?;
    }
    Ok(())
}

/// The implement runs per prompt template; nothing while no run carried one.
fn templates(out: &mut impl Write, map: &BTreeMap<String, TemplateStats>) -> anyhow::Result<()> {
    if map.keys().all(|k| k == "none") {
        return Ok(());
    }
    let width = map
        .keys()
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    writeln!(
        out,
        "\n{:<width$}  {:>6}  {:>14}  {:>10}  {:>10}  {:>9}",
        "TEMPLATE",
        "RUNS",
        "FIRST TRY",
        "MEAN COST",
        "MEAN TURNS",
        "MEAN TIME",
        width = width + 2
    )?;
    for (name, t) in map {
        let u = &t.all;
        let first = match u.success_rate {
            Some(rate) => format!(
                "{}/{} {:.0}%",
                u.first_try_reviews,
                u.first_runs,
                rate * 100.0
            ),
            None => "-".into(),
        };
        writeln!(
            out,
            "  {name:<width$}  {:>6}  {first:>14}  {:>10}  {:>10}  {:>9}",
            u.runs,
            u.mean_cost_usd.map_or_else(|| "-".to_string(), usd),
            u.mean_turns
                .map_or_else(|| "-".to_string(), |t| format!("{t:.1}")),
            opt_duration(u.mean_duration_secs),
        )?;
    }
    Ok(())
}

fn times(out: &mut impl Write, label: &str, d: &Durations) -> anyhow::Result<()> {
    if d.samples == 0 {
        writeln!(out, "  {label:<12}no issue yet")?;
    } else {
        writeln!(
            out,
            "  {label:<12}mean {} · median {} ({})",
            opt_duration(d.mean_secs),
            opt_duration(d.median_secs),
            plural(d.samples, "issue")
        )?;
    }
    Ok(())
}

/// The text report; `s` is already printable.
fn print_text(out: &mut impl Write, s: Stats) -> anyhow::Result<()> {
    let window = s
        .since
        .as_deref()
        .map_or("all time".to_string(), |d| format!("since {d}"));
    writeln!(
        out,
        "spend       {} {window} · {} today ({}) · {}",
        usd(s.total_cost_usd),
        usd(s.today_cost_usd),
        s.time_zone,
        plural(s.runs, "run")
    )?;
    writeln!(
        out,
        "tokens      {} in · {} out · {} cache read · {} cache write",
        s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens
    )?;
    if s.runs == 0 {
        writeln!(out, "no runs {window}")?;
    }
    if !s.failures.is_empty() {
        let each: Vec<String> = s.failures.iter().map(|(c, n)| format!("{c} {n}")).collect();
        writeln!(out, "failures    {}", each.join(" · "))?;
    }
    groups(out, "OUTCOME", &s.per_outcome)?;
    groups(out, "KIND", &s.per_kind)?;
    groups(out, "MODEL", &s.by_model)?;
    groups(out, "AGENT", &s.by_agent)?;
    templates(out, &s.by_template)?;
    if !s.by_day.is_empty() {
        writeln!(out, "\n{:<12}  {:>10}  {:>6}", "DAY", "COST", "RUNS")?;
        for d in &s.by_day {
            writeln!(out, "  {}  {:>10}  {:>6}", d.day, usd(d.cost_usd), d.runs)?;
        }
    }
    if !s.top_issues.is_empty() {
        writeln!(out, "\nCOSTLIEST ISSUES")?;
        for i in &s.top_issues {
            writeln!(
                out,
                "  {:>6}  {:>10}  {:>7}  {:<11}  {}",
                format!("#{}", i.id),
                usd(i.cost_usd),
                plural(i.runs, "run"),
                i.status.as_str(),
                i.title
            )?;
        }
    }
    let f = &s.flow;
    writeln!(out, "\nFLOW")?;
    times(out, "lead time", &f.lead_time)?;
    times(out, "cycle time", &f.cycle_time)?;
    times(out, "blocked", &f.blocked_time)?;
    if f.blocked_time.samples > 0 {
        writeln!(
            out,
            "  {:<12}{} waiting for a human in all",
            "",
            duration(f.blocked_total_secs)
        )?;
    }
    match f.success_rate {
        Some(rate) => writeln!(
            out,
            "  {:<12}{} of {} reached review on the first run ({:.0}%)",
            "first try",
            f.first_try_reviews,
            plural(f.first_runs, "issue"),
            rate * 100.0
        )?,
        None => writeln!(out, "  {:<12}no first run has ended yet", "first try")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(duration(0.4), "0s");
        assert_eq!(duration(250.0), "4m 10s");
        assert_eq!(duration(3_900.0), "1h 05m");
        assert_eq!(duration(90_000.0), "1d 01h");
        assert_eq!(duration(-5.0), "0s");
    }
}
