//! Text helpers: records as an aligned table, phone numbers in the dialer's E.164 form, and
//! row fingerprints.

use rhai::plugin::*;
use rhai::{Array, Dynamic};

use super::csv::column_names;
use super::dynamic_to_json;
use super::{script_error, RhaiResultOf};
use crate::script::table::{self, columns_of, Layout};

#[export_module]
pub mod text_api {
    use super::*;

    /// Records as an aligned text table (every key a column).
    ///
    /// ```rhai
    /// print(table(td.campaigns()));
    /// ```
    pub fn table(records: &mut Array) -> String {
        let columns = columns_of(records);
        table::table(records, &columns, Layout::full())
    }

    /// Records as an aligned text table with the given columns.
    ///
    /// ```rhai
    /// print(table(td.cdrs().limit(5).to_array(), ["id", "status", "bill_duration"]));
    /// ```
    #[rhai_fn(name = "table", return_raw)]
    pub fn table_columns(records: &mut Array, columns: Array) -> RhaiResultOf<String> {
        Ok(table::table(
            records,
            &column_names(&columns)?,
            Layout::full(),
        ))
    }

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

    /// A stable fingerprint of a value (16 hex digits): the same content gives the same text
    /// on every run and machine. Map keys are compared in order, so field order does not matter.
    ///
    /// ```rhai
    /// let id = "csv-" + fingerprint(#{ phone: "447700001234", last_name: "Smith" });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn fingerprint(value: Dynamic) -> RhaiResultOf<String> {
        let json =
            dynamic_to_json(&value).map_err(|e| script_error(format!("fingerprint: {e}")))?;
        // Over the canonical JSON text (Rhai maps keep their keys sorted).
        Ok(format!(
            "{:016x}",
            crate::api::journal::fingerprint(&json.to_string())
        ))
    }
}
