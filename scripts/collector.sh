#!/usr/bin/env bash
# The local OTLP collector in Docker, idempotently:
#
#   scripts/collector.sh start   # install docker.io and start dockerd when
#                                # needed, build the image, run, wait ready
#   scripts/collector.sh stop
#   scripts/collector.sh logs    # what the collector received
#   scripts/collector.sh engine  # only make sure a Docker engine runs
#   scripts/collector.sh stage   # only stage collector/build for a build
#                                # with docker-compose -f collector/docker-compose.yml
#
# Settings (environment): PERFMON_COLLECTOR_GRPC_PORT (4317),
# PERFMON_COLLECTOR_HTTP_PORT (4318), PERFMON_COLLECTOR_TRACES_EXPORTER
# (blackhole, or xray), PERFMON_COLLECTOR_XRAY_ENDPOINT.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=${PERFMON_COLLECTOR_NAME:-perfmon-collector}
IMAGE=perfmon-collector:local
GRPC_PORT=${PERFMON_COLLECTOR_GRPC_PORT:-4317}
HTTP_PORT=${PERFMON_COLLECTOR_HTTP_PORT:-4318}
export DOCKER_BUILDKIT=0

log() { printf '== %s\n' "$*" >&2; }

ensure_docker() {
    if ! command -v dockerd >/dev/null 2>&1; then
        log "installing docker.io"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq docker.io >/dev/null
    fi
    if ! docker info >/dev/null 2>&1; then
        log "starting dockerd"
        setsid dockerd --bridge=none --iptables=false >/tmp/perfmon-dockerd.log 2>&1 </dev/null &
        # Whoever asked for the engine may stop it by this pid.
        if [[ -n ${PERFMON_DOCKERD_PIDFILE:-} ]]; then
            echo $! >"$PERFMON_DOCKERD_PIDFILE"
        fi
        for _ in $(seq 1 60); do
            docker info >/dev/null 2>&1 && break
            sleep 0.5
        done
        docker info >/dev/null 2>&1 || { cat /tmp/perfmon-dockerd.log >&2; exit 1; }
    fi
}

rotel_binary() {
    if [[ -n "${PERFMON_ROTEL:-}" ]]; then
        echo "$PERFMON_ROTEL"
        return
    fi
    .venv/bin/python -c 'import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"))'
}

stage() {
    local bin root
    bin=$(rotel_binary)
    root=collector/build/rootfs
    rm -rf "$root"
    mkdir -p "$root"
    cp "$bin" "$root/rotel-agent"
    # Root certificates: the X-Ray exporter's TLS client insists on them even
    # for a plain-HTTP endpoint.
    mkdir -p "$root/etc/ssl/certs"
    cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
    # The binary and every library ldd resolves, at the same paths.
    for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
}

start() {
    ensure_docker
    if docker ps --format '{{.Names}}' | grep -qx "$NAME"; then
        log "$NAME already runs"
    else
        docker rm -f "$NAME" >/dev/null 2>&1 || true
        stage
        log "building $IMAGE"
        docker build -q -t "$IMAGE" collector >/dev/null
        log "running $NAME on 127.0.0.1:$GRPC_PORT (gRPC) and 127.0.0.1:$HTTP_PORT (HTTP)"
        docker run -d --name "$NAME" --network host \
            -e ROTEL_OTLP_GRPC_ENDPOINT="127.0.0.1:$GRPC_PORT" \
            -e ROTEL_OTLP_HTTP_ENDPOINT="127.0.0.1:$HTTP_PORT" \
            -e ROTEL_EXPORTERS="traces:${PERFMON_COLLECTOR_TRACES_EXPORTER:-blackhole},hole:blackhole" \
            -e ROTEL_EXPORTERS_TRACES=traces \
            -e ROTEL_EXPORTERS_METRICS=hole \
            -e ROTEL_EXPORTERS_LOGS=hole \
            -e ROTEL_EXPORTER_TRACES_CUSTOM_ENDPOINT="${PERFMON_COLLECTOR_XRAY_ENDPOINT:-http://127.0.0.1:4566}" \
            -e ROTEL_EXPORTER_TRACES_REGION=us-east-1 \
            -e AWS_ACCESS_KEY_ID=test -e AWS_SECRET_ACCESS_KEY=test \
            "$IMAGE" start --debug-log traces --debug-log metrics --debug-log logs \
            --debug-log-verbosity detailed >/dev/null
    fi
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null; then
            log "$NAME is ready"
            return 0
        fi
        sleep 0.1
    done
    docker logs "$NAME" >&2 || true
    log "$NAME did not become ready"
    exit 1
}

stop() {
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        docker rm -f "$NAME" >/dev/null 2>&1 || true
    fi
    log "$NAME stopped"
}

case "${1:-}" in
    engine) ensure_docker ;;
    stage) stage ;;
    start) start ;;
    stop) stop ;;
    logs) docker logs "$NAME" 2>&1 ;;
    *) echo "usage: scripts/collector.sh start|stop|logs|engine|stage" >&2; exit 2 ;;
esac
