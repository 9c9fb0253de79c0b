#!/usr/bin/env bash
# Where a monitored load round's extra CPU goes, per message.
#
# Runs `perfmon-chat load --connections 200 --rounds 4` (after the warm-up:
# on, off, off, on) under `perf record` (CPU-clock samples, DWARF call
# graphs),
# splits the samples into rounds at each round's start (the round's
# `xray-drain` thread is born then) and divides each part's CPU by the
# round's replies. Prints µs a message by part, the mean of the monitored
# rounds, of the unmonitored ones, and the difference. A round's set-up
# (keys, tokens, connections) is in both kinds and mostly cancels out.
#
# With --paired (`load --paired`), a sample's side is its thread's
# (`load-on*`, `load-off*`); each side's `*-main` thread, which sets a
# round up and tears it down, is left out.
#
#   bash scripts/load_profile.sh [--paired] [--trace-all] [--seconds N] [--rounds N]
#
# Needs `perf` (linux-perf) and kernel.perf_event_paranoid at most 1 for
# the kernel's share (or root).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=4
rounds=4
trace=()
paired=()
while [ $# -gt 0 ]; do
    case $1 in
        --trace-all) trace=(--trace-all) ;;
        --paired) paired=(--paired) ;;
        --seconds) seconds=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        *) echo "usage: $0 [--paired] [--trace-all] [--seconds N] [--rounds N]" >&2; exit 2 ;;
    esac
    shift
done
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
cargo build --release -q -p perfmon-chat-lab
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cp target/release/perfmon-chat "$out/perfmon-chat"
perf record -q -e cpu-clock -F 499 --call-graph dwarf,16384 -o "$out/perf.data" -- \
    "$out/perfmon-chat" load --connections 200 --seconds "$seconds" --rounds "$rounds" \
    --no-progress "${trace[@]}" "${paired[@]}" >"$out/load.txt" 2>&1
cat "$out/load.txt"
perf script -i "$out/perf.data" --show-task-events -F comm,tid,time,period,ip,sym 2>/dev/null \
    >"$out/samples.txt"
python3 - "$out/load.txt" "$out/samples.txt" "${#paired[@]}" <<'EOF'
import re, sys

paired = sys.argv[3] == "1"

# The measured rounds' rows, in order (the warm-up row is not one):
# round, monitoring, replies...
rows = [row.split() for row in open(sys.argv[1])
        if re.match(r"^\d+\s+(on|off)\s+\d+", row)]
replies = [int(row[2]) for row in rows]
monitored = [row[1] == "on" for row in rows]

starts, samples, sample = [], [], None
for line in open(sys.argv[2]):
    if "PERF_RECORD_COMM" in line and "xray-drain" in line:
        starts.append(float(re.search(r"(\d+\.\d+):", line).group(1)))
    elif line.strip() and not line[0].isspace():
        head = re.match(r"\s*(\S.*?)\s+(\d+)\s+(\d+\.\d+):\s+(\d+)", line)
        sample = None
        if head:
            sample = [float(head.group(3)), head.group(1), int(head.group(4)), []]
            samples.append(sample)
    elif line.strip() and sample is not None:
        sample[3].append(line.strip().split(" ", 1)[-1])
if paired:
    # One row per side and round: a "round" per side, all rounds pooled.
    replies = [sum(r for r, m in zip(replies, monitored) if m),
               sum(r for r, m in zip(replies, monitored) if not m)]
    monitored = [True, False]
elif len(starts) != len(replies) + 1:
    sys.exit(f"{len(starts)} round starts for {len(replies)} rounds and the warm-up")

def within(sample, frame):
    return any(frame in f for f in sample[3])

# (part, test), most specific first: each sample counts in its first part.
parts = [
    ("X-Ray daemon stand-in (xray-drain)", lambda s: s[1] in ("xray-drain", "load-on-drain")),
    ("flush: X-Ray datagram send", lambda s: within(s, "DocumentWriter::write")
        and (within(s, "__libc_send") or within(s, "__send"))),
    ("flush: X-Ray document writing", lambda s: within(s, "DocumentWriter::write")),
    ("flush: the rest (spans, EMF, metric collection)", lambda s: within(s, "Telemetry::force_flush")),
    ("operations: end (span end, privacy, metric records)", lambda s: within(s, "OperationMonitor::finish")),
    ("operations: start", lambda s: within(s, "PerformanceMonitor::start")),
    ("everything else", lambda s: True),
]
bounds = starts[1:] + [float("inf")]
rounds = [[0.0] * len(parts) for _ in replies]
def side(s):
    if s[1].endswith("-main"):
        return None
    return 0 if s[1].startswith("load-on") else 1 if s[1].startswith("load-off") else None

for s in samples:
    if paired:
        r = side(s)
    else:
        r = next((i for i in range(len(replies)) if bounds[i] <= s[0] < bounds[i + 1]), None)
    if r is None:
        continue
    k = next(i for i, (_, test) in enumerate(parts) if test(s))
    rounds[r][k] += s[2] / 1e3 / replies[r]  # ns of CPU -> µs a message

on = [r for r, m in zip(rounds, monitored) if m]
off = [r for r, m in zip(rounds, monitored) if not m]
mean = lambda rs, k: sum(r[k] for r in rs) / max(len(rs), 1)
print()
print(f"| part | on, µs a message | off | on − off |")
print("|---|---|---|---|")
for k, (name, _) in enumerate(parts):
    print(f"| {name} | {mean(on, k):.2f} | {mean(off, k):.2f} | {mean(on, k) - mean(off, k):+.2f} |")
total_on = sum(mean(on, k) for k in range(len(parts)))
total_off = sum(mean(off, k) for k in range(len(parts)))
print(f"| all | {total_on:.2f} | {total_off:.2f} | {total_on - total_off:+.2f} |")
EOF
