#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, when it is missing.
set -euo pipefail
# Nothing yet beyond cargo, rustfmt and clippy.
for tool in cargo rustfmt cargo-clippy; do
  command -v "$tool" >/dev/null || { echo "missing $tool: install the Rust toolchain (rustup)" >&2; exit 1; }
done
# webhook-sender's TLS (reqwest + rustls + aws-lc-rs) compiles aws-lc-sys from C: a C
# compiler is needed (cmake is not).
command -v cc >/dev/null || { echo "missing cc: install a C compiler (e.g. apt-get install gcc)" >&2; exit 1; }
