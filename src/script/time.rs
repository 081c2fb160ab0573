//! Times: now, parsing (absolute and relative, in a zone), formatting, hours of the day.

use rhai::plugin::*;
use rhai::{Dynamic, ImmutableString, INT};

use super::{script_error, RhaiResultOf};

fn time_seconds(value: &Dynamic, function: &str) -> RhaiResultOf<i64> {
    if let Ok(n) = value.as_int() {
        return Ok(n);
    }
    if let Some(text) = value.read_lock::<ImmutableString>() {
        return crate::time::parse_time(&text).ok_or_else(|| {
            script_error(format!(
                "{function}: '{}' is not a time (YYYY-MM-DD HH:MM:SS)",
                text.as_str()
            ))
        });
    }
    Err(script_error(format!(
        "{function}: expected a time as text or INT seconds, got a {}",
        value.type_name()
    )))
}

#[export_module]
pub mod time_api {
    use super::*;

    /// The current time in seconds since the epoch.
    ///
    /// ```rhai
    /// let started = now();
    /// ```
    pub fn now() -> INT {
        chrono::Utc::now().timestamp()
    }

    /// Seconds since the epoch of a `YYYY-MM-DD[ HH:MM:SS]` time, read as UTC; or of a time
    /// relative to now: `now`, `today`, `yesterday`, `tomorrow` (midnight in the profile's
    /// `timezone`, UTC without one), `-24h`, `-7d`, `+30m` (`s`, `m`, `h`, `d`, `w`).
    ///
    /// ```rhai
    /// let t = parse_time("2025-01-01 08:30:00");
    /// let since = format_time(parse_time("-24h"));   // for td.cdrs().where("start_at", ">", since)
    /// ```
    #[rhai_fn(return_raw)]
    pub fn parse_time(ctx: NativeCallContext, text: &str) -> RhaiResultOf<INT> {
        let zone = crate::script::Locale::of(&ctx).zone;
        crate::time::parse_time_or_relative(text, zone).ok_or_else(|| {
            script_error(format!(
                "parse_time: '{text}' is not a time ({})",
                crate::time::TIME_FORMS
            ))
        })
    }

    /// Seconds since the epoch of a local time in a timezone (IANA name).
    ///
    /// ```rhai
    /// let t = parse_time("2025-01-01 09:00:00", "Europe/Madrid");
    /// ```
    #[rhai_fn(name = "parse_time", return_raw)]
    pub fn parse_time_in(text: &str, zone: &str) -> RhaiResultOf<INT> {
        crate::time::parse_time_in(text, zone)
            .map_err(script_error)?
            .ok_or_else(|| script_error(format!("parse_time: '{text}' is not a time in {zone}")))
    }

    /// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
    ///
    /// ```rhai
    /// print(format_time(now()));
    /// ```
    pub fn format_time(seconds: INT) -> String {
        crate::time::format_time(seconds)
    }

    /// Formats seconds since the epoch with a strftime pattern (UTC).
    ///
    /// ```rhai
    /// print(format_time(now(), "%Y-%m-%d"));
    /// ```
    #[rhai_fn(name = "format_time", return_raw)]
    pub fn format_time_pattern(seconds: INT, pattern: &str) -> RhaiResultOf<String> {
        crate::time::format_time_in(seconds, pattern, None).map_err(script_error)
    }

    /// Formats seconds since the epoch with a strftime pattern in a timezone.
    ///
    /// ```rhai
    /// print(format_time(now(), "%H:%M", "Europe/London"));
    /// ```
    #[rhai_fn(name = "format_time", return_raw)]
    pub fn format_time_zone(seconds: INT, pattern: &str, zone: &str) -> RhaiResultOf<String> {
        crate::time::format_time_in(seconds, pattern, Some(zone)).map_err(script_error)
    }

    /// The hour of the day (0-23, UTC) of a time given as text or seconds.
    ///
    /// ```rhai
    /// print(hour_of("2025-01-01 08:30:00"));   // 8
    /// ```
    #[rhai_fn(return_raw)]
    pub fn hour_of(time: Dynamic) -> RhaiResultOf<INT> {
        crate::time::hour_of(time_seconds(&time, "hour_of")?, None).map_err(script_error)
    }

    /// The hour of the day (0-23) of a time in a timezone.
    ///
    /// ```rhai
    /// print(hour_of("2025-01-01 08:30:00", "Asia/Tokyo"));   // 17
    /// ```
    #[rhai_fn(name = "hour_of", return_raw)]
    pub fn hour_of_in(time: Dynamic, zone: &str) -> RhaiResultOf<INT> {
        crate::time::hour_of(time_seconds(&time, "hour_of")?, Some(zone)).map_err(script_error)
    }

    /// Waits `seconds`. Ctrl-C, a schedule's stop and a follower's reload end the wait at once
    /// (Rhai's own `sleep` could not be interrupted).
    ///
    /// ```rhai
    /// sleep(2);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sleep(ctx: NativeCallContext, seconds: INT) -> RhaiResultOf<()> {
        wait(&ctx, seconds as f64)
    }

    /// Waits a fraction of a second or more (see `sleep(seconds)`).
    ///
    /// ```rhai
    /// sleep(0.25);
    /// ```
    #[rhai_fn(name = "sleep", return_raw)]
    pub fn sleep_float(ctx: NativeCallContext, seconds: rhai::FLOAT) -> RhaiResultOf<()> {
        wait(&ctx, seconds)
    }
}

fn wait(ctx: &NativeCallContext, seconds: f64) -> RhaiResultOf<()> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(script_error(format!(
            "sleep: {seconds} is not a number of seconds (0 or more)"
        )));
    }
    let duration = std::time::Duration::from_secs_f64(seconds.min(1e9));
    match super::dialer::HostTag::of(ctx) {
        // The timer is made inside the runtime, where it can be.
        Some(host) => match host.block_on(async move { tokio::time::sleep(duration).await }) {
            Some(()) => Ok(()),
            None => Err(super::terminated()),
        },
        None => {
            std::thread::sleep(duration);
            Ok(())
        }
    }
}
