//! Who may use the inspector: the bind policy (loopback, or an access token), the
//! session cookie the token buys, the Host check against DNS rebinding, and the
//! cross-site checks every action (POST) passes.

use std::net::IpAddr;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// The cookie an accepted access token is exchanged for (never the token itself).
const SESSION_COOKIE: &str = "hookwise_inspector";
/// The header the page sends its CSRF token in (a custom header: a cross-site form
/// cannot set it, and a cross-site `fetch` that sets it needs a preflight we never
/// answer).
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// A random value, hex: the CSRF token and the session id.
fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(hex::encode(bytes))
}

/// Equal in constant time (the lengths are not secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The access token a non-loopback bind requires. Its text never reaches the page, a
/// log or `Debug`.
pub(crate) struct AccessToken(Zeroizing<String>);

impl AccessToken {
    /// A token; refuses one too short to resist guessing.
    pub(crate) fn new(text: Zeroizing<String>) -> Result<Self, String> {
        if text.len() < 16 {
            return Err("the access token must be at least 16 characters".into());
        }
        Ok(Self(text))
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(..)")
    }
}

/// The inspector's access state, shared by every request.
#[derive(Debug)]
pub(crate) struct Access {
    token: Option<AccessToken>,
    /// The session id the token is exchanged for (one per server start).
    session: String,
    /// The CSRF token the page carries and every POST returns.
    csrf: String,
    /// Bound to a loopback address: then only loopback `Host` names are served, so a
    /// page on another site that rebinds its name to 127.0.0.1 gets nothing.
    loopback: bool,
}

impl Access {
    /// The access policy for a server bound to `ip`: anything but loopback requires a
    /// token.
    pub(crate) fn new(ip: IpAddr, token: Option<AccessToken>) -> Result<Self, String> {
        let loopback = ip.is_loopback();
        if !loopback && token.is_none() {
            return Err(format!(
                "binding {ip} (not loopback) requires an access token: give --token-file, \
                 --token-env or --token"
            ));
        }
        Ok(Self {
            token,
            session: random_token().map_err(|err| err.to_string())?,
            csrf: random_token().map_err(|err| err.to_string())?,
            loopback,
        })
    }

    /// The CSRF token, for the page.
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether an access token is required.
    pub(crate) fn requires_token(&self) -> bool {
        self.token.is_some()
    }

    fn has_session(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(bearer) = bearer {
            return same(bearer.as_bytes(), token.0.as_bytes());
        }
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| {
                name == SESSION_COOKIE && same(value.as_bytes(), self.session.as_bytes())
            })
    }

    fn host_allowed(&self, headers: &HeaderMap) -> bool {
        if !self.loopback {
            // Behind a token: a rebinding page has no session.
            return true;
        }
        let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        matches!(name, "127.0.0.1" | "localhost" | "[::1]")
            || name
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Why a POST is refused as cross-site, if it is: a browser's `Sec-Fetch-Site` other
    /// than `same-origin`, an `Origin` that is not this server's, or a missing or wrong
    /// CSRF token.
    fn cross_site(&self, headers: &HeaderMap) -> Option<&'static str> {
        if let Some(site) = headers.get("sec-fetch-site")
            && site.as_bytes() != b"same-origin"
        {
            return Some("cross-site request refused (Sec-Fetch-Site)");
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let host = headers.get(header::HOST).map(HeaderValue::as_bytes);
            let expected = host.map(|host| [b"http://".as_slice(), host].concat());
            if expected.as_deref() != Some(origin.as_bytes()) {
                return Some("cross-site request refused (Origin)");
            }
        }
        match headers.get(CSRF_HEADER) {
            Some(token) if same(token.as_bytes(), self.csrf.as_bytes()) => None,
            _ => Some("missing or wrong CSRF token"),
        }
    }
}

/// Every request: the Host check, the session (when a token is required, exchanged at
/// `/?token=…` for an HttpOnly cookie), and for POSTs the cross-site checks.
pub(crate) async fn guard(
    State(access): State<std::sync::Arc<Access>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if !access.host_allowed(headers) {
        return (StatusCode::MISDIRECTED_REQUEST, "unexpected Host").into_response();
    }
    if !access.has_session(headers) {
        if let Some(response) = login(&access, &request) {
            return response;
        }
        return (
            StatusCode::UNAUTHORIZED,
            "this inspector requires its access token: open /?token=TOKEN once",
        )
            .into_response();
    }
    if request.method() == Method::POST
        && let Some(why) = access.cross_site(headers)
    {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             img-src 'self' data:; frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
        ),
    );
    response
}

