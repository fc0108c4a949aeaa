//! Point 1 of issue 17, measured as the kernel sees it: diagnosing a 1 MiB body nested
//! 127 deep used to pretty-print it to 128 MiB and clone and hash the copy (342 MiB
//! peak through `webhook listen`). This file holds one test, so the process's peak
//! resident memory is this diagnosis's.

#![cfg(target_os = "linux")]

use std::time::SystemTime;

use webhook_core::{Scheme, Secret, diagnose::diagnose, senders::stalwart};

/// Peak resident memory of this process, from the kernel.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn diagnosing_a_deep_body_takes_memory_near_its_size() {
    let depth = 127;
    let mut filler = (1 << 20) - 2 * depth;
    let mut body = "[".repeat(depth).into_bytes();
    if filler.is_multiple_of(2) {
        body.push(b' ');
        filler -= 1;
    }
    body.extend("0,".repeat(filler / 2).bytes());
    body.push(b'0');
    body.extend("]".repeat(depth).bytes());
    assert_eq!(body.len(), 1 << 20);
    let mut headers = http::HeaderMap::new();
    // Well-formed, and not the body's signature under any variant.
    headers.insert(
        "x-signature",
        stalwart::sign(&Secret::new("another"), b"x")
            .parse()
            .unwrap(),
    );

    let before = peak_rss_kib();
    let diagnosis = diagnose(
        Scheme::Stalwart,
        b"s3cret",
        &headers,
        &body,
        SystemTime::now(),
    );
    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    assert!(diagnosis.findings.is_empty());
    eprintln!("peak memory grew by {grown_mib} MiB; {:?}", diagnosis.work);
    assert!(grown_mib < 32, "peak memory grew by {grown_mib} MiB");
}
