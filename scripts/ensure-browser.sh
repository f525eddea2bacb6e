#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's Chromium through playwright-core
# (which downloads no browser of its own). Install it when missing, as
# ensure-engine.sh installs the engine. Idempotent and quiet when present.
set -euo pipefail

log() { printf 'ensure-browser: %s\n' "$*" >&2; }

for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done

if [ "$(id -u)" != 0 ]; then
  log "missing: chromium; as root run this script again (or: apt-get install chromium)"
  exit 1
fi

log "installing chromium from Debian (for the dashboard's browser tests)"
export DEBIAN_FRONTEND=noninteractive
# Other sessions may hold the dpkg lock: wait for it instead of failing.
apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { log "chromium did not install"; exit 1; }
