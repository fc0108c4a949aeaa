//! [`Endpoint`]: where requests go and how they are signed and authenticated.
//!
//! [`Endpoint::request`] is the sans-IO heart of the sender: body in, the exact
//! `http::Request` a real sender would put on the wire out. The header rules are on
//! [`Endpoint`].

use std::{fmt, time::SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, header};
use webhook_core::{
    Credentials, Scheme, Secret,
    senders::{SignError, Stamp},
};

use crate::{Body, ConfigError, RenderError, clock::unix_seconds};

/// Which of a scheme's two header names to send where it has two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HeaderNames {
    /// `X-Signature`, `X-Webhook-Signature`, `Mailtrap-Signature`, `webhook-*`.
    #[default]
    Current,
    /// GitHub's `X-Hub-Signature-256` (email-API), Mailtrap's older
    /// `X-Mailtrap-Signature`, Svix's `svix-*` (as Resend sends). Stalwart has one name.
    Alternate,
}

/// A webhook destination: URL, scheme, secret, credentials, custom headers.
///
/// Headers are built in Stalwart's order, each later step replacing a header of the same
/// name:
///
/// 1. `Content-Type` of the body (`application/json` for Stalwart);
/// 2. the custom headers (names and values trimmed, as Stalwart does): they **may**
///    replace `Content-Type`;
/// 3. `Authorization` (Basic or Bearer) when credentials are set: replaces a custom one;
/// 4. the scheme's signature header(s): replace custom ones, and every alternative name
///    of the same header is removed too (a custom `X-Hub-Signature-256` next to the real
///    `X-Webhook-Signature` would make a receiver refuse the request as conflicting).
///
/// So a custom header can never override the signature or the credentials. As in
/// Stalwart's `HeaderMap`, a replaced header keeps the place of the one it replaced:
/// with a custom `X-Signature` the real signature goes out in that custom header's slot.
/// With no secret (or an empty one) nothing is signed and step 4 does nothing, as with a
/// Stalwart server that has no signing key: a custom `X-Signature` then goes out as
/// given.
///
/// Credentials in the URL (`https://user:pass@host/…`, how WildDuck and Mailtrap users
/// authenticate) are taken out of the URL and sent as `Authorization: Basic`, as their
/// HTTP clients do; explicit [`Endpoint::credentials`] win over them. A token in the
/// query string stays in the URL.
///
/// ```
/// use webhook_core::{Credentials, Scheme, Secret};
/// use webhook_sender::{Body, Endpoint};
///
/// let endpoint = Endpoint::new(Scheme::Stalwart, "https://hooks.example/stalwart")?
///     .secret(Secret::new("my-secret-key"))?
///     .credentials(Credentials::bearer(Secret::new("t0ken")))
///     .header("X-Tenant", "blue")?;
/// let body = Body::json(r#"{"events":[]}"#);
/// let request = endpoint.request(&body, None, std::time::SystemTime::now())?;
/// let names: Vec<_> = request.headers().keys().map(|n| n.as_str()).collect();
/// assert_eq!(names, ["content-type", "x-tenant", "authorization", "x-signature"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Endpoint {
    uri: http::Uri,
    display_url: String,
    scheme: Scheme,
    secret: Option<Secret>,
    credentials: Option<Credentials>,
    url_credentials: Option<Credentials>,
    headers: Vec<(HeaderName, HeaderValue)>,
    header_names: HeaderNames,
    allow_invalid_certs: bool,
    no_proxy: bool,
}

impl Endpoint {
    /// An endpoint at `url` for `scheme`, unsigned until [`Endpoint::secret`] is set.
    pub fn new(scheme: Scheme, url: &str) -> Result<Self, ConfigError> {
        let mut url = url::Url::parse(url.trim()).map_err(|err| ConfigError::InvalidUrl {
            reason: err.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::UnsupportedUrlScheme {
                scheme: url.scheme().to_owned(),
            });
        }
        let url_credentials = take_userinfo(&mut url);
        let uri: http::Uri =
            url.as_str()
                .parse()
                .map_err(|err: http::uri::InvalidUri| ConfigError::InvalidUrl {
                    reason: err.to_string(),
                })?;
        let display_url = redacted(&url);
        Ok(Self {
            uri,
            display_url,
            scheme,
            secret: None,
            credentials: None,
            url_credentials,
            headers: Vec::new(),
            header_names: HeaderNames::Current,
            allow_invalid_certs: false,
            no_proxy: false,
        })
    }

