//! What the user sees: diagnostics (file:line:col with the source line and a caret), values
//! in the REPL, and progress.

pub mod diagnostic;
pub mod pretty;
pub mod progress;
pub mod sanitize;
