//! The integration tests, as one binary (linked once): each module drives the real `tdc`
//! binary, or the library, against a sandbox on port 0 or a loopback server playing a real
//! tenant or an attacker. `cargo test --test suite cli::` runs one module.

#[path = "../common/mod.rs"]
mod common;

mod automation;
mod cli;
mod data_out;
mod editor;
mod ergonomics;
mod export;
mod notebook;
mod properties;
mod real_tenant;
mod reliability;
mod repl;
mod sandbox;
mod security;
mod stdlib;
mod stub;
mod watch;
