//! Status lines of runs that go on unattended (watch mode, schedules, followers): on stderr
//! as `[HH:MM:SS] text`, or with `--log-format json` one JSON object a line
//! (`{"time", "level", "message"}`) for journald, Loki and the like. Server text inside a
//! message is made safe first; JSON escapes the rest.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::terminal::sink::errln;

static JSON: AtomicBool = AtomicBool::new(false);

/// `--log-format json`: for the rest of the process.
pub(crate) fn set_json(on: bool) {
    JSON.store(on, Ordering::SeqCst);
}

pub(crate) fn info(message: &str) {
    write("info", message);
}

pub(crate) fn warn(message: &str) {
    write("warn", message);
}

/// An error; `message` may span lines (a diagnostic with its source line and caret).
pub(crate) fn error(message: &str) {
    write("error", message);
}

/// A line tdc writes in any run (`tdc: …`: a banner, a request being retried): as it is, or
/// as a JSON line with `--log-format json`, so that a JSON log holds nothing else.
pub(crate) fn tdc_line(level: &str, message: &str) {
    if JSON.load(Ordering::SeqCst) {
        write(level, message);
    } else {
        errln!("tdc: {message}");
    }
}

fn write(level: &str, message: &str) {
    let now = chrono::Local::now();
    let line = if JSON.load(Ordering::SeqCst) {
        serde_json::json!({
            "time": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "level": level,
            "message": message,
        })
        .to_string()
    } else if level == "error" {
        message.to_string()
    } else {
        format!("[{}] {message}", now.format("%H:%M:%S"))
    };
    errln!("{line}");
}
