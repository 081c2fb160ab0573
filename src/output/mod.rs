//! What the user sees of a script: diagnostics (file:line:col with the source line and a
//! caret), values in the REPL, eval's output formats. Built on the script host; the host
//! itself uses only `crate::terminal`.

pub mod diagnostic;
pub mod formats;
pub mod jq;
pub mod pretty;
