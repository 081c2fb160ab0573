//! The terminal, below everything that prints: text made safe to show, progress bars, and
//! stdout that may be a closed pipe.

pub mod log;
pub mod progress;
pub mod sanitize;
pub mod sink;
