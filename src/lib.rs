//! tdc, the TD dialer automation console. The crate's one entry is [`run`]; everything else
//! is the binary's own.

mod allocator;
mod api;
mod app;
mod choice;
mod cli;
mod command;
mod config;
mod export;
mod failure;
mod files;
mod jupyter;
mod lsp;
mod output;
mod phone;
mod profiles;
mod repl;
mod sandbox;
mod schedule;
mod script;
mod secret;
mod session;
mod status;
mod terminal;
mod testing;
mod time;
mod watch;
mod wire;

pub use app::run;

/// What the binary, the integration tests, the benchmarks and the fuzz targets reach inside
/// tdc. Not an API: it changes with the code.
#[doc(hidden)]
pub mod internals {
    pub use crate::allocator::Allocator;
    pub use crate::api::query::{QuerySpec, Resource};
    pub use crate::api::tls_ready;
    pub use crate::phone::{region, to_e164};
    pub use crate::sandbox::dataset::{generate, write_page, CDR_FIELDS};
    pub use crate::sandbox::routes::{path_pairs, query_pairs};
    pub use crate::sandbox::{Sandbox, SandboxOptions};
    pub use crate::script::convert::{dynamic_to_json, json_to_dynamic};
    pub use crate::script::engine::compile_engine;
    pub use crate::script::fast_json;
    pub use crate::wire::fields::{
        is_numeric_field, is_text_field, read_numeric_text, NumericText,
    };
    pub use crate::wire::filter::{
        format_conditions, parse_conditions, parse_limit, parse_order, Condition, Op,
    };
}
