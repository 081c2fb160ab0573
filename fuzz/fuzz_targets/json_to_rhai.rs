//! Arbitrary bytes through the one JSON -> Rhai converter, as answer text and as a parsed
//! value: it never panics, and both readings agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tdc::internals::{dynamic_to_json, fast_json, json_to_dynamic};

fuzz_target!(|data: &[u8]| {
    let from_text = fast_json::parse(data).map(|v| dynamic_to_json(&v));
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let from_value = dynamic_to_json(&json_to_dynamic(value));
        if let Ok(from_text) = from_text {
            assert_eq!(from_text.ok(), from_value.ok());
        }
    }
});
