#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, when it is missing.
# Idempotent, and silent when everything is already there.
set -euo pipefail

for tool in cargo rustfmt cargo-clippy; do
  command -v "$tool" >/dev/null || { echo "missing $tool: install the Rust toolchain (rustup)" >&2; exit 1; }
done
# webhook-sender's TLS (reqwest + rustls + aws-lc-rs) compiles aws-lc-sys from C: a C
# compiler is needed (cmake is not).
command -v cc >/dev/null || { echo "missing cc: install a C compiler (e.g. apt-get install gcc)" >&2; exit 1; }

# tests/hostile_traffic.rs and the soak run receivers under a real descriptor limit with
# util-linux's prlimit (an Essential package on Debian: always installed there).
command -v prlimit >/dev/null || { echo "missing prlimit: install util-linux (apt-get install util-linux)" >&2; exit 1; }

# The Redis idempotency store's tests and bench start a real redis-server on loopback.
if ! command -v redis-server >/dev/null; then
  echo "== installing redis-server (for webhook-redis tests)"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  # apt's chatter is shown only if it fails.
  if ! log=$("${sudo[@]}" apt-get update -qq 2>&1 && "${sudo[@]}" apt-get install -y -qq redis-server 2>&1); then
    echo "$log" >&2
    echo "could not install redis-server with apt-get" >&2
    exit 1
  fi
  # The package may start a system service; the tests run their own servers.
  command -v redis-server >/dev/null || { echo "redis-server did not install" >&2; exit 1; }
fi

# The inbox's PostgreSQL backend tests and bench `initdb` and start a real server (as a
# non-root user, from util-linux's `setpriv`) from Debian's binaries under
# /usr/lib/postgresql/<version>/bin.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "== installing postgresql (for webhook-inbox's PostgreSQL backend tests)"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  if ! log=$("${sudo[@]}" apt-get update -qq 2>&1 && "${sudo[@]}" apt-get install -y -qq postgresql 2>&1); then
    echo "$log" >&2
    echo "could not install postgresql with apt-get" >&2
    exit 1
  fi
  # The package may create and start a system cluster; the tests run their own servers.
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || { echo "postgresql did not install (no initdb under /usr/lib/postgresql)" >&2; exit 1; }
fi
command -v setpriv >/dev/null || { echo "missing setpriv: install util-linux (apt-get install util-linux)" >&2; exit 1; }

# The inbox inspector's browser tests (webhook-cli/tests/inspector.rs) drive headless
# Chromium through chromedriver, both Debian packages.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "== installing chromium and chromium-driver (for the inspector's browser tests)"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  if ! log=$("${sudo[@]}" apt-get update -qq 2>&1 && "${sudo[@]}" apt-get install -y -qq chromium chromium-driver 2>&1); then
    echo "$log" >&2
    echo "could not install chromium and chromium-driver with apt-get" >&2
    exit 1
  fi
  command -v chromedriver >/dev/null || { echo "chromedriver did not install" >&2; exit 1; }
fi
