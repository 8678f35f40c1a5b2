//! Scheduled and repeating issues: reading `--at` and `--every` as typed, the next occurrence of
//! a repeating issue, and the few words a card shows for when a scheduled issue may start.
//!
//! A time in the past is accepted: the issue is simply claimable at once (a schedule that
//! slipped while nobody looked still runs, rather than failing the command that set it).

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::Millis;

const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;
const WEEK: Millis = 7 * DAY;

/// The shortest repetition `--every` accepts.
pub const MIN_EVERY: Millis = MINUTE;

/// The forms `--at` accepts, for its errors and help.
pub const AT_FORMS: &str = "an RFC 3339 time like 2026-12-24T09:00:00+01:00, a relative \
     time like +30m, +2h, +1d or +1w (s, m, h, d, w), or `none` to clear";

/// The forms `--every` accepts, for its errors and help.
pub const EVERY_FORMS: &str =
    "a duration like 30m, 12h, 1d or 1w (m, h, d, w; at least 1m), or `none` to clear";

/// `N` followed by one unit letter, as milliseconds; `None` when it is not that shape.
fn amount(text: &str, seconds: bool) -> Option<Millis> {
    let unit = text.chars().last()?;
    let n: Millis = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let per = match unit {
        's' if seconds => 1_000,
        'm' => MINUTE,
        'h' => HOUR,
        'd' => DAY,
        'w' => WEEK,
        _ => return None,
    };
    n.checked_mul(per).filter(|ms| *ms >= 0)
}

/// Reads `--at`: `Ok(None)` clears (`""` or `none`), else the epoch ms it names, relative
/// times counted from `now`.
pub fn parse_at(text: &str, now: Millis) -> Result<Option<Millis>, String> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let bad = || {
        format!(
            "--at {:?} is not a time: give {AT_FORMS}",
            super::sanitize::one_line(text)
        )
    };
    if let Some(rel) = t.strip_prefix('+') {
        let ms = amount(rel, true).ok_or_else(bad)?;
        return now.checked_add(ms).map(Some).ok_or_else(bad);
    }
    let ts: Timestamp = t.parse().map_err(|_| bad())?;
    Ok(Some(ts.as_millisecond()))
}

/// Reads `--every`: `Ok(None)` clears (`""` or `none`), else the period in ms (at least
/// [`MIN_EVERY`]).
pub fn parse_every(text: &str) -> Result<Option<Millis>, String> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let shown = super::sanitize::one_line(text);
    let ms = amount(t, false)
        .ok_or_else(|| format!("--every {shown:?} is not a duration: give {EVERY_FORMS}"))?;
    if ms < MIN_EVERY {
        return Err(format!(
            "--every {shown:?} is too short: an issue repeats at most once a minute (give {EVERY_FORMS})"
        ));
    }
    Ok(Some(ms))
}

/// A period as typed back: the largest whole unit (`1w`, `36h`, `90m`).
pub fn format_every(ms: Millis) -> String {
    for (per, unit) in [(WEEK, 'w'), (DAY, 'd'), (HOUR, 'h'), (MINUTE, 'm')] {
        if ms % per == 0 && ms >= per {
            return format!("{}{unit}", ms / per);
        }
    }
    format!("{}s", ms / 1_000)
}

/// When the copy of a repeating issue done at `done_at` may start: one period after the
/// done one's own time (or after `done_at` when it had none), advanced by whole periods past
/// `now` when that is behind, so a long pause yields one copy, not a backlog of them.
pub fn next_occurrence(
    previous: Option<Millis>,
    done_at: Millis,
    every: Millis,
    now: Millis,
) -> Millis {
    let every = every.max(MIN_EVERY);
    let next = previous.unwrap_or(done_at).saturating_add(every);
    if next > now {
        return next;
    }
    let behind = now - next;
    next.saturating_add((behind / every + 1).saturating_mul(every))
}

