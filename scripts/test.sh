#!/usr/bin/env bash
# Every check CI runs, in the order that fails fastest: formatting, lints, docs, tests.
# Works on a fresh machine: anything a test needs beyond the Rust toolchain is
# installed by scripts/ensure-tools.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-tools.sh

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
echo "== cargo test"
cargo test --workspace --locked
