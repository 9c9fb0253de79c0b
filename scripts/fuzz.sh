#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time:
#
#   scripts/fuzz.sh            # 20 s per target (what CI runs)
#   scripts/fuzz.sh 600        # 10 minutes per target
#   scripts/fuzz.sh 600 jwt    # one target
#
# Targets (fuzz/fuzz_targets/): frame, jwt, catalog, emf. cargo-fuzz needs
# the nightly toolchain; it is installed into target/tools when missing.
# Without a nightly toolchain the property tests (app/tests/no_panic.rs) run
# instead, with more cases, and the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-20}
shift || true
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(frame jwt catalog emf)

log() { printf '== %s\n' "$*" >&2; }

if ! cargo +nightly --version >/dev/null 2>&1; then
    log "NO NIGHTLY TOOLCHAIN: cargo-fuzz cannot run; running the property tests with 4096 cases instead"
    PROPTEST_CASES=4096 cargo test --release -p perfmon-chat --test no_panic
    exit 0
fi

TOOLS=$PWD/target/tools
if [[ ! -x $TOOLS/bin/cargo-fuzz ]]; then
    log "installing cargo-fuzz into $TOOLS"
    cargo install --quiet --locked --root "$TOOLS" cargo-fuzz@0.13.2
fi
export PATH=$TOOLS/bin:$PATH

cd fuzz
cargo +nightly fuzz build -O
for target in "${TARGETS[@]}"; do
    log "fuzzing $target for ${SECONDS_PER_TARGET}s"
    mkdir -p "corpus/$target"
    # Seeds: the committed fixtures and catalog, so runs start from real input.
    case $target in
        frame) for f in ../app/tests/fixtures/*.json; do
                   python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("body") or "", end="")' "$f" \
                       >"corpus/$target/seed-$(basename "$f" .json)"
               done ;;
        catalog) cp ../dashboards/catalog.json "corpus/$target/seed-catalog" ;;
    esac
    status=0
    # A slow unit is not a failure: the jwt target's first input pays for
    # its one-time RSA key generation, whose time varies with the primes
    # drawn (2 to 15 s seen). Crashes, leaks, timeouts and OOMs are.
    cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -print_final_stats=1 \
        -report_slow_units=60 \
        >"target/$target.log" 2>&1 || status=$?
    grep -E '^(Done|stat::number_of_executed_units)' "target/$target.log" || true
    failed=$status
    for kind in crash leak timeout oom; do
        if compgen -G "artifacts/$target/$kind-*" >/dev/null; then failed=1; fi
    done
    if [[ $failed -ne 0 ]]; then
        tail -40 "target/$target.log" >&2
        log "$target failed (exit $status); inputs in fuzz/artifacts/$target/"
        exit 1
    fi
done
log "no target found a crash"