/// `GET /?token=…` with the right token: sets the session cookie and redirects to `/`
/// (the token leaves the address bar at once).
fn login(access: &Access, request: &Request) -> Option<Response> {
    let token = access.token.as_ref()?;
    if request.method() != Method::GET || request.uri().path() != "/" {
        return None;
    }
    let query = request.uri().query()?;
    let given = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "token")
        .map(|(_, value)| value)?;
    let given = percent_decode(given);
    if !same(given.as_bytes(), token.0.as_bytes()) {
        return None;
    }
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
        access.session
    );
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).ok()?);
    Some(response)
}

/// `%XX` and `+` decoding of one query value (tokens are usually plain, but a token
/// file may hold any printable text).
fn percent_decode(text: &str) -> Zeroizing<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    Zeroizing::new(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn a_public_bind_needs_a_token_and_loopback_does_not() {
        assert!(Access::new("0.0.0.0".parse().unwrap(), None).is_err());
        assert!(Access::new("127.0.0.1".parse().unwrap(), None).is_ok());
        let token = AccessToken::new(Zeroizing::new("0123456789abcdef".into())).unwrap();
        assert!(Access::new("0.0.0.0".parse().unwrap(), Some(token)).is_ok());
        assert!(AccessToken::new(Zeroizing::new("short".into())).is_err());
    }

    #[test]
    fn posts_need_the_csrf_token_and_the_same_origin() {
        let access = Access::new("127.0.0.1".parse().unwrap(), None).unwrap();
        let csrf = access.csrf().to_owned();
        let host = ("host", "127.0.0.1:9");
        assert_eq!(
            access.cross_site(&headers(&[host, (CSRF_HEADER, &csrf)])),
            None
        );
        assert_eq!(
            access.cross_site(&headers(&[
                host,
                (CSRF_HEADER, &csrf),
                ("origin", "http://127.0.0.1:9"),
                ("sec-fetch-site", "same-origin")
            ])),
            None
        );
        assert!(access.cross_site(&headers(&[host])).is_some());
        assert!(
            access
                .cross_site(&headers(&[host, (CSRF_HEADER, "nope")]))
                .is_some()
        );
        assert!(
            access
                .cross_site(&headers(&[
                    host,
                    (CSRF_HEADER, &csrf),
                    ("origin", "http://evil.example")
                ]))
                .is_some()
        );
        assert!(
            access
                .cross_site(&headers(&[
                    host,
                    (CSRF_HEADER, &csrf),
                    ("sec-fetch-site", "cross-site")
                ]))
                .is_some()
        );
    }

    #[test]
    fn loopback_binds_serve_loopback_host_names_only() {
        let access = Access::new("127.0.0.1".parse().unwrap(), None).unwrap();
        assert!(access.host_allowed(&headers(&[("host", "127.0.0.1:8081")])));
        assert!(access.host_allowed(&headers(&[("host", "localhost:8081")])));
        assert!(!access.host_allowed(&headers(&[("host", "rebound.example:8081")])));
        assert!(!access.host_allowed(&HeaderMap::new()));
    }

    #[test]
    fn sessions_come_from_the_token_or_its_cookie() {
        let token = AccessToken::new(Zeroizing::new("0123456789abcdef".into())).unwrap();
        let access = Access::new("0.0.0.0".parse().unwrap(), Some(token)).unwrap();
        assert!(!access.has_session(&HeaderMap::new()));
        assert!(access.has_session(&headers(&[("authorization", "Bearer 0123456789abcdef")])));
        assert!(!access.has_session(&headers(&[("authorization", "Bearer 0123456789abcdeX")])));
        let cookie = format!("a=b; {SESSION_COOKIE}={}", access.session);
        assert!(access.has_session(&headers(&[("cookie", &cookie)])));
        assert_eq!(percent_decode("a%20b+c%zz").as_str(), "a b c%zz");
    }
}
