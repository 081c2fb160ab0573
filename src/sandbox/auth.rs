//! The sandbox's authentication: the vendor supports Basic or Digest, and so does the twin.
//!
//! - `basic` (default): `Authorization: Basic base64(sandbox:sandbox)`; a 401 carries
//!   `WWW-Authenticate: Basic realm="api"`.
//! - `digest`: RFC 7616 with MD5 and `qop="auth"`, realm `api`. A 401 carries
//!   `WWW-Authenticate: Digest realm="api", qop="auth", algorithm=MD5, nonce=…, opaque=…`.
//!   Nonces are issued by this sandbox (a time and a keyed digest of it) and live an hour; an
//!   older one gets a fresh challenge with `stale=true`. Basic is refused in this mode, as a
//!   Digest-only tenant does. The request counter (`nc`) is not checked for replays.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::sandbox::error::SandboxError;
use crate::sandbox::{AppState, PASSWORD, USER};

/// The realm the vendor's API uses.
pub(crate) const REALM: &str = "api";
/// How long a Digest nonce is accepted.
const NONCE_LIFETIME_S: u64 = 3600;

/// The authentication scheme the sandbox accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthScheme {
    #[default]
    Basic,
    Digest,
}

/// The environment variable that sets the scheme of sandboxes started without `--auth` (the
/// embedded one included), so a whole suite can run against a Digest-only dialer.
pub(crate) const AUTH_ENV: &str = "TDC_SANDBOX_AUTH";

impl AuthScheme {
    /// The scheme `TDC_SANDBOX_AUTH` names; Basic when it is unset or not a scheme.
    pub(crate) fn from_env() -> AuthScheme {
        std::env::var(AUTH_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_default()
    }
}

impl FromStr for AuthScheme {
    type Err = crate::choice::UnknownChoice;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let choices = [("basic", AuthScheme::Basic), ("digest", AuthScheme::Digest)];
        crate::choice::choose(text, "auth scheme", &choices)
    }
}

/// Checks credentials for one scheme, with the key that signs this sandbox's nonces.
pub(crate) struct Verifier {
    scheme: AuthScheme,
    key: [u8; 16],
}

impl Verifier {
    pub(crate) fn new(scheme: AuthScheme) -> Verifier {
        let mut key = [0u8; 16];
        let mut rng = fastrand::Rng::new();
        key.iter_mut().for_each(|b| *b = rng.u8(..));
        Verifier { scheme, key }
    }

    fn sign(&self, issued: u64) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update(issued.to_be_bytes());
        let digest = hasher.finalize();
        let tag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("{issued:x}.{tag}")
    }

    fn new_nonce(&self) -> String {
        self.sign(unix_now())
    }

    /// `Some(true)` for a nonce this sandbox issued that is still fresh, `Some(false)` for an
    /// expired one, `None` for a forged one.
    fn nonce_fresh(&self, nonce: &str) -> Option<bool> {
        let issued = u64::from_str_radix(nonce.split_once('.')?.0, 16).ok()?;
        (self.sign(issued) == nonce).then(|| unix_now().saturating_sub(issued) < NONCE_LIFETIME_S)
    }

    /// Whether the request carries the sandbox's credentials in this verifier's scheme; for
    /// Digest, `Err(true)` when only the nonce is stale.
    fn check(&self, request: &Request) -> Result<(), bool> {
        let value = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(false)?;
        let (scheme, rest) = value.trim().split_once(' ').ok_or(false)?;
        match self.scheme {
            AuthScheme::Basic if scheme.eq_ignore_ascii_case("basic") => {
                basic_ok(rest).then_some(()).ok_or(false)
            }
            AuthScheme::Digest if scheme.eq_ignore_ascii_case("digest") => {
                self.digest_ok(request, value)
            }
            _ => Err(false),
        }
    }

    fn digest_ok(&self, request: &Request, value: &str) -> Result<(), bool> {
        use digest_auth::{AuthContext, AuthorizationHeader, HttpMethod};
        let mut sent = AuthorizationHeader::parse(value).map_err(|_| false)?;
        let target = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        if sent.username != USER || sent.realm != REALM || sent.uri != target {
            return Err(false);
        }
        match self.nonce_fresh(&sent.nonce) {
            None => return Err(false),
            Some(false) => return Err(true),
            Some(true) => {}
        }
        let response = std::mem::take(&mut sent.response);
        let method = request.method().as_str();
        let context = AuthContext::new_with_method(
            USER,
            PASSWORD,
            target.as_str(),
            Option::<&[u8]>::None,
            HttpMethod::from(method),
        );
        sent.digest(&context);
        (sent.response == response).then_some(()).ok_or(false)
    }

    fn challenge(&self, stale: bool) -> HeaderValue {
        let text = match self.scheme {
            AuthScheme::Basic => format!("Basic realm=\"{REALM}\""),
            AuthScheme::Digest => format!(
                "Digest realm=\"{REALM}\", qop=\"auth\", algorithm=MD5, nonce=\"{}\", opaque=\"{}\"{}",
                self.new_nonce(),
                &self.sign(0)[2..],
                if stale { ", stale=true" } else { "" }
            ),
        };
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("Basic"))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn basic_ok(encoded: &str) -> bool {
    use base64::Engine;
    let expected = format!("{USER}:{PASSWORD}");
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .is_ok_and(|decoded| decoded == expected.as_bytes())
}

/// Lets requests with the right credentials through; answers the others with a 401 and a
/// challenge in the sandbox's scheme.
pub(crate) async fn authenticate(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let stale = match state.auth.check(&request) {
        Ok(()) => return next.run(request).await,
        Err(stale) => stale,
    };
    let message = if stale {
        "the Digest nonce has expired"
    } else {
        "invalid or missing credentials"
    };
    let mut response = SandboxError::new(StatusCode::UNAUTHORIZED, message).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, state.auth.challenge(stale));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_the_sandboxs_own() {
        let verifier = Verifier::new(AuthScheme::Digest);
        let nonce = verifier.new_nonce();
        assert_eq!(verifier.nonce_fresh(&nonce), Some(true));
        assert_eq!(verifier.nonce_fresh(&verifier.sign(5)), Some(false));
        let other = Verifier::new(AuthScheme::Digest);
        assert_eq!(other.nonce_fresh(&nonce), None);
        assert_eq!(verifier.nonce_fresh("zz.1"), None);
    }
}
