//! What the user sees of a script: diagnostics (file:line:col with the source line and a
//! caret), values in the REPL, eval's output formats. Built on the script host; the host
//! itself uses only `crate::terminal`.

pub(crate) mod diagnostic;
pub(crate) mod formats;
pub(crate) mod jq;
pub(crate) mod pretty;
