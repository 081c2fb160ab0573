//! Arbitrary JSON through the JSON -> Rhai -> JSON conversion: it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tdc::script::{dynamic_to_json, json_to_dynamic};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = dynamic_to_json(&json_to_dynamic(value));
    }
});
