//! Phone numbers as the dialer stores them: E.164 digits without the `+` (`447700900101`),
//! with libphonenumber's metadata (the `phonenumber` crate). `+44 (0)7700 900101`,
//! `07700 900101` read in region GB, and `0044 7700 900101` are one number; `12` is none.
//!
//! Text that is already E.164 digits (8 to 15 digits, not starting with 0) takes a fast path
//! without parsing: most numbers that come back from a dialer are in that form already, and a
//! million normalizations must stay well under a second.

use std::str::FromStr;

use phonenumber::country;

/// A region code that names no region.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown region '{0}' (use an ISO 3166 code such as GB or US)")]
pub struct UnknownRegion(pub(crate) String);

/// A region by its ISO 3166 code (`GB`, `US`), or an error naming it.
pub fn region(code: &str) -> Result<country::Id, UnknownRegion> {
    country::Id::from_str(&code.trim().to_ascii_uppercase())
        .map_err(|_| UnknownRegion(code.to_string()))
}

/// Already E.164 digits: nothing to parse.
fn is_e164_digits(text: &str) -> bool {
    (8..=15).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit())
        && !text.starts_with('0')
}

/// Whether a national number of `national` digits has a length country `code` uses, in any
/// range (fixed, mobile, toll-free, VoIP) — like libphonenumber's `isPossibleNumber`, which
/// accepts ranges it does not list as assigned (such as the UK's 07700 900xxx, kept for
/// examples and tests).
fn length_fits(code: u16, national: usize) -> bool {
    use phonenumber::Type;
    let Ok(national) = u16::try_from(national) else {
        return false;
    };
    phonenumber::metadata::DATABASE
        .by_code(&code)
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

/// A parsed number of a length its country uses.
fn possible(number: &phonenumber::PhoneNumber) -> bool {
    length_fits(number.country().code(), number.national().to_string().len())
}

/// E.164 digits as their country code and national number: country codes are prefix-free, so
/// the first 1 to 3 digits that are one decide.
fn split_country(digits: &str) -> Option<(u16, &str)> {
    (1..=3).find_map(|cc| {
        let code: u16 = digits.get(..cc)?.parse().ok()?;
        phonenumber::metadata::DATABASE
            .by_code(&code)
            .map(|_| (code, &digits[cc..]))
    })
}

/// The quick reading of the common forms — international (`+44 7700 900101`,
/// `0044 …`) and national in a region whose trunk prefix is a plain `0` (`07700 900101` in
/// GB) — when the result has a length its country uses. `None` leaves the number to the full
/// parser, which knows every region's rules.
fn quick(digits: &str, international: bool, region: Option<country::Id>) -> Option<String> {
    let (candidate, code, national) = if international {
        // A national number written after the country code keeps its trunk prefix now and
        // then (`+49 0616…`); the full parser knows which countries drop it.
        let (code, national) = split_country(digits)?;
        if national.starts_with('0') {
            return None;
        }
        (digits.to_string(), code, national.len())
    } else {
        let meta = phonenumber::metadata::DATABASE.by_id(region?.as_ref())?;
        // A trunk prefix of a plain 0, stripped as such (GB strips "0|180020": a leading 0
        // is the first alternative).
        let strips_zero = meta
            .national_prefix_for_parsing()
            .is_none_or(|p| p.as_str() == "0" || p.as_str().starts_with("0|"));
        let simple = meta.national_prefix() == Some("0")
            && strips_zero
            && meta.national_prefix_transform_rule().is_none();
        let national = digits.strip_prefix('0').filter(|_| simple)?;
        if national.starts_with('0') {
            return None;
        }
        let code = meta.country_code();
        (format!("{code}{national}"), code, national.len())
    };
    let fits = (8..=15).contains(&candidate.len())
        && !candidate.starts_with('0')
        && length_fits(code, national);
    fits.then_some(candidate)
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
    let international = international || (region.is_none() && !digits.starts_with('0'));
    if let Some(quick) = quick(&digits, international, region) {
        return Some(quick);
    }
    parse_full(&digits, international, region)
}

/// The full parser's reading (libphonenumber's rules for every region).
fn parse_full(digits: &str, international: bool, region: Option<country::Id>) -> Option<String> {
    let parsed = if international {
        phonenumber::parse(None, format!("+{digits}"))
    } else {
        phonenumber::parse(region, digits)
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

    #[test]
    fn the_quick_reading_agrees_with_the_full_parser() {
        let mut checked = 0;
        for code in [
            "GB", "US", "DE", "FR", "IT", "ES", "IE", "AU", "IN", "BR", "MX", "AR", "NL", "JP",
        ] {
            let id = region(code).ok();
            let cc = phonenumber::metadata::DATABASE
                .by_id(code)
                .map(|m| m.country_code())
                .unwrap();
            for n in 0..400u64 {
                let draw = crate::sandbox::dataset::splitmix(n ^ u64::from(cc) << 20);
                let len = 6 + (draw % 8) as usize;
                let body: String = format!("{:015}", draw >> 8)[..len].to_string();
                for (digits, international, region) in [
                    (format!("{cc}{body}"), true, None),
                    (format!("0{body}"), false, id),
                    (format!("{cc}0{body}"), true, None),
                ] {
                    if let Some(quick) = quick(&digits, international, region) {
                        assert_eq!(
                            parse_full(&digits, international, region).as_deref(),
                            Some(quick.as_str()),
                            "{code} {digits}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(
            checked > 1000,
            "the quick path covers common forms: {checked}"
        );
    }
}
