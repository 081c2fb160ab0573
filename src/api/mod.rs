//! The dialer API: the filter grammar shared with the sandbox, and the async client.

pub mod query;
