#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, when it is missing.
set -euo pipefail
# Nothing yet beyond cargo, rustfmt and clippy.
for tool in cargo rustfmt cargo-clippy; do
  command -v "$tool" >/dev/null || { echo "missing $tool: install the Rust toolchain (rustup)" >&2; exit 1; }
done
