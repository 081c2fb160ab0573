//! tdc, the TD dialer automation console.

pub mod allocator;
pub mod api;
pub mod choice;
pub mod cli;
pub mod config;
pub mod sandbox;

mod app;
pub mod doctor;
pub mod export;
pub mod files;
mod jupyter;
pub mod output;
pub mod phone;
pub mod profiles;
pub mod repl;
mod schedule;
pub mod script;
pub mod secret;
pub mod session;
pub(crate) mod status;
pub mod terminal;
pub mod testing;
pub mod time;
pub mod watch;
pub mod wire;

pub use app::run;
