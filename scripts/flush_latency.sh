#!/usr/bin/env bash
# The flush-mode latency table in the README: 1,000 chat messages per flush
# mode through the cargo-lambda emulator, OTLP to the collector in Docker,
# against the same handler without monitoring (app/tests/flush_latency.rs).
# Needs what .ci/run installs (.venv with cargo-lambda, Docker); optimised,
# as on Lambda.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --release -p perfmon-chat --features aws --test flush_latency \
    -- --ignored --nocapture --test-threads 1
