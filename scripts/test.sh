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
echo "== fuzz targets (short bounded run: keeps every target building and running)"
# The fuzz crate is its own workspace; its instrumented build goes under target/<host>/,
# beside (not over) the workspace's own build.
CARGO_TARGET_DIR="$PWD/target" bash fuzz/run.sh --ci
