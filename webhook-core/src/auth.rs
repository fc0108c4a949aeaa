//! Request authentication besides signatures: `Authorization: Basic/Bearer` and a
//! token in the URL's query string.
//!
//! Stalwart can add Basic or Bearer credentials to its requests (with or without a
//! signature); WildDuck signs nothing, so its receivers check Basic credentials carried
//! in the webhook URL (`https://user:pass@host/…`) or a secret token in the query
//! string; Mailtrap suggests the same two for extra safety.
//!
//! Comparisons never look at the presented value byte by byte against the expected
//! one. Both sides are reduced to SHA-256 digests (the expected one once, at
//! configuration) and the digests are compared with [`subtle`], so the time taken
//! reveals neither the content nor the length of the expected credentials.

use std::fmt;

use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::{
    Secret,
    error::{BuildError, VerifyError},
    request::RequestView,
    senders,
};

const AUTHORIZATION: HeaderName = http::header::AUTHORIZATION;

/// Expected `Authorization` credentials, and the header a sender puts on its requests.
///
/// ```
/// use webhook_core::{Credentials, Secret};
///
/// let basic = Credentials::basic("account", Secret::new("s3cr3t"));
/// // What Stalwart sends for `httpAuth: Basic {username: account, secret: s3cr3t}`:
/// assert_eq!(basic.header_value().to_str().unwrap(), "Basic YWNjb3VudDpzM2NyM3Q=");
/// assert!(!format!("{basic:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    kind: Kind,
    secret: Secret,
    digest: Zeroizing<[u8; 32]>,
}

#[derive(Clone)]
enum Kind {
    Basic { username: String },
    Bearer,
}

impl Credentials {
    /// HTTP Basic credentials (RFC 7617): `Basic base64(username:password)`.
    pub fn basic(username: impl Into<String>, password: Secret) -> Self {
        let username = username.into();
        let mut joined = Zeroizing::new(Vec::with_capacity(username.len() + 1 + password.len()));
        joined.extend_from_slice(username.as_bytes());
        joined.push(b':');
        joined.extend_from_slice(password.expose());
        Self {
            digest: digest(&joined),
            kind: Kind::Basic { username },
            secret: password,
        }
    }

    /// A Bearer token (RFC 6750): `Bearer <token>`.
    pub fn bearer(token: Secret) -> Self {
        Self {
            digest: digest(token.expose()),
            kind: Kind::Bearer,
            secret: token,
        }
    }

    /// `Basic` or `Bearer`.
    pub fn scheme_name(&self) -> &'static str {
        match self.kind {
            Kind::Basic { .. } => "Basic",
            Kind::Bearer => "Bearer",
        }
    }

    /// The `Authorization` header value a sender sends, marked sensitive so that
    /// `http`'s `Debug` (and tracing through it) never prints it.
    pub fn header_value(&self) -> HeaderValue {
        let text = Zeroizing::new(match &self.kind {
            Kind::Basic { username } => {
                let mut joined = Zeroizing::new(username.as_bytes().to_vec());
                joined.push(b':');
                joined.extend_from_slice(self.secret.expose());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(&*joined)
                )
            }
            Kind::Bearer => format!("Bearer {}", String::from_utf8_lossy(self.secret.expose())),
        });
        let mut value = HeaderValue::from_bytes(text.as_bytes()).unwrap_or_else(|_| {
            // A token with control characters cannot travel in a header at all; an empty
            // value makes the receiver answer "malformed credentials", which says so.
            HeaderValue::from_static("")
        });
        value.set_sensitive(true);
        value
    }

    /// Refuses credentials that authenticate nothing or cannot be told apart: an empty
    /// password or token, a username with the `:` that separates it from the password.
    pub(crate) fn refuse_unusable(&self) -> Result<(), BuildError> {
        if self.secret.is_empty() {
            return Err(BuildError::EmptyCredentials {
                scheme: self.scheme_name(),
            });
        }
        match &self.kind {
            Kind::Basic { username } if username.contains(':') => Err(BuildError::ColonInUsername),
            _ => Ok(()),
        }
    }

    pub(crate) fn check<R: RequestView + ?Sized>(&self, request: &R) -> Result<(), VerifyError> {
        let expected = self.scheme_name();
        let value = senders::single(request, &AUTHORIZATION, "authorization")?
            .ok_or(VerifyError::MissingAuth { expected })?;
        let malformed = |reason| VerifyError::MalformedAuth { expected, reason };
        let (word, rest) =
            split_scheme(value).ok_or(malformed("no credentials after the scheme"))?;
        if !word.eq_ignore_ascii_case(expected.as_bytes()) {
            return Err(malformed(match self.kind {
                Kind::Basic { .. } => "expected the `Basic` scheme",
                Kind::Bearer => "expected the `Bearer` scheme",
            }));
        }
        let presented = match self.kind {
            Kind::Basic { .. } => {
                let decoded = Zeroizing::new(
                    base64::engine::general_purpose::STANDARD
                        .decode(rest)
                        .map_err(|_| malformed("the credentials are not base64"))?,
                );
                if !decoded.contains(&b':') {
                    return Err(malformed(
                        "the decoded credentials lack the `user:password` colon",
                    ));
                }
                digest(&decoded)
            }
            Kind::Bearer => digest(rest),
        };
        if bool::from(presented.ct_eq(&*self.digest)) {
            Ok(())
        } else {
            Err(VerifyError::AuthMismatch { expected })
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Basic { username } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Kind::Bearer => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// A secret token carried in the webhook URL's query string, e.g.
/// `https://app.example/hooks/wildduck?token=…`.
///
/// ```
/// use webhook_core::{Scheme, Secret, UrlToken, Verifier};
///
/// let verifier = Verifier::builder(Scheme::WildDuck)
///     .url_token(UrlToken::new("token", Secret::new("s3cr3t-t0ken")))
///     .build()?;
/// let request = http::Request::post("/hooks/wildduck?token=s3cr3t-t0ken").body(())?;
/// assert!(verifier.verify(&request, &b"{}"[..]).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct UrlToken {
    param: Box<str>,
    digest: Zeroizing<[u8; 32]>,
    empty: bool,
}

impl UrlToken {
    /// Expect the query parameter `param` to carry `token`.
    pub fn new(param: impl Into<Box<str>>, token: Secret) -> Self {
        Self {
            param: param.into(),
            digest: digest(token.expose()),
            empty: token.is_empty(),
        }
    }

    /// The query parameter's name.
    pub fn param(&self) -> &str {
        &self.param
    }

    /// Refuses a token that authenticates nothing (`?token=` would pass) or a parameter
    /// with no name.
    pub(crate) fn refuse_unusable(&self) -> Result<(), BuildError> {
        if self.param.is_empty() {
            return Err(BuildError::EmptyUrlTokenParam);
        }
        if self.empty {
            return Err(BuildError::EmptyUrlToken {
                param: self.param.clone(),
            });
        }
        Ok(())
    }

    pub(crate) fn check<R: RequestView + ?Sized>(&self, request: &R) -> Result<(), VerifyError> {
        let missing = || VerifyError::MissingToken {
            param: self.param.clone(),
        };
        let query = request.query().ok_or_else(missing)?;
        let mut found = None;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if *name == *self.param {
                if found.is_some() {
                    return Err(VerifyError::DuplicateToken {
                        param: self.param.clone(),
                    });
                }
                found = Some(digest(value.as_bytes()));
            }
        }
        let presented = found.ok_or_else(missing)?;
        if bool::from(presented.ct_eq(&*self.digest)) {
            Ok(())
        } else {
            Err(VerifyError::TokenMismatch {
                param: self.param.clone(),
            })
        }
    }
}

