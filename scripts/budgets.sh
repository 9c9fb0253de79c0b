#!/usr/bin/env bash
# The cold-start, size and memory table in the README: the real
# ws-conversation with telemetry and with telemetry `none`, against a plain
# lambda_runtime function; for size also one with the same AWS clients and
# perfmon's sqs_batch example (app/tests/budgets.rs). Needs what .ci/run installs (.venv with moto);
# optimised, as on Lambda.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p perfmon-chat --example lambda_hello
cargo build --release -p perfmon-chat --features aws --example lambda_aws_hello
cargo build --release -p perfmon --example sqs_batch
exec cargo test --release -p perfmon-chat --features aws --test budgets \
    -- --ignored --nocapture --test-threads 1