    /// Signs requests with `secret`: its text for Stalwart, email-API and Mailtrap; for
    /// Standard Webhooks use [`Secret::standard_webhooks`] (`whsec_…`, decoded). An empty
    /// secret signs nothing, as in Stalwart. WildDuck signs nothing and refuses one.
    pub fn secret(mut self, secret: Secret) -> Result<Self, ConfigError> {
        if !self.scheme.signs() {
            return Err(ConfigError::SchemeDoesNotSign {
                scheme: self.scheme,
            });
        }
        self.secret = (!secret.is_empty()).then_some(secret);
        Ok(self)
    }

    /// Sends `Authorization` with these credentials (Stalwart's `httpAuth`). Replaces
    /// credentials given in the URL.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Adds a custom header (Stalwart's `httpHeaders`). Name and value are trimmed; a
    /// later header of the same name replaces an earlier one. It may replace
    /// `Content-Type`, never the credentials or the signature.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, ConfigError> {
        let name = name.trim();
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ConfigError::InvalidHeaderName {
                name: name.to_owned(),
            }
        })?;
        let mut header_value =
            HeaderValue::from_str(value.trim()).map_err(|_| ConfigError::InvalidHeaderValue {
                name: name.to_owned(),
            })?;
        // Custom headers often carry tokens: keep them out of `Debug` output.
        header_value.set_sensitive(true);
        self.headers.retain(|(n, _)| *n != header_name);
        self.headers.push((header_name, header_value));
        Ok(self)
    }

    /// Chooses between a scheme's current and alternate header names.
    pub fn header_names(mut self, names: HeaderNames) -> Self {
        self.header_names = names;
        self
    }

    /// Accepts any TLS certificate (Stalwart's `allowInvalidCerts`). For test receivers
    /// with self-signed certificates only.
    pub fn allow_invalid_certs(mut self, allow: bool) -> Self {
        self.allow_invalid_certs = allow;
        self
    }

    /// Ignores `HTTP_PROXY`/`HTTPS_PROXY` from the environment (they are honoured by
    /// default, as by Stalwart's client).
    pub fn no_proxy(mut self) -> Self {
        self.no_proxy = true;
        self
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The target URL with any password replaced by `***`.
    pub fn url(&self) -> &str {
        &self.display_url
    }

    /// Whether requests are signed.
    pub fn signs(&self) -> bool {
        self.secret.is_some()
    }

    pub(crate) fn accepts_invalid_certs(&self) -> bool {
        self.allow_invalid_certs
    }

    pub(crate) fn ignores_proxy(&self) -> bool {
        self.no_proxy
    }

    /// The request for one attempt: `POST` to the URL, headers in Stalwart's order (see
    /// [`Endpoint`]), the body's bytes untouched.
    ///
    /// `message_id` is the Standard Webhooks `webhook-id` (required for that scheme,
    /// ignored by the others); `now` gives its `webhook-timestamp`, fresh for each
    /// attempt as Svix does.
    pub fn request(
        &self,
        body: &Body,
        message_id: Option<&str>,
        now: SystemTime,
    ) -> Result<http::Request<Bytes>, RenderError> {
        let mut headers = HeaderMap::with_capacity(4 + self.headers.len());
        headers.insert(header::CONTENT_TYPE, body.content_type().clone());
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        if let Some(credentials) = self.credentials.as_ref().or(self.url_credentials.as_ref()) {
            headers.insert(header::AUTHORIZATION, credentials.header_value());
        }
        self.sign(&mut headers, body.bytes(), message_id, now)?;

        let mut request = http::Request::post(self.uri.clone())
            .body(body.bytes().clone())
            .map_err(|err| RenderError::Request(err.to_string()))?;
        *request.headers_mut() = headers;
        Ok(request)
    }

    /// Step 4 of the header rules: the scheme's signing headers, as webhook-core makes
    /// them ([`Scheme::sign`]), under the names [`HeaderNames`] picks; every other name
    /// of each is removed first, then the chosen ones are set.
    fn sign(
        &self,
        headers: &mut HeaderMap,
        body: &[u8],
        message_id: Option<&str>,
        now: SystemTime,
    ) -> Result<(), RenderError> {
        let stamp = message_id.map(|message_id| Stamp {
            message_id,
            timestamp: unix_seconds(now),
        });
        let signed = self
            .scheme
            .sign(self.secret.as_ref(), body, stamp)
            .map_err(|err| match err {
                SignError::MissingMessageId { .. } => RenderError::MissingMessageId,
                SignError::InvalidMessageId => RenderError::InvalidMessageId,
                other => RenderError::Request(other.to_string()),
            })?;
        let alternate = self.header_names == HeaderNames::Alternate;
        let names: Vec<(HeaderName, Option<&'static str>)> = signed
            .iter()
            .map(|signed| {
                let header = signed.header;
                match header.alternate() {
                    Some(other) if alternate => {
                        (HeaderName::from_static(other), Some(header.name()))
                    }
                    other => (HeaderName::from_static(header.name()), other),
                }
            })
            .collect();
        for (_, dropped) in &names {
            if let Some(dropped) = dropped {
                headers.remove(HeaderName::from_static(dropped));
            }
        }
        for ((name, _), signed) in names.into_iter().zip(signed) {
            match signed.value {
                Some(value) => {
                    headers.insert(name, header_value(&value)?);
                }
                None => {
                    headers.remove(&name);
                }
            }
        }
        Ok(())
    }
}

fn header_value(text: &str) -> Result<HeaderValue, RenderError> {
    // Signatures are base64 or hex, ids are checked by webhook-core: valid header text.
    HeaderValue::from_str(text).map_err(|err| RenderError::Request(err.to_string()))
}

/// Moves `user:password@` out of the URL into Basic credentials (percent-decoded, as
/// axios and reqwest do).
fn take_userinfo(url: &mut url::Url) -> Option<Credentials> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let username = decode(url.username());
    let password = url.password().map(decode).unwrap_or_default();
    // Removing userinfo cannot fail on an http(s) URL, which always has a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Some(Credentials::basic(username, Secret::from(password)))
}

