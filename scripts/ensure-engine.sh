#!/usr/bin/env bash
# Make sure a Docker engine answers. On a fresh machine of this project's kind
# only the client exists: install Debian's engine and start dockerd by hand
# (there is no systemd). Idempotent: does nothing when `docker info` answers.
set -euo pipefail

log() { printf 'ensure-engine: %s\n' "$*" >&2; }

need=()
# The engine, debootstrap for offline base images, and the host tools the demo
# and tests use (ssh-keygen for git upstreams, ip to find the bridges, git).
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v git >/dev/null 2>&1 || need+=(git)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
# The micro-VM backend: QEMU, qemu-img for per-bottle disk overlays, socat
# to carry each guest connection to its bottle's sidecar bundle.
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || need+=(qemu-utils)
command -v socat >/dev/null 2>&1 || need+=(socat)
# The shells whose completion scripts the tests load (`bot-bottle completion zsh|fish`).
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
if [ "${#need[@]}" -eq 0 ] && docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  log "missing: ${need[*]:-a running Docker engine}; as root run this script again (or install them and start 'dockerd')"
  exit 1
fi

if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/bot-bottle-dockerd.log)"
  nohup dockerd >/var/log/bot-bottle-dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "engine ready"
    exit 0
  fi
  sleep 0.5
done
log "dockerd did not answer within 30 s; see /var/log/bot-bottle-dockerd.log"
exit 1
