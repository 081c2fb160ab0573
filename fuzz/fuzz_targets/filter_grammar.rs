//! The filter grammar on arbitrary text: parsing never panics, and what parses formats back
//! to text that parses to the same conditions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tdc::internals::{format_conditions, parse_conditions, parse_limit, parse_order};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_limit(text);
    let _ = parse_order(text);
    if let Ok(conditions) = parse_conditions(text) {
        let again = parse_conditions(&format_conditions(&conditions)).expect("formatted conditions parse");
        assert_eq!(again, conditions);
    }
});
