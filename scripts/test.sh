#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what the tests
# need (idempotently), then runs formatting, lints and every test.
#
#   scripts/test.sh
#
# With CI set, tests that need the local collector fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

ROTEL_VERSION=0.0.1a15
MOTO_VERSION=5.2.5
CFN_LINT_VERSION=1.58.0
# cfn-lint 1.58 does not install aws-sam-translator; the SAM expansion
# check (scripts/templates.py) needs it.
SAM_TRANSLATOR_VERSION=1.115.0
CARGO_LAMBDA_VERSION=1.9.2
CARGO_DENY_VERSION=0.20.2

log() { printf '\n== %s\n' "$*"; }

# One build from clean: incremental caches would only add a second copy of
# every workspace crate's object files per target, and the disk is what the
# suite runs short of (every test binary links the whole dependency tree).
export CARGO_INCREMENTAL=0
# On a clean machine, the test binaries are built without debug info and
# symbol tables: about 70 MB each becomes about 35, some 80 of them
# (`readelf -S`: .text 25 MB, .debug_* 16 MB, .symtab and .strtab 16 MB).
# A failing test still names its panic's file and line; a developer's run
# keeps the profile of their own `cargo test`, so that nothing rebuilds.
if [[ ${CI:-} == true ]]; then
    export CARGO_PROFILE_DEV_DEBUG=false CARGO_PROFILE_DEV_STRIP=symbols
fi

# System packages: python3-venv for the tools' virtualenv (rotel, the OTLP
# collector; moto, the AWS stand-in; cfn-lint; cargo-lambda), libpython3.11
# for the rotel binary (it links libpython; ldd shows no other need),
# chromium for the browser tests.
# docker.io is installed by scripts/collector.sh when missing.
missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
ldconfig -p | grep -q 'libpython3\.11\.so\.1\.0' || missing+=(libpython3.11)
# Headless Chromium opens the dashboard preview (lab/tests/preview_browser.rs).
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python tools in .venv inside the clone.
if [[ ! -x .venv/bin/python ]]; then
    log "creating .venv"
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import rotel, moto, joserfc, boto3, cfnlint, samtranslator" 2>/dev/null; then
    log "installing rotel==$ROTEL_VERSION moto[server]==$MOTO_VERSION cfn-lint==$CFN_LINT_VERSION aws-sam-translator==$SAM_TRANSLATOR_VERSION"
    .venv/bin/pip install -q --disable-pip-version-check \
        "rotel==$ROTEL_VERSION" "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" \
        "aws-sam-translator==$SAM_TRANSLATOR_VERSION"
fi
# cargo-lambda's wheel carries its binary; --no-deps skips ziglang (400 MB),
# which x86_64 builds with the plain cargo compiler do not need.
if [[ ! -x .venv/bin/cargo-lambda ]]; then
    log "installing cargo-lambda==$CARGO_LAMBDA_VERSION"
    .venv/bin/pip install -q --disable-pip-version-check --no-deps "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
export PERFMON_ROTEL PERFMON_MOTO
PERFMON_ROTEL=$(.venv/bin/python -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))')
PERFMON_MOTO=$PWD/.venv/bin/moto_server

log "disk free before the build (it peaks at about 5 GB: target/ while the tests run)"
df -h . | tail -1

log "Docker engine for the collector tests"
# An engine this run starts, this run stops, whatever the outcome.
export PERFMON_DOCKERD_PIDFILE=$PWD/target/perfmon-dockerd.pid
mkdir -p target
rm -f "$PERFMON_DOCKERD_PIDFILE"
stop_docker() {
    [[ -f $PERFMON_DOCKERD_PIDFILE ]] || return 0
    local pid
    pid=$(cat "$PERFMON_DOCKERD_PIDFILE")
    log "stopping the Docker engine this run started (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    rm -f "$PERFMON_DOCKERD_PIDFILE"
}
trap stop_docker EXIT
bash scripts/collector.sh engine

log "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings

