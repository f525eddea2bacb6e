#!/usr/bin/env bash
# Fetch Debian trixie's gitleaks binary (not in bookworm) from the mirror this
# machine's apt sources use, and extract it into /tmp/gitleaks (never committed).
# Prints the path of the binary. Idempotent.
set -euo pipefail
DEST="${GITLEAKS_DIR:-/tmp/gitleaks}"
BIN="$DEST/usr/bin/gitleaks"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

# The mirror: the first http(s) URI in the apt sources (deb822 or one-line format).
MIRROR="$(grep -hoE '(URIs:|^deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?https?://[^[:space:]]+' \
  /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
  | grep -oE 'https?://[^[:space:]]+' | grep -v security | head -n1 || true)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
MIRROR="${MIRROR%/}"
ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
POOL="$MIRROR/pool/main/g/gitleaks/"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# Where the .deb is and its checksum: trixie's package index (what `apt-get update`
# reads), so the download is verified. Falls back to the pool's directory listing
# on mirrors that serve one.
SHA=""
DEB=""
if curl -fsSL -o "$TMP/Packages.xz" "$MIRROR/dists/trixie/main/binary-$ARCH/Packages.xz"; then
  STANZA="$(xz -dc "$TMP/Packages.xz" 2>/dev/null | awk '/^Package: gitleaks$/{p=1} p&&/^$/{exit} p' || true)"
  DEB="$(printf '%s\n' "$STANZA" | sed -n 's/^Filename: //p' | head -n1)"
  SHA="$(printf '%s\n' "$STANZA" | sed -n 's/^SHA256: //p' | head -n1)"
fi
if [ -z "$DEB" ]; then
  NAME="$(curl -fsSL "$POOL" | grep -oE "gitleaks_[^\"<>]*_${ARCH}\.deb" | sort -uV | tail -n1 || true)"
  [ -n "$NAME" ] && DEB="pool/main/g/gitleaks/$NAME"
fi
if [ -z "$DEB" ]; then echo "no gitleaks .deb for $ARCH on $MIRROR (trixie)" >&2; exit 1; fi
curl -fsSL -o "$TMP/gitleaks.deb" "$MIRROR/$DEB"
if [ -n "$SHA" ]; then echo "$SHA  $TMP/gitleaks.deb" | sha256sum -c --quiet - >&2; fi
mkdir -p "$DEST"
dpkg -x "$TMP/gitleaks.deb" "$DEST"
"$BIN" version >&2 || true
echo "$BIN"
