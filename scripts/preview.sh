#!/usr/bin/env bash
# The dashboard preview of a demo run, and the README's screenshot of it:
#
#   scripts/preview.sh            # writes target/preview/{run.jsonl,preview.html}
#                                 # and docs/preview-performance.png
#
# Needs chromium for the screenshot (apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=target/preview
mkdir -p "$OUT"
cargo run --release -q -p perfmon-chat-lab -- demo --no-progress --emf-out "$OUT/run.jsonl" >/dev/null
cargo run --release -q -p perfmon-tools --bin perfmon -- dashboards preview \
    --catalog dashboards/catalog.json --run "$OUT/run.jsonl" --out "$OUT/preview.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1500,1900 \
    --screenshot="$PWD/docs/preview-performance.png" "file://$PWD/$OUT/preview.html" 2>/dev/null
echo "wrote docs/preview-performance.png"