log "the runtime crate builds alone: no AWS SDK crate, no tooling, none of the app's or lab's dependencies"
cargo check -p perfmon-lambda --no-default-features --lib
forbidden() { # PACKAGE FEATURES CRATE...   (FEATURES: a list, or "all")
    local package=$1 features=$2 crate
    shift 2
    local tree
    if [[ $features == all ]]; then
        tree=$(cargo tree -p "$package" --all-features -e normal --prefix none)
    else
        tree=$(cargo tree -p "$package" --features "$features" -e normal --prefix none)
    fi
    for crate in "$@"; do
        if grep -q "^$crate v" <<<"$tree"; then
            echo "$package (features: $features) depends on $crate" >&2
            exit 1
        fi
    done
}
forbidden perfmon-lambda all "aws-sdk-[a-z]*" aws-config tokio-tungstenite rsa indicatif clap plotters
log "the Lambda binaries hold nothing of the lab"
forbidden perfmon-chat aws clap indicatif tokio-tungstenite rsa

log "supply chain: cargo deny (advisories, bans, licenses, sources; deny.toml)"
TOOLS=$PWD/target/tools
if [[ "$("$TOOLS/bin/cargo-deny" --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]]; then
    cargo install --quiet --locked --root "$TOOLS" "cargo-deny@$CARGO_DENY_VERSION"
fi
# No network reaches the advisory database's git host: a dated RustSec
# snapshot stands beside the repository. cargo-deny reads a git
# repository named after the database's URL, and dates it by its commit.
snapshot=${PERFMON_ADVISORY_DB:-../shared/advisory-db}
if [[ -f $snapshot/SNAPSHOT ]]; then
    db=target/advisory-dbs/advisory-db-3157b0e258782691
    stamp=$(grep -o '[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:+-]*' "$snapshot/SNAPSHOT")
    if [[ "$(git -C "$db" log -1 --format=%cI 2>/dev/null)" != "$stamp" ]]; then
        rm -rf "$db"
        mkdir -p "$db"
        cp -r "$snapshot"/. "$db"/
        chmod -R u+w "$db"
        git -C "$db" init -q
        git -C "$db" add -A
        GIT_AUTHOR_DATE=$stamp GIT_COMMITTER_DATE=$stamp git -C "$db" \
            -c user.name=perfmon -c user.email=ci@perfmon.invalid commit -q -m "RustSec advisory-db snapshot"
    fi
    echo "advisory database: $(tail -1 "$snapshot/SNAPSHOT")"
    "$TOOLS/bin/cargo-deny" --offline --workspace check
else
    [[ ${CI:-} != true ]] || { echo "no advisory database snapshot at $snapshot" >&2; exit 1; }
    echo "NO ADVISORY DATABASE SNAPSHOT at $snapshot: checking bans, licenses and sources only"
    "$TOOLS/bin/cargo-deny" --offline --workspace check bans licenses sources
fi

log "modules import one way: no import cycle in any crate"
python3 scripts/layers.py

log "the examples build"
cargo build -p perfmon-lambda --examples --all-features

log "cargo doc: every crate's docs, warnings denied"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --quiet

log "the publishable crates package and build from their packaged files alone"
# Cargo takes a package of an unchanged name and version for an unchanged
# one: it would verify against an earlier run's files, unpacked into
# $CARGO_HOME/registry/src/-HASH/ and built in the target directory. Both are
# dropped first. The verification builds in a target directory of its own,
# so that only perfmon's packages are built again there.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rm -rf "$cargo_home"/registry/src/-*/perfmon-lambda-* "$cargo_home"/registry/src/-*/perfmon-tools-* \
    target/publish/debug/.fingerprint/perfmon-* target/publish/debug/deps/*perfmon_* \
    target/publish/debug/build/perfmon-*
CARGO_TARGET_DIR=target/publish cargo publish --dry-run --allow-dirty --quiet -p perfmon-lambda -p perfmon-tools
# A clean machine drops that second dependency tree before the tests build;
# a developer's run keeps it, so that the next run rebuilds only perfmon.
if [[ ${CI:-} == true ]]; then rm -rf target/publish target/package; fi

log "cfn-lint on the dashboards template and the deployment template"
.venv/bin/cfn-lint dashboards/generated/cloudformation*.json deploy/template.yaml

log "the templates, checked by aws-sam-translator, cfn-lint and moto's CloudFormation"
.venv/bin/python scripts/templates.py

log "cargo test"
cargo test --workspace --all-features

# The fuzz targets build in fuzz/target; a clean machine drops the test
# binaries first, so that both never take the disk at once.
if [[ ${CI:-} == true ]]; then rm -rf target/debug; fi

log "fuzzing: every cargo-fuzz target for 20 s"
bash scripts/fuzz.sh 20

log "disk used by the build"
du -sh target fuzz/target 2>/dev/null || true
