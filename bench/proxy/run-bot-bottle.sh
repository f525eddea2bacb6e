#!/usr/bin/env bash
# Benchmark bot-bottle's egress proxy with the shared proxy harness (../shared/bench/proxy).
#
#   bench/proxy/run-bot-bottle.sh            # one run.sh of the proxy target (~55 s)
#   MODE=all bench/proxy/run-bot-bottle.sh   # bench-all.sh: squid, mitmproxy and ours, RUNS rounds
#
# It copies the harness to $BENCH_DIR (default /tmp/proxy-bench; run its ./setup.sh once
# for squid and mitmproxy), writes a bench bottle in a temporary BOT_BOTTLE_HOME (a route
# for upstream.test:18443, egress.hosts upstream.test -> 127.0.0.1, ca_certs the harness's
# upstream CA; DLP on, the default), writes the proxy config a bottle's bundle would get
# (bench/proxy/egress-config.ts), starts the shipped sidecar entry dist/bundle/egress.js on it
# (run `npm run build` after changing the proxy), runs the harness against
# it, and stops it by PID. Environment: EGRESS_PORT=18090, UPSTREAM_PORT=18443,
# EGRESS_NODE (the node binary that runs the proxy, default `node`; give the bundle's Node 22, copied
# out of the bot-bottle/node image, for figures that reflect the bundle),
# EGRESS_NODE_FLAGS (default --max-semi-space-size=2 --heap-growing-percent=50, as in the bundle: EGRESS_NODE_FLAGS in src/bottle/layout.ts),
# EGRESS_MALLOC_ARENA_MAX (default 2, the bundle's EGRESS_ENV), WORKERS (default 1),
# RUNS=3 (MODE=all), TARGETS="squid mitmproxy proxy" (MODE=all), and every run.sh variable.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HARNESS_SRC=${HARNESS_SRC:-$REPO/../shared/bench/proxy}
BENCH=${BENCH_DIR:-/tmp/proxy-bench}
PORT=${EGRESS_PORT:-18090}
export UPSTREAM_PORT=${UPSTREAM_PORT:-18443}
MODE=${MODE:-one}

log() { echo "[run-bot-bottle] $*" >&2; }

if [[ ! -f $BENCH/run.sh ]]; then mkdir -p "$BENCH"; cp -r "$HARNESS_SRC"/. "$BENCH"/; fi
[[ -d $BENCH/node_modules/undici ]] || (cd "$BENCH" && npm ci --no-audit --no-fund >&2)
(cd "$BENCH" && ./gen-certs.sh >&2)

WORK=$(mktemp -d /tmp/bot-bottle-egress-bench.XXXXXX)
PID=
cleanup() {
  local rc=$?
  if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PID" 2>/dev/null && kill -KILL "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK/home/bottles" "$WORK/dist"
cat > "$WORK/home/bottles/bench.md" <<MD
---
egress:
  routes:
    - host: upstream.test:$UPSTREAM_PORT
  hosts:
    upstream.test: 127.0.0.1
  ca_certs:
    - $BENCH/certs/upstream-ca.pem
---
The proxy benchmark's bottle: one route, DLP on (the default: outbound, block).
MD

# The proxy as the bundle runs it: the shipped sidecar entry (scripts/bundle-sidecars.mjs,
# dist/bundle/egress.js) in a process of its own, on the config a bottle's bundle gets.
[[ -f $REPO/dist/bundle/egress.js ]] || (cd "$REPO" && node scripts/bundle-sidecars.mjs)
CONFIG=$(cd "$REPO" && BOT_BOTTLE_HOME=$WORK/home node --import tsx bench/proxy/egress-config.ts bench "$WORK/egress" "127.0.0.1:$PORT" "$WORK/ca.pem" "$WORK/audit.jsonl")
# The flags and malloc setting the bundle runs the egress sidecar with (EGRESS_NODE_FLAGS, EGRESS_ENV: src/bottle/layout.ts).
log "proxy runs on $(${EGRESS_NODE:-node} --version) ${EGRESS_NODE_FLAGS---max-semi-space-size=2 --heap-growing-percent=50}"
MALLOC_ARENA_MAX=${EGRESS_MALLOC_ARENA_MAX-2} BOT_BOTTLE_EGRESS_CONFIG=$CONFIG ${EGRESS_NODE:-node} ${EGRESS_NODE_FLAGS---max-semi-space-size=2 --heap-growing-percent=50} "$REPO/dist/bundle/egress.js" >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do [[ -s $WORK/ca.pem ]] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null || { log "egress serve did not start:"; cat "$WORK/serve.log" >&2; exit 70; }
log "$(head -1 "$WORK/serve.log")"

cd "$BENCH"
if [[ $MODE == all ]]; then
  TARGETS=${TARGETS:-"squid mitmproxy proxy"} PROXY_SPEC="127.0.0.1:$PORT $WORK/ca.pem" PROXY_PID=$PID ./bench-all.sh
else
  PROXY_PID=$PID ./run.sh proxy "127.0.0.1:$PORT" "$WORK/ca.pem"
fi
log "audit lines written: $(wc -l < "$WORK/audit.jsonl" 2>/dev/null || echo 0)"
