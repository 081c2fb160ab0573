//! The wire contract the client and the sandbox share, so that neither depends on the other
//! for it: the filter grammar and page size ([`filter`]), the field rule ([`fields`]),
//! where a list answer keeps its records ([`envelope`]) and which URLs name one dialer
//! ([`origin`]).
//! Times travel as `YYYY-MM-DD HH:MM:SS` ([`crate::time`]).

pub(crate) mod envelope;
pub(crate) mod fields;
pub(crate) mod filter;
pub(crate) mod origin;
