//! Phone numbers as the dialer stores them: E.164 digits without the `+` (`447700900101`),
//! with libphonenumber's metadata (the `phonenumber` crate). `+44 (0)7700 900101`,
//! `07700 900101` read in region GB, and `0044 7700 900101` are one number; `12` is none.
//!
//! Text that is already E.164 digits (8 to 15 digits, not starting with 0) takes a fast path
//! without parsing: most numbers that come back from a dialer are in that form already, and a
//! million normalizations must stay well under a second.

use std::str::FromStr;
use std::sync::RwLock;

use phonenumber::country;

/// The region national numbers belong to when none is given (the profile's `default_region`).
static DEFAULT_REGION: RwLock<Option<country::Id>> = RwLock::new(None);

/// A region by its ISO 3166 code (`GB`, `US`), or an error naming it.
pub fn region(code: &str) -> Result<country::Id, String> {
    country::Id::from_str(&code.trim().to_ascii_uppercase())
        .map_err(|_| format!("unknown region '{code}' (use an ISO 3166 code such as GB or US)"))
}

/// Sets the region national numbers are read in when a call names none.
pub fn set_default_region(code: Option<&str>) -> Result<(), String> {
    let id = code.map(region).transpose()?;
    *DEFAULT_REGION.write().unwrap_or_else(|e| e.into_inner()) = id;
    Ok(())
}

pub fn default_region() -> Option<country::Id> {
    *DEFAULT_REGION.read().unwrap_or_else(|e| e.into_inner())
}

/// Already E.164 digits: nothing to parse.
fn is_e164_digits(text: &str) -> bool {
    (8..=15).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit())
        && !text.starts_with('0')
}

/// A number of a length its country uses, though in a range libphonenumber does not list as
/// assigned (such as the UK's 07700 900xxx, kept for examples and tests). Like
/// libphonenumber's `isPossibleNumber`.
fn possible(number: &phonenumber::PhoneNumber) -> bool {
    use phonenumber::Type;
    let national = number.national().to_string().len() as u16;
    phonenumber::metadata::DATABASE
        .by_code(&number.country().code())
        .is_some_and(|metas| {
            metas.iter().any(|meta| {
                let descriptors = meta.descriptors();
                [Type::FixedLine, Type::Mobile, Type::TollFree, Type::Voip]
                    .into_iter()
                    .filter_map(|kind| descriptors.get(kind))
                    .chain(std::iter::once(descriptors.general()))
                    .any(|d| d.possible_length().contains(&national))
            })
        })
}

/// The E.164 digits of `text` read in `region` (national numbers), or `None` when it is not a
/// valid number there.
pub fn to_e164(text: &str, region: Option<country::Id>) -> Option<String> {
    let text = text.trim();
    // Letters are not digits (libphonenumber would read 9OO as 966, a vanity number).
    if text.bytes().any(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    if is_e164_digits(text) && region.is_none() {
        return Some(text.to_string());
    }
    // "(0)" marks a trunk prefix written beside the country code: +44 (0)7700 …
    let cleaned = text.replace("(0)", "");
    let mut digits: String = cleaned.chars().filter(char::is_ascii_digit).collect();
    let international = cleaned.trim_start().starts_with('+') || digits.starts_with("00");
    if let Some(rest) = digits.strip_prefix("00") {
        digits = rest.to_string();
    }
    if digits.is_empty() {
        return None;
    }
    let parsed = if international || (region.is_none() && !digits.starts_with('0')) {
        phonenumber::parse(None, format!("+{digits}"))
    } else {
        phonenumber::parse(region, &digits)
    };
    let number = parsed.ok()?;
    if !phonenumber::is_valid(&number) && !possible(&number) {
        return None;
    }
    let formatted = number.format().mode(phonenumber::Mode::E164).to_string();
    Some(formatted.trim_start_matches('+').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_number_however_it_is_written() {
        let gb = region("GB").ok();
        assert_eq!(
            to_e164("+44 (0)7700 900101", None).as_deref(),
            Some("447700900101")
        );
        assert_eq!(to_e164("07700 900101", gb).as_deref(), Some("447700900101"));
        assert_eq!(
            to_e164("0044 7700 900101", None).as_deref(),
            Some("447700900101")
        );
        assert_eq!(
            to_e164("447700900101", None).as_deref(),
            Some("447700900101")
        );
        assert_eq!(
            to_e164("+1 (202) 555-0143", None).as_deref(),
            Some("12025550143")
        );
        assert_eq!(to_e164("12", None), None);
        assert_eq!(to_e164("07700 9OO999", gb), None, "letters are not digits");
        assert_eq!(to_e164("", gb), None);
        assert!(region("XX").is_err());
    }
}
