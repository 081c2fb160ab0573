//! The terminal, below everything that prints: text made safe to show, progress bars, and
//! stdout that may be a closed pipe.

pub mod log;
pub mod progress;
pub mod sanitize;

/// Writes bytes to stdout: a closed pipe ends quietly (exit 0), any other error is one line
/// and exit 1. Returns the exit code.
pub fn write_stdout(bytes: &[u8]) -> i32 {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("tdc: cannot write output: {e}");
            1
        }
    }
}
