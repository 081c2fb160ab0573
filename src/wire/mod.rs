//! The wire contract the client and the sandbox share, so that neither depends on the other
//! for it: the filter grammar and page size ([`filter`]), the field rule ([`fields`]),
//! where a list answer keeps its records ([`envelope`]) and which URLs name one dialer
//! ([`origin`]).
//! Times travel as `YYYY-MM-DD HH:MM:SS` ([`crate::time`]).

pub mod envelope;
pub mod fields;
pub mod filter;
pub mod origin;
