//! tdc, the TD dialer automation console.

pub mod api;
pub mod cli;
pub mod sandbox;

mod app;

pub use app::run;
