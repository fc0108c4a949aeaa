//! The `Authorization: Basic/Bearer` parser and the URL-token check (both
//! crate-private: reached through `Verifier::verify` with `Credentials` / `UrlToken`).
//!
//! Input: byte 0 = flags (bit 0: Bearer instead of Basic; bit 1: also require a URL
//! token; bit 2: send `Authorization` twice; bit 3: omit `Authorization`), then
//! `authorization\nquery`.
//! Invariants: Basic verifies only when the value is `basic` (any case), spaces, and
//! standard base64 of exactly `user:password`; Bearer only when the rest is exactly
//! the token; the URL token only when the query has exactly one `token` parameter
//! equal to it. A request built from the expected values always verifies.
#![no_main]
use base64::Engine as _;
use hookwise_fuzz::{RawRequest, check_verify_error, split_lines};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use webhook_core::{Credentials, Scheme, Secret, UrlToken, Verifier};

const USER: &str = "account";
const PASSWORD: &str = "s3cr3t";
const TOKEN: &str = "tok-123";
const URL_TOKEN: &str = "a b&c";

fn verifier(bearer: bool, url_token: bool) -> Verifier {
    let creds = if bearer {
        Credentials::bearer(Secret::new(TOKEN))
    } else {
        Credentials::basic(USER, Secret::new(PASSWORD))
    };
    let mut builder = Verifier::builder(Scheme::WildDuck).credentials(creds);
    if url_token {
        builder = builder.url_token(UrlToken::new("token", Secret::new(URL_TOKEN)));
    }
    builder.build().unwrap()
}

static VERIFIERS: LazyLock<[Verifier; 4]> = LazyLock::new(|| {
    [
        verifier(false, false),
        verifier(true, false),
        verifier(false, true),
        verifier(true, true),
    ]
});

/// The credentials part of an `Authorization` value if its scheme word is `scheme`.
fn credentials<'a>(value: &'a [u8], scheme: &str) -> Option<&'a [u8]> {
    let space = value.iter().position(|&b| b == b' ')?;
    let (word, rest) = value.split_at(space);
    let rest = rest.trim_ascii_start();
    (word.eq_ignore_ascii_case(scheme.as_bytes()) && !rest.is_empty()).then_some(rest)
}

fn auth_ok(value: &[u8], bearer: bool) -> bool {
    if bearer {
        credentials(value, "Bearer") == Some(TOKEN.as_bytes())
    } else {
        credentials(value, "Basic")
            .and_then(|rest| base64::engine::general_purpose::STANDARD.decode(rest).ok())
            .is_some_and(|decoded| decoded == format!("{USER}:{PASSWORD}").as_bytes())
    }
}

fn token_ok(query: Option<&str>) -> bool {
    let Some(query) = query else { return false };
    let values: Vec<_> = query
        .split('&')
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                let plus = s.replace('+', " ");
                percent_decode(&plus)
            };
            (decode(name) == "token".as_bytes()).then(|| decode(value))
        })
        .collect();
    values.len() == 1 && values[0] == URL_TOKEN.as_bytes()
}

/// `%XX` decoding as in application/x-www-form-urlencoded (a bad escape stays as is).
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (
                (b[i + 1] as char).to_digit(16),
                (b[i + 2] as char).to_digit(16),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let bearer = flags & 1 != 0;
    let with_token = flags & 2 != 0;
    let twice = flags & 4 != 0;
    let omit = flags & 8 != 0;
    let mut parts = split_lines(rest, 2).into_iter();
    let auth = parts.next().unwrap_or_default();
    let query = parts
        .next()
        .and_then(|q| std::str::from_utf8(q).ok())
        .map(str::to_owned);
    let mut req = RawRequest::new();
    if !omit {
        req.push("authorization", auth);
        if twice {
            req.push("authorization", auth);
        }
    }
    req.query = query.clone();
    let verifier = &VERIFIERS[usize::from(bearer) + 2 * usize::from(with_token)];
    let expected_ok =
        !omit && !twice && auth_ok(auth, bearer) && (!with_token || token_ok(query.as_deref()));
    match verifier.verify(&req, b"{}") {
        Ok(verified) => {
            assert!(
                expected_ok,
                "verified: auth {auth:?} query {query:?} flags {flags:#x}"
            );
            assert!(verified.verification().credentials_checked());
            assert_eq!(verified.verification().url_token_checked(), with_token);
        }
        Err(err) => {
            check_verify_error(&err);
            assert!(
                !expected_ok,
                "refused ({err:?}): auth {auth:?} query {query:?} flags {flags:#x}"
            );
        }
    }
});
