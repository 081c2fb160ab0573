//! The wire contract the client and the sandbox share, so that neither depends on the other
//! for it: the filter grammar and page size ([`filter`]) and the field rule ([`fields`]).
//! Times travel as `YYYY-MM-DD HH:MM:SS` ([`crate::time`]).

pub mod fields;
pub mod filter;
