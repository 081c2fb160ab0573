//! How the client authenticates: the vendor supports Basic or Digest (RFC 7616).
//!
//! - `auto` (default): Basic is sent with every request (one round trip, as the guide shows);
//!   a 401 carrying a `Digest` challenge is answered, as curl's `--anyauth` does, and the
//!   challenge is kept for the rest of the connection, so later requests go out with Digest
//!   straight away and Basic is not sent again.
//! - `basic`: Basic only; a Digest challenge is an error.
//! - `digest`: the password is never sent as Basic: the first request goes out without
//!   credentials to learn the server's challenge.
//!
//! A challenge whose nonce has gone stale (`stale=true`) is answered again with the new nonce.

use std::sync::Mutex;

use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};
use serde::Deserialize;

use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AuthMode {
    #[default]
    Auto,
    Basic,
    Digest,
}

impl AuthMode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            AuthMode::Auto => "auto",
            AuthMode::Basic => "basic",
            AuthMode::Digest => "digest",
        }
    }
}

/// The credentials of one connection and the Digest challenge it answers, if any.
#[derive(Debug)]
pub(crate) struct Authenticator {
    mode: AuthMode,
    user: String,
    password: Secret,
    challenge: Mutex<Option<WwwAuthenticateHeader>>,
}

/// What to put on a request.
pub(crate) enum Credentials {
    None,
    Basic,
    /// A complete `Authorization` header value.
    Header(String),
}

impl Authenticator {
    pub(crate) fn new(mode: AuthMode, user: String, password: Secret) -> Authenticator {
        Authenticator {
            mode,
            user,
            password,
            challenge: Mutex::new(None),
        }
    }

    pub(crate) fn user(&self) -> &str {
        &self.user
    }

    pub(crate) fn password(&self) -> &Secret {
        &self.password
    }

    /// The credentials for a request to `uri` (path and query).
    pub(crate) fn credentials(&self, method: &str, uri: &str) -> Credentials {
        let mut challenge = self.challenge.lock().unwrap_or_else(|e| e.into_inner());
        match challenge.as_mut() {
            Some(prompt) => {
                let context = AuthContext::new_with_method(
                    self.user.as_str(),
                    self.password.expose(),
                    uri,
                    Option::<&[u8]>::None,
                    HttpMethod::from(method),
                );
                match prompt.respond(&context) {
                    Ok(header) => Credentials::Header(header.to_header_string()),
                    Err(_) => Credentials::None,
                }
            }
            None if self.mode == AuthMode::Digest => Credentials::None,
            None => Credentials::Basic,
        }
    }

    /// After a 401: takes the server's Digest challenge when this connection may answer it.
    /// True when the request is worth sending again with it (a first challenge, or a fresh
    /// nonce after a stale one), false when the credentials themselves were refused.
    pub(crate) fn accept_challenge(&self, www_authenticate: &[&str]) -> bool {
        if self.mode == AuthMode::Basic {
            return false;
        }
        let Some(prompt) = www_authenticate
            .iter()
            .filter(|v| {
                v.trim_start()
                    .get(..6)
                    .is_some_and(|s| s.eq_ignore_ascii_case("digest"))
            })
            .find_map(|v| WwwAuthenticateHeader::parse(v.trim()).ok())
        else {
            return false;
        };
        let mut challenge = self.challenge.lock().unwrap_or_else(|e| e.into_inner());
        let retry = challenge.is_none() || prompt.stale;
        *challenge = Some(prompt);
        retry
    }

    /// The scheme this connection was told to use.
    pub(crate) fn mode(&self) -> AuthMode {
        self.mode
    }

    /// The scheme in use now, for messages.
    pub(crate) fn scheme(&self) -> &'static str {
        let challenge = self.challenge.lock().unwrap_or_else(|e| e.into_inner());
        match (challenge.is_some(), self.mode) {
            (true, _) => "Digest",
            (false, AuthMode::Digest) => "no credentials yet (digest)",
            (false, _) => "Basic",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str =
        r#"Digest realm="api", qop="auth", algorithm=MD5, nonce="abc", opaque="xyz""#;

    #[test]
    fn auto_answers_a_digest_challenge_and_keeps_it() {
        let auth = Authenticator::new(AuthMode::Auto, "ops".into(), Secret::new("pw"));
        assert!(matches!(
            auth.credentials("GET", "/api/cdrs"),
            Credentials::Basic
        ));
        assert!(auth.accept_challenge(&[r#"Basic realm="api""#, CHALLENGE]));
        let Credentials::Header(header) = auth.credentials("GET", "/api/cdrs?limit=1%3B0") else {
            panic!("expected a Digest header");
        };
        assert!(header.starts_with("Digest "), "{header}");
        assert!(
            header.contains(r#"uri="/api/cdrs?limit=1%3B0""#),
            "{header}"
        );
        assert!(!header.contains("pw"));
        // The same challenge again means the credentials were refused.
        assert!(!auth.accept_challenge(&[CHALLENGE]));
        let stale = format!("{CHALLENGE}, stale=true");
        assert!(auth.accept_challenge(&[stale.as_str()]));
    }

    #[test]
    fn basic_never_answers_and_digest_never_sends_basic() {
        let basic = Authenticator::new(AuthMode::Basic, "ops".into(), Secret::new("pw"));
        assert!(!basic.accept_challenge(&[CHALLENGE]));
        let digest = Authenticator::new(AuthMode::Digest, "ops".into(), Secret::new("pw"));
        assert!(matches!(digest.credentials("GET", "/"), Credentials::None));
    }
}
