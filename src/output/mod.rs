//! What the user sees: diagnostics (file:line:col with the source line and a caret).

pub mod diagnostic;
pub mod pretty;
