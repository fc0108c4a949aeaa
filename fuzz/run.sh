#!/usr/bin/env bash
# Builds the fuzz targets with stable Rust (libfuzzer-sys + sanitizer-coverage passes,
# no nightly, no cargo-fuzz) and runs them one at a time, on one core.
#
#   bash fuzz/run.sh N          every target for exactly N executions (-runs=N)
#   bash fuzz/run.sh --ci       every target for a bounded time, <= 60 s of fuzzing in all
#   bash fuzz/run.sh N t1 t2    only the named targets
#
# Each target starts from a copy of its seeds (fuzz/corpus/<target>/) in
# fuzz/work/corpus/<target>/ (git-ignored), so the committed seeds stay clean; set
# FUZZ_KEEP_CORPUS=1 to keep growing an earlier work corpus instead. Inputs under
# fuzz/regressions/<target>/ are replayed first. A crash leaves its input in
# fuzz/artifacts/<target>/ and the script exits non-zero once all targets have run.
# CARGO_TARGET_DIR is honoured (default: fuzz/target). Extra libFuzzer flags can be
# passed in FUZZ_ARGS.
set -euo pipefail

FUZZ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Microseconds since the epoch, and a microsecond span as seconds with one decimal
# (bash arithmetic only: no bc/awk needed on a bare CI machine).
now_us() { local t=${EPOCHREALTIME//[.,]/}; echo "$t"; }
secs() { local us=$1; printf '%d.%d' $((us / 1000000)) $((us % 1000000 / 100000)); }
usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }

[ $# -ge 1 ] || usage
MODE=$1
shift
case $MODE in
    --ci) ;;
    ''|*[!0-9]*) usage ;;
esac

HOST=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$FUZZ_DIR/target}
BIN=$CARGO_TARGET_DIR/$HOST/release

# Coverage instrumentation that libFuzzer reads (what cargo-fuzz passes), all stable
# codegen options. `--cfg fuzzing` is what fuzz-aware crates look for. Building for an
# explicit --target keeps build scripts and proc macros (host code) uninstrumented.
SANCOV_FLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing"

ALL_TARGETS=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$FUZZ_DIR/Cargo.toml" | grep -v '^hookwise-fuzz$')
if [ $# -gt 0 ]; then
    TARGETS="$*"
    for t in $TARGETS; do
        grep -qx "$t" <<<"$ALL_TARGETS" || { echo "unknown target: $t" >&2; exit 2; }
    done
else
    TARGETS=$ALL_TARGETS
fi
COUNT=$(wc -w <<<"$TARGETS")

echo "== building $COUNT fuzz target(s) (release, debug assertions, overflow checks) into $BIN"
BUILD_START=$(now_us)
RUSTFLAGS="${RUSTFLAGS:-} $SANCOV_FLAGS" cargo build --release --locked \
    --manifest-path "$FUZZ_DIR/Cargo.toml" --target "$HOST" \
    $(for t in $TARGETS; do printf -- '--bin %s ' "$t"; done)
echo "== built in $(secs $(( $(now_us) - BUILD_START ))) s"

if [ "$MODE" = --ci ]; then
    # 40 s spread over the targets. libFuzzer checks -max_total_time about once a
    # second, so a target runs up to ~1 s past its limit: subtract it, keeping at
    # least 1 s, so the whole run stays within 60 s.
    PER=$(( 40 / COUNT - 1 )); [ "$PER" -ge 1 ] || PER=1
    LIMIT=(-max_total_time="$PER")
    echo "== --ci: ${PER} s per target"
else
    LIMIT=(-runs="$MODE")
fi

LOGS=$FUZZ_DIR/work/logs
mkdir -p "$LOGS"
FAILED=()
ROWS=()
FUZZ_START=$(now_us)
for t in $TARGETS; do
    corpus=$FUZZ_DIR/work/corpus/$t
    artifacts=$FUZZ_DIR/artifacts/$t/
    if [ "${FUZZ_KEEP_CORPUS:-0}" != 1 ]; then rm -rf "$corpus"; fi
    mkdir -p "$corpus" "$artifacts"
    cp -n "$FUZZ_DIR/corpus/$t"/* "$corpus"/ 2>/dev/null || true

    # Known crashers must stay fixed.
    if compgen -G "$FUZZ_DIR/regressions/$t/*" >/dev/null; then
        if ! "$BIN/$t" -artifact_prefix="$artifacts" "$FUZZ_DIR/regressions/$t"/* >"$LOGS/$t.regressions.log" 2>&1; then
            echo "!! $t: a regression input fails again (see $LOGS/$t.regressions.log)"
            FAILED+=("$t (regression)")
            continue
        fi
    fi

    log=$LOGS/$t.log
    start=$(now_us)
    status=0
    # One process, one worker, one core.
    "$BIN/$t" "${LIMIT[@]}" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$artifacts" ${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1 || status=$?
    wall_us=$(( $(now_us) - start )); [ "$wall_us" -gt 0 ] || wall_us=1
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|NEW|REDUCE|pulse|INITED)' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$done_line")
    execs=${execs:-?}
    rate=$( [ "$execs" != "?" ] && echo $(( execs * 1000000 / wall_us )) || echo "?")
    if [ "$status" -ne 0 ]; then
        result="CRASH (exit $status): $(ls -t "$artifacts" | head -1)"
        FAILED+=("$t")
        grep -m1 -E 'panicked at|ERROR: libFuzzer' "$log" | sed 's/^/   /' || true
    else
        result=ok
    fi
    row=$(printf '%-20s %12s %9s %9s %6s %7s %6s  %s' "$t" "$execs" "$(secs "$wall_us")" "$rate" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result")
    echo "$row"
    ROWS+=("$row")
done
TOTAL=$(secs $(( $(now_us) - FUZZ_START )))

echo
printf '%-20s %12s %9s %9s %6s %7s %6s  %s\n' target executions wall_s exec/s cov ft corpus result
printf '%s\n' "${ROWS[@]}"
printf '== fuzzing took %s s in all (logs in %s)\n' "$TOTAL" "$LOGS"
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "== FAILED: ${FAILED[*]} (inputs kept in $FUZZ_DIR/artifacts/)"
    exit 1
fi
echo "== no crashes"
