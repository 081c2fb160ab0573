//! A raw API path (`td.get`, `td.put`, `td.post`) as the dialer will receive it.
//!
//! The text a script gives is parsed into the final URL first, and every guard — read-only,
//! dry-run, the remote confirmation, the audit line, retries — decides on what the URL parser
//! made of it, never on the text as given. Text the parser would rewrite behind a guard's back
//! is refused, since the API's paths hold none of it:
//!
//! - control characters (C0 and DEL): the parser drops tab, CR and LF anywhere;
//! - dot segments (`.`, `..`, `%2e`, `%2e%2e`, in any case and mix): the parser removes them,
//!   so `/api/x/../campaigns/clone` would reach the dialer as `/api/campaigns/clone`;
//! - backslashes in the path: the parser reads them as `/`.
//!
//! What remains may still be spelled in ways the dialer reads as one of its paths
//! (`/api/campaigns/%63lone`, `//api/campaigns//clone/`): whether a `GET` changes the dialer is
//! decided on the path with its escapes decoded, empty segments dropped and case ignored, so
//! a doubtful spelling is treated as the write it may be.

use std::fmt::Write;

use crate::api::campaigns::CLONE_PATH;

/// A raw path checked and parsed: what is sent, relative to the dialer's base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPath {
    /// Path and query as the URL parser serializes them (escapes added, fragment dropped).
    sent: String,
}

/// Why a raw path is refused before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RawPathError {
    #[error("'{shown}' is not an API path; it must start with / (e.g. /api/cdrs)")]
    NotAbsolute { shown: String },
    #[error(
        "the path '{shown}' holds a control character ({character}); the API's paths have none"
    )]
    Control { shown: String, character: String },
    #[error("the path '{shown}' holds the dot segment '{segment}', which the URL parser would remove; the API's paths have none")]
    DotSegment { shown: String, segment: String },
    #[error("the path '{shown}' holds a backslash, which the URL parser reads as /; the API's paths have none")]
    Backslash { shown: String },
    #[error("the path '{shown}' does not make a valid request URL: {reason}")]
    Invalid { shown: String, reason: String },
}

impl RawPath {
    /// Checks `raw` (path and query, as a script gives it) and parses it onto `base`.
    pub(crate) fn parse(base: &url::Url, raw: &str) -> Result<RawPath, RawPathError> {
        let shown = || shown(raw);
        if !raw.starts_with('/') || raw.starts_with("//") {
            return Err(RawPathError::NotAbsolute { shown: shown() });
        }
        if let Some(c) = raw.chars().find(|c| c.is_ascii_control()) {
            return Err(RawPathError::Control {
                shown: shown(),
                character: control_name(c),
            });
        }
        let path = raw.split(['?', '#']).next().unwrap_or("");
        if path.contains('\\') {
            return Err(RawPathError::Backslash { shown: shown() });
        }
        if let Some(segment) = path.split('/').find(|s| is_dot_segment(s)) {
            return Err(RawPathError::DotSegment {
                shown: shown(),
                segment: segment.to_string(),
            });
        }
        let prefix = base.path().trim_end_matches('/');
        let url = url::Url::parse(&format!(
            "{}{prefix}{raw}",
            &base[..url::Position::BeforePath]
        ))
        .map_err(|e| RawPathError::Invalid {
            shown: shown(),
            reason: e.to_string(),
        })?;
        let sent = &url[url::Position::BeforePath..url::Position::AfterQuery];
        let sent = sent
            .strip_prefix(prefix)
            .filter(|rest| rest.starts_with('/'))
            .ok_or_else(|| RawPathError::Invalid {
                shown: shown(),
                reason: format!("it would leave the dialer's base path {prefix}"),
            })?;
        Ok(RawPath {
            sent: sent.to_string(),
        })
    }

    /// Path and query as sent, relative to the base URL.
    pub(crate) fn as_str(&self) -> &str {
        &self.sent
    }

    /// The path as sent, without the query.
    pub(crate) fn path(&self) -> &str {
        self.sent.split('?').next().unwrap_or("")
    }

    /// Whether a `GET` of this path may change the dialer (the guide's clone is a GET).
    pub(crate) fn changes_state(&self) -> bool {
        let decoded = percent_encoding::percent_decode_str(self.path()).decode_utf8_lossy();
        let segments = decoded.split('/').filter(|s| !s.is_empty());
        let clone = CLONE_PATH.split('/').filter(|s| !s.is_empty());
        segments.map(str::to_ascii_lowercase).eq(clone)
    }

