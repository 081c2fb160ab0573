//! Progress on stderr for long scans, imports and downloads: count, rate and ETA when stderr is
//! a terminal, nothing otherwise (so logs and pipes stay clean) — except in a notebook's
//! kernel, which shows it as one line of the running cell's output, updated in place.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, OnceLock};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A count as people read it: `18,748`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A style whose `{rate}` is a whole number of items a second (`18,748/s`).
fn style(template: &str) -> Option<ProgressStyle> {
    ProgressStyle::with_template(template).ok().map(|style| {
        style.with_key(
            "rate",
            |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{}/s", grouped(state.per_sec().round() as u64));
            },
        )
    })
}

/// Where progress goes instead of stderr: set once, by a notebook's kernel.
type Sink = Arc<dyn Fn(&str) + Send + Sync>;
static SINK: OnceLock<Sink> = OnceLock::new();

/// Hands progress to `sink` from now on, as the one line it shows (`""` once it is cleared),
/// at most a few times a second: a notebook shows one line that changes, not one per redraw.
pub(crate) fn draw_in(sink: impl Fn(&str) + Send + Sync + 'static) {
    let _ = SINK.set(Arc::new(sink));
}

/// The least time between two lines handed to a sink (the line that clears goes at once).
const SINK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// A one-line "terminal" for [`draw_in`]: what a redraw (clear, write, flush) leaves on the
/// line is handed on.
struct Line {
    sink: Sink,
    pending: Mutex<String>,
    /// When a line was last handed on.
    last: Mutex<Option<std::time::Instant>>,
}

impl std::fmt::Debug for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Line")
    }
}

impl indicatif::TermLike for Line {
    fn width(&self) -> u16 {
        100
    }

    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_str(s);
        Ok(())
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(())
    }

    fn flush(&self) -> std::io::Result<()> {
        let text = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let line = text.trim();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        if !line.is_empty() && last.is_some_and(|at| now - at < SINK_INTERVAL) {
            return Ok(());
        }
        *last = Some(now);
        (self.sink)(line);
        Ok(())
    }
}

/// The kernel's stderr may be the terminal Jupyter was started in: the notebook comes first.
fn target() -> ProgressDrawTarget {
    if let Some(sink) = SINK.get() {
        let line = Line {
            sink: sink.clone(),
            pending: Mutex::default(),
            last: Mutex::default(),
        };
        ProgressDrawTarget::term_like(Box::new(line))
    } else if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// A bar for `total` items of a known count.
pub(crate) fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), target());
    if let Some(style) = style("{msg} {bar:30} {pos}/{len} ({rate}, ETA {eta})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

/// A counter for items whose count is not known (a streamed listing has no totals).
pub(crate) fn counter(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target());
    if let Some(style) = style("{spinner} {msg} {pos} ({rate})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(super::grouped(18_748_153), "18,748,153");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(1_000), "1,000");
    }
}