fn redacted(url: &url::Url) -> String {
    // Userinfo is already gone; a token in the query stays, as it is part of the
    // address the user configured, but it is secret too: hide query values.
    let mut shown = url.clone();
    if url.query().is_some() {
        let pairs: Vec<String> = url
            .query_pairs()
            .map(|(name, _)| format!("{name}=***"))
            .collect();
        shown.set_query(Some(&pairs.join("&")));
    }
    shown.to_string()
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.display_url)
            .field("scheme", &self.scheme)
            .field("signs", &self.secret.is_some())
            .field(
                "credentials",
                &self.credentials.as_ref().or(self.url_credentials.as_ref()),
            )
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("header_names", &self.header_names)
            .field("allow_invalid_certs", &self.allow_invalid_certs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use webhook_core::senders::email_api;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_secs(secs)
    }

    #[test]
    fn url_userinfo_becomes_basic_auth_and_leaves_the_url() {
        let endpoint = Endpoint::new(
            Scheme::WildDuck,
            "https://hook%40user:p%3Ass@hooks.example/wd?token=abc",
        )
        .unwrap();
        assert_eq!(endpoint.url(), "https://hooks.example/wd?token=***");
        let request = endpoint.request(&Body::json("{}"), None, at(0)).unwrap();
        assert_eq!(request.uri(), "https://hooks.example/wd?token=abc");
        let expected = Credentials::basic("hook@user", Secret::new("p:ss")).header_value();
        assert_eq!(request.headers()["authorization"], expected);
        assert!(!format!("{endpoint:?}").contains("p:ss"));
        assert!(!format!("{endpoint:?}").contains("abc"));
    }

    #[test]
    fn custom_headers_cannot_override_signature_or_auth() {
        let endpoint = Endpoint::new(Scheme::EmailApi, "http://127.0.0.1:1/h")
            .unwrap()
            .header("X-Webhook-Signature", "sha256=forged")
            .unwrap()
            .header("X-Hub-Signature-256", "sha256=forged")
            .unwrap()
            .header("Authorization", "Bearer forged")
            .unwrap()
            .header(" Content-Type ", " application/vnd.custom+json ")
            .unwrap()
            .secret(Secret::new("k"))
            .unwrap()
            .credentials(Credentials::bearer(Secret::new("real")));
        let body = Body::json("{}");
        let request = endpoint.request(&body, None, at(0)).unwrap();
        let h = request.headers();
        assert_eq!(h["content-type"], "application/vnd.custom+json");
        assert_eq!(h["authorization"], "Bearer real");
        assert_eq!(
            h["x-webhook-signature"],
            email_api::sign(&Secret::new("k"), b"{}").as_str()
        );
        assert!(h.get("x-hub-signature-256").is_none());
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn invalid_configuration_is_refused() {
        assert!(matches!(
            Endpoint::new(Scheme::Stalwart, "ftp://x/"),
            Err(ConfigError::UnsupportedUrlScheme { .. })
        ));
        assert!(matches!(
            Endpoint::new(Scheme::Stalwart, "not a url"),
            Err(ConfigError::InvalidUrl { .. })
        ));
        let endpoint = Endpoint::new(Scheme::WildDuck, "http://x/").unwrap();
        assert!(matches!(
            endpoint.clone().secret(Secret::new("k")),
            Err(ConfigError::SchemeDoesNotSign { .. })
        ));
        assert!(matches!(
            endpoint.clone().header("bad name", "v"),
            Err(ConfigError::InvalidHeaderName { .. })
        ));
        let err = endpoint.header("X-Token", "a\nb").unwrap_err();
        assert!(!err.to_string().contains("a\nb"));
    }

    #[test]
    fn standard_webhooks_needs_an_id_and_signs_id_timestamp_body() {
        let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let endpoint = Endpoint::new(Scheme::StandardWebhooks, "http://x/")
            .unwrap()
            .secret(secret)
            .unwrap();
        let body = Body::json(r#"{"test": 2432232314}"#);
        assert_eq!(
            endpoint.request(&body, None, at(0)).unwrap_err(),
            RenderError::MissingMessageId
        );
        let request = endpoint
            .request(
                &body,
                Some("msg_p5jXN8AQM9LWM0D4loKWxJek"),
                at(1_614_265_330),
            )
            .unwrap();
        let h = request.headers();
        assert_eq!(h["webhook-id"], "msg_p5jXN8AQM9LWM0D4loKWxJek");
        assert_eq!(h["webhook-timestamp"], "1614265330");
        // The specification's published vector.
        assert_eq!(
            h["webhook-signature"],
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let svix = endpoint.header_names(HeaderNames::Alternate);
        let request = svix.request(&body, Some("msg_1"), at(5)).unwrap();
        let names: Vec<_> = request.headers().keys().map(|n| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "content-type",
                "svix-id",
                "svix-timestamp",
                "svix-signature"
            ]
        );
    }

    #[test]
    fn empty_secret_signs_nothing_like_stalwart() {
        let endpoint = Endpoint::new(Scheme::Stalwart, "http://x/")
            .unwrap()
            .header("X-Signature", "custom")
            .unwrap()
            .secret(Secret::new(""))
            .unwrap();
        assert!(!endpoint.signs());
        let request = endpoint.request(&Body::json("{}"), None, at(0)).unwrap();
        assert_eq!(request.headers()["x-signature"], "custom");
    }
}
