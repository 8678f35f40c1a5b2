//! Local days: spend is added up and the daily budget resets by the user's calendar, not UTC's,
//! and a day is not always 24 hours long (DST), so day boundaries come from the time zone.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::Millis;

/// The time zone days are counted in: `TZ`, else the system's (`/etc/localtime`), else UTC.
pub fn local_zone() -> TimeZone {
    TimeZone::try_system().unwrap_or(TimeZone::UTC)
}

fn zoned(ms: Millis, tz: &TimeZone) -> Option<jiff::Zoned> {
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| t.to_zoned(tz.clone()))
}

/// The local calendar day of `ms` (`2026-11-30`).
pub fn day_of(ms: Millis, tz: &TimeZone) -> Option<Date> {
    zoned(ms, tz).map(|z| z.date())
}

/// The first millisecond of `day` in `tz` (midnight, or the first instant after a DST gap).
pub fn day_start(day: Date, tz: &TimeZone) -> Option<Millis> {
    day.to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// The local midnight that begins the day after the one holding `ms`: when a daily hold lifts.
pub fn next_midnight(ms: Millis, tz: &TimeZone) -> Option<Millis> {
    let day = day_of(ms, tz)?;
    day_start(day.tomorrow().ok()?, tz)
}

/// Where the local day holding `ms` began.
pub fn today_start(ms: Millis, tz: &TimeZone) -> Option<Millis> {
    day_start(day_of(ms, tz)?, tz)
}

/// Reads a `YYYY-MM-DD` day as typed by a user, with an error that says what was expected.
pub fn parse_day(text: &str) -> Result<Date, String> {
    text.trim().parse::<Date>().map_err(|_| {
        format!(
            "{:?} is not a date: expected YYYY-MM-DD, e.g. 2026-11-30",
            super::sanitize::one_line(text)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).expect("zone in the system tz database")
    }

    #[test]
    fn a_day_is_the_local_calendar_day() {
        // 2026-11-30T03:00Z is still the 29th in New York (UTC-5).
        let ms = 1_796_007_600_000;
        assert_eq!(
            day_of(ms, &TimeZone::UTC).map(|d| d.to_string()),
            Some("2026-11-30".into())
        );
        let ny = tz("America/New_York");
        assert_eq!(
            day_of(ms, &ny).map(|d| d.to_string()),
            Some("2026-11-29".into())
        );
        assert_eq!(
            next_midnight(ms, &ny),
            Some(1_796_014_800_000),
            "2026-11-30T05:00Z"
        );
        assert_eq!(
            today_start(ms, &ny),
            Some(1_795_928_400_000),
            "2026-11-29T05:00Z"
        );
    }

    #[test]
    fn a_dst_day_is_not_24_hours() {
        // Spring forward in New York: 2026-03-08 has 23 hours.
        let ny = tz("America/New_York");
        let start = day_start(parse_day("2026-03-08").expect("day"), &ny).expect("start");
        let next = next_midnight(start, &ny).expect("next");
        assert_eq!(next - start, 23 * 3_600_000);
    }

    #[test]
    fn bad_days_are_refused_with_the_format() {
        for bad in [
            "",
            "30/11/2026",
            "2026-13-01",
            "2026-02-30",
            "yesterday\u{1b}[2J",
        ] {
            let err = parse_day(bad).expect_err(bad);
            assert!(err.contains("YYYY-MM-DD"), "{err}");
            assert!(!err.contains('\u{1b}'), "{err}");
        }
        assert_eq!(
            parse_day(" 2026-11-30 ").map(|d| d.to_string()),
            Ok("2026-11-30".into())
        );
    }
}
