//! A dudect-style statistical check that rejecting a wrong MAC or wrong credentials takes
//! the same time however much of the presented value is right.
//!
//! `cargo bench --bench constant_time` (add `-- --filter mac` to pick one; `--continuous
//! mac_stalwart` to keep sampling until interrupted).
//!
//! Each bench times full `Verifier::verify` calls on two classes of wrong requests:
//! **Left** presents a value equal to the right one except in its last byte (the longest
//! equal prefix an attacker could build up), **Right** presents a random value of the
//! same length. A comparison that stops at the first differing byte makes Left slower;
//! dudect's Welch t-test over cropped distributions reports `max t`. |t| below 5 means no
//! difference was found at that sample count (it is evidence, not proof).
//!
//! The classes are interleaved at random so drift in machine load hits both alike.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use dudect_bencher::{
    BenchRng, Class, CtRunner,
    ctbench::{BenchMetadata, BenchName, BenchOpts, run_benches_console},
    rand::{Rng as _, RngExt as _},
};
use http::{HeaderMap, HeaderValue};
use webhook_core::{
    Credentials, Scheme, Secret, Verifier,
    senders::{email_api, stalwart},
};

const SAMPLES: usize = 200_000;
const SECRET: &str = "constant-time-bench-secret";
/// Small, so the MAC computation (identical for both classes) does not drown the signal.
const BODY: &[u8] = br#"{"events":[{"id":"1","type":"auth.success","data":{}}]}"#;

fn header_map(name: &'static str, value: &str) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(
        name,
        HeaderValue::from_str(value).expect("ascii header value"),
    );
    map
}

/// Left: `correct` with only its last byte changed. Right: random bytes of the same
/// length whose first byte differs from `correct`'s. Both are encoded afterwards, so
/// every wrong value decodes cleanly and is rejected by the comparison itself, never by
/// an earlier decoding error (which would be a timing difference of its own).
fn wrong_bytes(correct: &[u8], class: Class, rng: &mut BenchRng) -> Vec<u8> {
    let mut bytes = correct.to_vec();
    match class {
        Class::Left => {
            let last = bytes.len() - 1;
            bytes[last] ^= rng.random_range(1..=255u8);
        }
        Class::Right => {
            rng.fill_bytes(&mut bytes);
            if bytes[0] == correct[0] {
                bytes[0] ^= 0x80;
            }
        }
    }
    bytes
}

/// The same for a printable token: Left changes its last character, Right draws every
/// character at random (the first one differing), all from `alphabet`.
fn wrong_token(correct: &str, alphabet: &[u8], class: Class, rng: &mut BenchRng) -> String {
    let mut bytes = correct.as_bytes().to_vec();
    let mut draw = |not: u8| loop {
        let c = alphabet[rng.random_range(0..alphabet.len())];
        if c != not {
            return c;
        }
    };
    match class {
        Class::Left => {
            let last = bytes.len() - 1;
            bytes[last] = draw(bytes[last]);
        }
        Class::Right => {
            let first = bytes[0];
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = draw(if i == 0 { first } else { 0 });
            }
        }
    }
    String::from_utf8(bytes).expect("alphabet is ASCII")
}

fn random_class(rng: &mut BenchRng) -> Class {
    if rng.random::<bool>() {
        Class::Left
    } else {
        Class::Right
    }
}

/// Times `verifier` on SAMPLES wrong requests of both classes, each built by `make`.
fn run(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    verifier: &Verifier,
    make: impl Fn(Class, &mut BenchRng) -> HeaderMap,
) {
    let inputs: Vec<(Class, HeaderMap)> = (0..SAMPLES)
        .map(|_| {
            let class = random_class(rng);
            (class, make(class, rng))
        })
        .collect();
    for (class, headers) in inputs {
        runner.run_one(class, || {
            let outcome = verifier.verify(&headers, BODY);
            assert!(outcome.is_err(), "a wrong value must be rejected");
            outcome.is_err()
        });
    }
}

const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Stalwart: base64 MAC in `X-Signature`.
fn mac_stalwart(runner: &mut CtRunner, rng: &mut BenchRng) {
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .build()
        .expect("verifier");
    let correct = STANDARD
        .decode(stalwart::sign(&Secret::new(SECRET), BODY))
        .expect("base64 MAC");
    run(runner, rng, &verifier, |class, rng| {
        let value = STANDARD.encode(wrong_bytes(&correct, class, rng));
        header_map("x-signature", &value)
    });
}

/// Email-API: `sha256=<hex>` in `X-Webhook-Signature`.
fn mac_email_api(runner: &mut CtRunner, rng: &mut BenchRng) {
    let verifier = Verifier::builder(Scheme::EmailApi)
        .secret(Secret::new(SECRET))
        .build()
        .expect("verifier");
    let signed = email_api::sign(&Secret::new(SECRET), BODY);
    let correct =
        hex::decode(signed.strip_prefix("sha256=").expect("sha256= prefix")).expect("hex MAC");
    run(runner, rng, &verifier, |class, rng| {
        let value = format!("sha256={}", hex::encode(wrong_bytes(&correct, class, rng)));
        header_map("x-webhook-signature", &value)
    });
}

/// Stalwart's `Authorization: Bearer` (and WildDuck's only check): the token compared.
fn auth_bearer(runner: &mut CtRunner, rng: &mut BenchRng) {
    const TOKEN: &str = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8";
    let verifier = Verifier::builder(Scheme::WildDuck)
        .credentials(Credentials::bearer(Secret::new(TOKEN)))
        .build()
        .expect("verifier");
    run(runner, rng, &verifier, |class, rng| {
        let value = format!("Bearer {}", wrong_token(TOKEN, TOKEN_ALPHABET, class, rng));
        header_map("authorization", &value)
    });
}

fn main() {
    // `cargo bench` passes `--bench`; take only the flags this bench understands.
    let mut opts = BenchOpts::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--filter" => opts.filter = args.next(),
            "--continuous" => {
                opts.continuous = true;
                opts.filter = args.next();
            }
            "--out" => opts.file_out = args.next().map(Into::into),
            _ => {}
        }
    }
    let bench = |name, benchfn| BenchMetadata {
        name: BenchName(name),
        seed: None,
        benchfn,
    };
    let benches = vec![
        bench(
            "mac_stalwart",
            mac_stalwart as fn(&mut CtRunner, &mut BenchRng),
        ),
        bench("mac_email_api", mac_email_api),
        bench("auth_bearer", auth_bearer),
    ];
    run_benches_console(opts, benches).expect("write results to stdout");
}