    /// Whether a `GET` of this path is one of the API's reads, and so safe to retry. Only the
    /// paths exactly as the API spells them: anything else is sent once.
    pub(crate) fn is_known_read(&self) -> bool {
        let path = self.path();
        !self.changes_state()
            && [
                "/api/cdrs",
                "/api/calls",
                "/api/leads",
                "/api/campaign-leads",
                "/api/campaigns",
                "/api/users",
                "/api/comments",
            ]
            .iter()
            .any(|read| {
                path.strip_prefix(read)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
    }
}

impl std::fmt::Display for RawPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sent)
    }
}

/// `.` or `..`, written with dots or their escapes in any case (`%2e`, `%2E`).
fn is_dot_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    let dots = lower.replace("%2e", ".");
    dots == "." || dots == ".."
}

/// The path as an error may print it: every control character written out.
fn shown(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_control() {
            out.push_str(&control_name(c));
        } else {
            out.push(c);
        }
    }
    out
}

fn control_name(c: char) -> String {
    match c {
        '\t' => "\\t".to_string(),
        '\r' => "\\r".to_string(),
        '\n' => "\\n".to_string(),
        c => {
            let mut name = String::new();
            let _ = write!(name, "\\x{:02x}", c as u32);
            name
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> url::Url {
        url::Url::parse("https://dialer.example/").unwrap()
    }

    fn parse(raw: &str) -> Result<RawPath, RawPathError> {
        RawPath::parse(&base(), raw)
    }

    #[test]
    fn dot_segments_in_any_spelling_are_refused() {
        for raw in [
            "/api/x/../campaigns/clone",
            "/api/campaigns/./clone",
            "/api/x/%2e%2e/campaigns/clone",
            "/api/x/%2E%2e/campaigns/clone",
            "/api/x/.%2E/campaigns/clone",
            "/api/campaigns/%2e/clone",
            "/api/campaigns/clone/..",
            "/api/nothing/../leads?x=1",
        ] {
            assert!(
                matches!(parse(raw), Err(RawPathError::DotSegment { .. })),
                "{raw}: {:?}",
                parse(raw)
            );
        }
        // Dots inside a segment, and in the query, are text.
        assert_eq!(
            parse("/api/a..b/.x?q=../..").unwrap().as_str(),
            "/api/a..b/.x?q=../.."
        );
    }

    #[test]
    fn control_characters_and_backslashes_are_refused() {
        for (raw, name) in [
            ("/api/campaigns/cl\tone", "\\t"),
            ("/api/campaigns/clone\r", "\\r"),
            ("/api/campaigns\n/clone", "\\n"),
            ("/api/campaigns/clone?x=\u{1}", "\\x01"),
            ("/api/campaigns/clone\u{7f}", "\\x7f"),
        ] {
            let error = parse(raw).unwrap_err();
            assert!(
                matches!(&error, RawPathError::Control { character, .. } if character == name),
                "{raw:?}: {error:?}"
            );
            assert!(
                !error.to_string().chars().any(|c| c.is_control()),
                "{error}"
            );
        }
        assert!(matches!(
            parse("/api\\campaigns\\clone"),
            Err(RawPathError::Backslash { .. })
        ));
        assert!(matches!(
            parse("api/cdrs"),
            Err(RawPathError::NotAbsolute { .. })
        ));
    }

    #[test]
    fn what_is_sent_is_what_the_parser_makes() {
        let path = parse("/api/leads?note=a b&x=\"q\"#fragment").unwrap();
        assert_eq!(path.as_str(), "/api/leads?note=a%20b&x=%22q%22");
        assert_eq!(path.path(), "/api/leads");
        let prefixed = url::Url::parse("https://dialer.example/td/").unwrap();
        let path = RawPath::parse(&prefixed, "/api/cdrs?limit=5;0").unwrap();
        assert_eq!(path.as_str(), "/api/cdrs?limit=5;0");
    }

    #[test]
    fn a_get_that_may_clone_is_a_write_however_it_is_spelled() {
        for raw in [
            "/api/campaigns/clone",
            "/api/campaigns/clone/?campaign_id=1",
            "/api/campaigns/%63lone",
            "/api//campaigns//clone/",
            "/API/Campaigns/Clone",
            "/api/campaigns/clone ",
        ] {
            let path = parse(raw).unwrap();
            assert!(path.changes_state(), "{raw} sent as {path}");
            assert!(!path.is_known_read(), "{raw}");
        }
        assert!(parse("/api/campaigns").unwrap().is_known_read());
        assert!(parse("/api/cdrs/limit/5;0/").unwrap().is_known_read());
        assert!(!parse("/api/cdrsx").unwrap().is_known_read());
        assert!(!parse("/api/CDRS").unwrap().is_known_read());
    }
}