/// What a card says about an issue scheduled for `at`: nothing once it is due, `in 25m`
/// within the hour, `at 09:00` later today, else the local date (`at Dec 24`).
pub fn when_label(at: Millis, now: Millis, tz: &TimeZone) -> Option<String> {
    if at <= now {
        return None;
    }
    if at - now < HOUR {
        return Some(format!("in {}m", (at - now + MINUTE - 1) / MINUTE));
    }
    let when = Timestamp::from_millisecond(at).ok()?.to_zoned(tz.clone());
    let today = super::clock::day_of(now, tz)?;
    if when.date() == today {
        return Some(format!("at {}", when.strftime("%H:%M")));
    }
    Some(format!("at {}", when.strftime("%b %-d")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_796_007_600_000; // 2026-11-30T03:00:00Z

    #[test]
    fn at_reads_rfc3339_and_relative_times_and_clears() {
        assert_eq!(parse_at("+2h", NOW), Ok(Some(NOW + 2 * HOUR)));
        assert_eq!(parse_at("+30m", NOW), Ok(Some(NOW + 30 * MINUTE)));
        assert_eq!(parse_at(" +1d ", NOW), Ok(Some(NOW + DAY)));
        assert_eq!(parse_at("+5s", NOW), Ok(Some(NOW + 5_000)));
        assert_eq!(
            parse_at("2026-11-30T04:00:00+01:00", NOW),
            Ok(Some(NOW)),
            "the offset counts"
        );
        assert_eq!(parse_at("", NOW), Ok(None));
        assert_eq!(parse_at("none", NOW), Ok(None));
        // The past is accepted: claimable at once.
        assert_eq!(
            parse_at("2020-01-01T00:00:00Z", NOW),
            Ok(Some(1_577_836_800_000))
        );
    }

    #[test]
    fn bad_times_and_durations_name_the_accepted_forms() {
        for bad in [
            "tomorrow",
            "+2",
            "+2x",
            "2h",
            "+-1h",
            "2026-12-24",
            "x\u{1b}[2J",
        ] {
            let err = parse_at(bad, NOW).expect_err(bad);
            assert!(err.contains("RFC 3339") && err.contains("+2h"), "{err}");
            assert!(!err.contains('\u{1b}'), "{err}");
        }
        for bad in ["daily", "1", "1y", "-1d", "30s"] {
            let err = parse_every(bad).expect_err(bad);
            assert!(err.contains("1d"), "{err}");
        }
        assert!(parse_every("0m").expect_err("zero").contains("too short"));
        assert_eq!(parse_every("1d"), Ok(Some(DAY)));
        assert_eq!(parse_every("12h"), Ok(Some(12 * HOUR)));
        assert_eq!(parse_every("1w"), Ok(Some(WEEK)));
        assert_eq!(parse_every("none"), Ok(None));
    }

    #[test]
    fn periods_print_in_their_largest_whole_unit() {
        assert_eq!(format_every(WEEK), "1w");
        assert_eq!(format_every(36 * HOUR), "36h");
        assert_eq!(format_every(DAY), "1d");
        assert_eq!(format_every(90 * MINUTE), "90m");
    }

    #[test]
    fn the_next_occurrence_follows_the_schedule_and_skips_missed_ones() {
        // On time: one period after the previous time, not after when it was done.
        assert_eq!(
            next_occurrence(Some(NOW - HOUR), NOW, DAY, NOW),
            NOW - HOUR + DAY
        );
        // No time of its own: a period after it was done.
        assert_eq!(next_occurrence(None, NOW, DAY, NOW), NOW + DAY);
        // Ten days behind: the next one still ahead, exactly on the schedule's grid.
        let next = next_occurrence(Some(NOW - 10 * DAY - HOUR), NOW, DAY, NOW);
        assert_eq!(next, NOW + DAY - HOUR);
        // Exactly now is behind: the following one.
        assert_eq!(next_occurrence(Some(NOW - DAY), NOW, DAY, NOW), NOW + DAY);
    }

    #[test]
    fn a_card_says_when_in_few_words() {
        let tz = TimeZone::UTC;
        assert_eq!(when_label(NOW, NOW, &tz), None);
        assert_eq!(when_label(NOW - 1, NOW, &tz), None);
        assert_eq!(
            when_label(NOW + 25 * MINUTE, NOW, &tz).as_deref(),
            Some("in 25m")
        );
        assert_eq!(
            when_label(NOW + 6 * HOUR, NOW, &tz).as_deref(),
            Some("at 09:00")
        );
        assert_eq!(
            when_label(NOW + 24 * DAY + 6 * HOUR, NOW, &tz).as_deref(),
            Some("at Dec 24")
        );
    }
}
