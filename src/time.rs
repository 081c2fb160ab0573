//! Times as the dialer writes them: `YYYY-MM-DD HH:MM:SS`, UTC unless a timezone is named.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};

/// Parses `YYYY-MM-DD HH:MM:SS` (or with `T`, or without seconds), or a bare date, as seconds
/// since the epoch, reading it in UTC.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    parse_naive(text).map(|t| t.and_utc().timestamp())
}

/// `YYYY-MM-DD HH:MM:SS` read digit by digit: the form every time of the API takes, parsed
/// millions of times by exports and the sandbox's filters (chrono's format parser is slower).
fn parse_fixed(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)?.and_hms_opt(
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
    )
}

fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Some(t) = parse_fixed(text) {
        return Some(t);
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Like [`parse_time`], reading the text as local time in `zone` (an IANA name such as
/// `Europe/London`).
pub(crate) fn parse_time_in(text: &str, zone: &str) -> Result<Option<i64>, TimeError> {
    let tz = timezone(zone)?;
    Ok(
        parse_naive(text)
            .and_then(|t| tz.from_local_datetime(&t).earliest().map(|t| t.timestamp())),
    )
}

/// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC); empty when out of range.
pub(crate) fn format_time(seconds: i64) -> String {
    stamp(seconds)
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

/// A time as `YYYY-MM-DD HH:MM:SS` (UTC), held in place.
pub(crate) struct Stamp([u8; 19]);

impl Stamp {
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Seconds since the epoch as a [`Stamp`], or `None` outside the years 0 to 9999. Written
/// digit by digit rather than through a strftime pattern: the sandbox writes millions of these.
pub(crate) fn stamp(seconds: i64) -> Option<Stamp> {
    use chrono::{Datelike, Timelike};
    let time = DateTime::from_timestamp(seconds, 0)?.naive_utc();
    let year = u32::try_from(time.year()).ok().filter(|y| *y <= 9999)?;
    let mut out = *b"0000-00-00 00:00:00";
    let mut put = |at: usize, value: u32, width: usize| {
        let mut value = value;
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, year, 4);
    put(5, time.month(), 2);
    put(8, time.day(), 2);
    put(11, time.hour(), 2);
    put(14, time.minute(), 2);
    put(17, time.second(), 2);
    Some(Stamp(out))
}

/// A time that cannot be shown as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TimeError {
    #[error("unknown timezone '{0}' (use an IANA name such as Europe/London)")]
    UnknownZone(String),
    #[error("{0} is out of range")]
    OutOfRange(i64),
    #[error("bad time format '{0}'")]
    BadPattern(String),
}

/// Formats seconds since the epoch with a strftime pattern, in `zone` (or UTC).
pub(crate) fn format_time_in(
    seconds: i64,
    pattern: &str,
    zone: Option<&str>,
) -> Result<String, TimeError> {
    use std::fmt::Write;
    let utc = DateTime::from_timestamp(seconds, 0).ok_or(TimeError::OutOfRange(seconds))?;
    let mut out = String::new();
    let result = match zone {
        Some(zone) => write!(
            out,
            "{}",
            utc.with_timezone(&timezone(zone)?).format(pattern)
        ),
        None => write!(out, "{}", utc.format(pattern)),
    };
    result.map_err(|_| TimeError::BadPattern(pattern.to_string()))?;
    Ok(out)
}

/// A time relative to `now` (seconds since the epoch): `now`, `today`, `yesterday`,
/// `tomorrow` (midnight in `zone`, UTC without one), or a signed amount of `s`econds,
/// `m`inutes, `h`ours, `d`ays or `w`eeks such as `-24h`, `-7d`, `+30m`.
pub(crate) fn parse_relative(text: &str, now: i64, zone: Option<chrono_tz::Tz>) -> Option<i64> {
    let text = text.trim().to_ascii_lowercase();
    let midnight = |days: i64| {
        let day = chrono::DateTime::from_timestamp(now, 0)?;
        let local_date = match zone {
            Some(tz) => day.with_timezone(&tz).date_naive(),
            None => day.date_naive(),
        };
        let date = local_date + chrono::Duration::days(days);
        let start = date.and_hms_opt(0, 0, 0)?;
        match zone {
            Some(tz) => tz
                .from_local_datetime(&start)
                .earliest()
                .map(|t| t.timestamp()),
            None => Some(start.and_utc().timestamp()),
        }
    };
    match text.as_str() {
        "now" => return Some(now),
        "today" => return midnight(0),
        "yesterday" => return midnight(-1),
        "tomorrow" => return midnight(1),
        _ => {}
    }
    let sign = match text.chars().next()? {
        '-' => -1,
        '+' => 1,
        _ => return None,
    };
    if !text.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(now + sign * parse_duration(&text[1..])?)
}

/// A duration: a whole number of `s`econds, `m`inutes, `h`ours, `d`ays or `w`eeks (`90s`,
/// `2h`, `7d`), or plain seconds; the same units as a relative time's.
pub(crate) fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    let unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    let number = number.trim();
    if number.starts_with(['-', '+']) {
        return None;
    }
    number.parse::<i64>().ok()?.checked_mul(unit)
}

/// The forms [`parse_time_or_relative`] takes, for messages.
pub(crate) const TIME_FORMS: &str = "YYYY-MM-DD HH:MM:SS, now, today, yesterday, -24h, -7d, +30m";

/// A time as scripts' `parse_time` and `tdc export --since` read it: relative to now with
/// day words in `zone` (the profile's `timezone`, UTC without one; [`parse_relative_now`]),
/// or absolute ([`parse_time`]).
pub(crate) fn parse_time_or_relative(text: &str, zone: Option<chrono_tz::Tz>) -> Option<i64> {
    parse_relative_now(text, zone).or_else(|| parse_time(text))
}

/// [`parse_relative`] against the clock, day words in `zone`.
pub(crate) fn parse_relative_now(text: &str, zone: Option<chrono_tz::Tz>) -> Option<i64> {
    parse_relative(text, chrono::Utc::now().timestamp(), zone)
}

pub(crate) fn timezone(zone: &str) -> Result<chrono_tz::Tz, TimeError> {
    zone.parse::<chrono_tz::Tz>()
        .map_err(|_| TimeError::UnknownZone(zone.to_string()))
}

/// The hour of the day (0-23) of a time, in `zone` or UTC.
pub(crate) fn hour_of(seconds: i64, zone: Option<&str>) -> Result<i64, TimeError> {
    format_time_in(seconds, "%H", zone).map(|h| h.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {

    #[test]
    fn relative_times_count_from_now_and_days_start_at_local_midnight() {
        let now = parse_time("2025-03-10 01:30:00").unwrap();
        assert_eq!(parse_relative("now", now, None), Some(now));
        assert_eq!(parse_relative("-24h", now, None), Some(now - 86_400));
        assert_eq!(parse_relative("-7d", now, None), Some(now - 7 * 86_400));
        assert_eq!(parse_relative("+30m", now, None), Some(now + 1_800));
        assert_eq!(parse_relative("today", now, None), parse_time("2025-03-10"));
        assert_eq!(
            parse_relative("Yesterday", now, None),
            parse_time("2025-03-09")
        );
        // 01:30 UTC is still the 9th in Toronto: its "today" began at 05:00 UTC on the 9th.
        let toronto = timezone("America/Toronto").ok();
        assert_eq!(
            parse_relative("today", now, toronto),
            parse_time("2025-03-09 05:00:00")
        );
        assert_eq!(parse_relative("-5x", now, None), None);
        assert_eq!(parse_relative("-2w", now, None), Some(now - 14 * 86_400));
        assert_eq!(parse_relative("--5d", now, None), None);
        assert_eq!(parse_relative("-5", now, None), None);
        assert_eq!(parse_duration("2h"), Some(7_200));
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("-2h"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_relative("2025-01-01", now, None), None);
    }

    use super::*;

    #[test]
    fn stamps_agree_with_strftime() {
        let mut t = -62_167_219_200; // 0000-01-01 00:00:00
        while t < 253_402_300_800 {
            let expected = DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S")
                .to_string();
            assert_eq!(format_time(t), expected);
            t += 86_399 * 37 + 7_919;
        }
        assert!(stamp(253_402_300_800).is_none(), "year 10000");
        assert!(stamp(-62_167_219_201).is_none(), "before year 0");
        assert_eq!(format_time(i64::MAX), "");
    }

    #[test]
    fn parses_and_formats() {
        let t = parse_time("2025-01-01 08:30:00").unwrap();
        assert_eq!(format_time(t), "2025-01-01 08:30:00");
        assert_eq!(parse_time("2025-01-01"), Some(t - 8 * 3600 - 1800));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(hour_of(t, None).unwrap(), 8);
        assert_eq!(hour_of(t, Some("Asia/Tokyo")).unwrap(), 17);
        assert_eq!(
            parse_time_in("2025-01-01 17:30:00", "Asia/Tokyo").unwrap(),
            Some(t)
        );
        assert!(timezone("Mars/Base").is_err());
    }
}