impl fmt::Debug for UrlToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlToken")
            .field("param", &self.param)
            .field("token", &"<redacted>")
            .finish()
    }
}

fn digest(bytes: &[u8]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(Sha256::digest(bytes).into())
}

/// `Scheme credentials` with one or more spaces between; `None` if nothing follows.
fn split_scheme(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = value.iter().position(|&b| b == b' ')?;
    let (word, rest) = value.split_at(space);
    let rest = rest.trim_ascii_start();
    (!rest.is_empty()).then_some((word, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_auth(value: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", value.parse().unwrap());
        headers
    }

    #[test]
    fn basic_accepts_its_own_header_and_any_scheme_case() {
        let creds = Credentials::basic("account", Secret::new("password"));
        let header = creds.header_value();
        assert!(header.is_sensitive());
        assert!(creds.check(&with_auth(header.to_str().unwrap())).is_ok());
        assert!(
            creds
                .check(&with_auth("basic   YWNjb3VudDpwYXNzd29yZA=="))
                .is_ok()
        );
    }

    #[test]
    fn basic_failures_are_told_apart() {
        let creds = Credentials::basic("account", Secret::new("password"));
        let code = |headers: &http::HeaderMap| creds.check(headers).unwrap_err().code();
        assert_eq!(code(&http::HeaderMap::new()), "missing_auth");
        assert_eq!(code(&with_auth("Bearer abc")), "malformed_auth");
        assert_eq!(code(&with_auth("Basic !!!")), "malformed_auth");
        assert_eq!(code(&with_auth("Basic bm9jb2xvbg==")), "malformed_auth"); // "nocolon"
        assert_eq!(code(&with_auth("Basic")), "malformed_auth");
        // account:passwore
        assert_eq!(
            code(&with_auth("Basic YWNjb3VudDpwYXNzd29yZQ==")),
            "auth_mismatch"
        );
        let mut twice = with_auth("Basic YWNjb3VudDpwYXNzd29yZA==");
        twice.append(
            "authorization",
            "Basic YWNjb3VudDpwYXNzd29yZA==".parse().unwrap(),
        );
        assert_eq!(code(&twice), "duplicate_header");
    }

    #[test]
    fn bearer_compares_the_whole_token() {
        let creds = Credentials::bearer(Secret::new("tok-123"));
        assert!(creds.check(&with_auth("Bearer tok-123")).is_ok());
        for wrong in ["Bearer tok-12", "Bearer tok-1234", "Bearer TOK-123"] {
            assert_eq!(
                creds.check(&with_auth(wrong)).unwrap_err().code(),
                "auth_mismatch"
            );
        }
    }

    #[test]
    fn url_token_rules() {
        let token = UrlToken::new("token", Secret::new("a b&c"));
        let request = |uri: &str| http::Request::post(uri).body(()).unwrap();
        assert!(token.check(&request("/h?x=1&token=a+b%26c")).is_ok());
        let code = |uri: &str| token.check(&request(uri)).unwrap_err().code();
        assert_eq!(code("/h"), "missing_token");
        assert_eq!(code("/h?tokens=a"), "missing_token");
        assert_eq!(code("/h?token=a+b%26c&token=a+b%26c"), "duplicate_token");
        assert_eq!(code("/h?token=a+b"), "token_mismatch");
        // A bare header map knows no query: the token cannot be checked, so it fails.
        assert_eq!(
            token.check(&http::HeaderMap::new()).unwrap_err().code(),
            "missing_token"
        );
    }
}
