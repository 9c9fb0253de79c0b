#!/usr/bin/env bash
# Instructions per AWS SDK call (benches/aws_sdk_call_instructions.rs),
# counted by callgrind: the same warm-up with 0 and with N more DynamoDB
# GetItem calls against the SDK's in-memory HTTP client, without perfmon's
# interceptor, with one bare span per call, with it sampled in, and sampled
# out. TIME=1 also prints the CPU time per call (perf stat's task-clock
# over 20,000 calls, one core).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-1000}
exe=$(cargo bench --features aws-sdk --bench aws_sdk_call_instructions --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "aws_sdk_call_instructions" and m.get("executable"):
        print(m["executable"])')
count() { # calls way
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$exe" "$1" "$2" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
echo "| way | instructions per call | over sdk |"
echo "|---|---|---|"
for way in sdk bare_span sampled_in sampled_out; do
    per=$(( ($(count "$n" "$way") - $(count 0 "$way")) / n ))
    [ "$way" = sdk ] && sdk=$per
    echo "| $way | $per | $(( per - sdk )) |"
done
if [ "${TIME:-}" = 1 ]; then
    echo
    echo "| way | CPU µs per call |"
    echo "|---|---|"
    for way in sdk bare_span sampled_in sampled_out; do
        ms=$(taskset -c 1 perf stat -e task-clock "$exe" 20000 "$way" 2>&1 | awk '/task-clock/ {print $1}' | tr -d ,)
        echo "| $way | $(python3 -c "print(round($ms * 1000 / 20200, 1))") |"
    done
fi
