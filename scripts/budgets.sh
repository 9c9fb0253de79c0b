#!/usr/bin/env bash
# The cold-start, size and memory table in the README: the real
# ws-conversation with telemetry and with telemetry `none`, against a plain
# lambda_runtime function; for size also one with the same AWS clients and
# perfmon's minimal example (app/tests/budgets.rs). Needs what .ci/run
# installs (.venv with moto); optimised, as on Lambda. About 35 minutes, most
# of them the deploy profile's link-time optimisation and moto.
set -euo pipefail
cd "$(dirname "$0")/.."
# Sizes are given under the release profile and the `deploy` profile (what
# is deployed: fat LTO, size-first), so each executable is built in both.
for profile in release deploy; do
    cargo build --profile "$profile" -p perfmon-chat --features aws --bin ws-conversation
    cargo build --profile "$profile" -p perfmon-chat --features aws --example lambda_aws_hello
    cargo build --profile "$profile" -p perfmon-chat --example lambda_hello
    cargo build --profile "$profile" -p perfmon-lambda --example minimal
done
exec cargo test --release -p perfmon-chat --features aws --test budgets \
    -- --ignored --nocapture --test-threads 1
