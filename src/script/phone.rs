//! Phone numbers for scripts: `normalize_phone` into the dialer's E.164 form and the
//! `default_region` national numbers are read in (the rules are `crate::phone`'s).

use rhai::plugin::*;
use rhai::Dynamic;

use super::{script_error, RhaiResultOf};

#[export_module]
pub mod phone_api {
    use super::*;

    /// A phone number as the dialer stores it: E.164 digits without the `+`, or `()` when it
    /// is not a valid number. National numbers are read in the profile's `default_region`;
    /// without one they need their country code (`+44 …`, `0044 …`, `44…`).
    ///
    /// ```rhai
    /// print(normalize_phone("+44 (0)7700 900101"));   // 447700900101
    /// print(normalize_phone("12"));                   // ()
    /// ```
    pub fn normalize_phone(ctx: NativeCallContext, phone: &str) -> Dynamic {
        let region = crate::script::Locale::of(&ctx).region;
        crate::phone::to_e164(phone, region).map_or(Dynamic::UNIT, Dynamic::from)
    }

    /// The region national phone numbers are read in when a call names none: the profile's
    /// `default_region` (an ISO 3166 code such as `"GB"`), or `()` when it sets none.
    ///
    /// ```rhai
    /// if default_region() == () { print("national numbers need a region"); }
    /// ```
    pub fn default_region(ctx: NativeCallContext) -> Dynamic {
        let region = crate::script::Locale::of(&ctx).region;
        region.map_or(Dynamic::UNIT, |id| id.as_ref().into())
    }

    /// A phone number as the dialer stores it, national numbers read in `region` (an ISO
    /// 3166 code such as `"GB"`); `()` when it is not a valid number there.
    ///
    /// ```rhai
    /// print(normalize_phone("07700 900101", "GB"));   // 447700900101
    /// ```
    #[rhai_fn(name = "normalize_phone", return_raw)]
    pub fn normalize_phone_in(phone: &str, region: &str) -> RhaiResultOf<Dynamic> {
        let region = crate::phone::region(region)
            .map_err(|e| script_error(format!("normalize_phone: {e}")))?;
        Ok(crate::phone::to_e164(phone, Some(region)).map_or(Dynamic::UNIT, Dynamic::from))
    }
}
