//! The one way tdc writes to stdout and stderr. Output that cannot be written is not a crash:
//! a closed pipe (`| head`) ends the command quietly with 0, as it ends other command-line
//! tools, and any other write error (`> /dev/full`) ends it with one line and 1. Either way
//! the first failure is kept here, a running script stops at its next step (the engine's
//! progress check asks [`is_broken`]), and the binary's edge turns it into the exit code:
//! nothing panics and nothing exits from the middle of the process.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Why output stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Broken {
    /// The reader went away: not an error.
    Closed,
    /// Any other write error: its one line.
    Failed(String),
}

static FIRST: OnceLock<Broken> = OnceLock::new();
static STDOUT_BROKEN: AtomicBool = AtomicBool::new(false);
static STDERR_BROKEN: AtomicBool = AtomicBool::new(false);

/// The first write that failed, if any.
pub(crate) fn broken() -> Option<&'static Broken> {
    FIRST.get()
}

/// Whether a write has failed (cheap: asked by the engine at every step of a script).
pub(crate) fn is_broken() -> bool {
    STDOUT_BROKEN.load(Ordering::Relaxed) || STDERR_BROKEN.load(Ordering::Relaxed)
}

#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

impl Stream {
    fn flag(self) -> &'static AtomicBool {
        match self {
            Stream::Out => &STDOUT_BROKEN,
            Stream::Err => &STDERR_BROKEN,
        }
    }

    fn record(self, error: &std::io::Error) {
        self.flag().store(true, Ordering::SeqCst);
        let name = match self {
            Stream::Out => "output",
            Stream::Err => "to stderr",
        };
        FIRST.get_or_init(|| match error.kind() {
            std::io::ErrorKind::BrokenPipe => Broken::Closed,
            _ => Broken::Failed(format!("tdc: cannot write {name}: {error}")),
        });
    }

    fn write(self, bytes: &[u8]) -> std::io::Result<()> {
        // A stream that failed once is not written again: its reader is gone or its disk full.
        if self.flag().load(Ordering::Relaxed) {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        let written = match self {
            Stream::Out => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes).and_then(|()| out.flush())
            }
            Stream::Err => std::io::stderr().lock().write_all(bytes),
        };
        written.inspect_err(|e| self.record(e))
    }
}

/// Writes `bytes` to stdout. An error is recorded here before it is returned.
pub(crate) fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    Stream::Out.write(bytes)
}

/// Stdout as a `Write` for writers that stream (CSV, NDJSON): its errors are recorded here.
pub(crate) struct Stdout;

impl Write for Stdout {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        Stream::Out.write(bytes).map(|()| bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn line(stream: Stream, args: std::fmt::Arguments) {
    let mut text = match args.as_str() {
        Some(text) => text.to_string(),
        None => args.to_string(),
    };
    text.push('\n');
    let _ = stream.write(text.as_bytes());
}

/// `println!` for tdc: see the module's doc.
pub(crate) fn out_line(args: std::fmt::Arguments) {
    line(Stream::Out, args);
}

/// `eprintln!` for tdc: see the module's doc.
pub(crate) fn err_line(args: std::fmt::Arguments) {
    line(Stream::Err, args);
}

/// `eprint!` for tdc (a prompt): see the module's doc.
pub(crate) fn err_text(args: std::fmt::Arguments) {
    let _ = Stream::Err.write(args.to_string().as_bytes());
}

/// A line on stdout through the sink.
macro_rules! outln {
    () => { $crate::terminal::sink::out_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::terminal::sink::out_line(format_args!($($arg)*)) };
}

/// A line on stderr through the sink.
macro_rules! errln {
    () => { $crate::terminal::sink::err_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::terminal::sink::err_line(format_args!($($arg)*)) };
}

/// Text on stderr without a newline (a prompt) through the sink.
macro_rules! errs {
    ($($arg:tt)*) => { $crate::terminal::sink::err_text(format_args!($($arg)*)) };
}

pub(crate) use {errln, errs, outln};
