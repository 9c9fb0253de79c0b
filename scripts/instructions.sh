#!/usr/bin/env bash
# Instructions per invocation on the Lambda export path (EMF lines and
# X-Ray over UDP), counted by callgrind (benches/export_instructions.rs):
# the same warm-up run with 0 and with N more chat messages, sampled and
# unsampled, whole and for the flush alone (Telemetry::force_flush, what
# benches/export.rs times); and both again with one flush per 200 messages, a
# server's pattern. With --profile it also prints the functions that
# cost the most over the sampled run (divide by warm-up + N = 1200).
# PROFILE=deploy counts the size-first build Lambda functions ship with;
# its symbols are stripped, so only whole runs are counted there.
set -euo pipefail
cd "$(dirname "$0")/.."
n=1000
profile=${PROFILE:-bench}
exe=$(cargo bench --profile "$profile" --bench export_instructions --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "export_instructions" and m.get("executable"):
        print(m["executable"])')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
per_flush=1
count() { # invocations sampled [valgrind options]
    valgrind --tool=callgrind --callgrind-out-file="$out/$1-$2.out" "${@:3}" "$exe" "$1" "$2" "$per_flush" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per() { # sampled [valgrind options]: instructions per invocation
    # A stripped build has no symbol to toggle the count on.
    if [ $# -gt 1 ] && [ "$profile" != bench ]; then
        echo -
        return
    fi
    local base more
    base=$(count 0 "$@")
    more=$(count "$n" "$@")
    echo $(( (more - base) / n ))
}
flush=--toggle-collect='perfmon_lambda::telemetry::Telemetry::force_flush'
echo "| invocation | recording and flush | flush only |"
echo "|---|---|---|"
for sampled in 1 0; do
    echo "| sampled=$sampled | $(per "$sampled") | $(per "$sampled" "$flush") |"
done
# A server's pattern: one flush per 200 messages, as the load tool does.
per_flush=200
for sampled in 1 0; do
    echo "| sampled=$sampled, 200 a flush | $(per "$sampled") | $(per "$sampled" "$flush") |"
done
if [ "${1:-}" = "--profile" ]; then
    per_flush=1
    count "$n" 1 >/dev/null
    callgrind_annotate --inclusive=yes "$out/$n-1.out" 2>/dev/null | head -60 || true
fi
