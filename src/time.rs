//! Times as the dialer writes them: `YYYY-MM-DD HH:MM:SS`, UTC unless a timezone is named.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};

/// Parses `YYYY-MM-DD HH:MM:SS` (or with `T`, or without seconds), or a bare date, as seconds
/// since the epoch, reading it in UTC.
pub fn parse_time(text: &str) -> Option<i64> {
    parse_naive(text).map(|t| t.and_utc().timestamp())
}

fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
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
pub fn parse_time_in(text: &str, zone: &str) -> Result<Option<i64>, String> {
    let tz = timezone(zone)?;
    Ok(
        parse_naive(text)
            .and_then(|t| tz.from_local_datetime(&t).earliest().map(|t| t.timestamp())),
    )
}

/// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn format_time(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Formats seconds since the epoch with a strftime pattern, in `zone` (or UTC).
pub fn format_time_in(seconds: i64, pattern: &str, zone: Option<&str>) -> Result<String, String> {
    use std::fmt::Write;
    let utc =
        DateTime::from_timestamp(seconds, 0).ok_or_else(|| format!("{seconds} is out of range"))?;
    let mut out = String::new();
    let result = match zone {
        Some(zone) => write!(
            out,
            "{}",
            utc.with_timezone(&timezone(zone)?).format(pattern)
        ),
        None => write!(out, "{}", utc.format(pattern)),
    };
    result.map_err(|_| format!("bad time format '{pattern}'"))?;
    Ok(out)
}

pub fn timezone(zone: &str) -> Result<chrono_tz::Tz, String> {
    zone.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("unknown timezone '{zone}' (use an IANA name such as Europe/London)"))
}

/// The hour of the day (0-23) of a time, in `zone` or UTC.
pub fn hour_of(seconds: i64, zone: Option<&str>) -> Result<i64, String> {
    format_time_in(seconds, "%H", zone).map(|h| h.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

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
