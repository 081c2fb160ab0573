//! The terminal, below everything that prints: text made safe to show, progress bars, and
//! stdout that may be a closed pipe.

pub(crate) mod log;
pub(crate) mod progress;
pub(crate) mod sanitize;
pub(crate) mod sink;
