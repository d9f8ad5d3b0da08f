#!/usr/bin/env bash
# Installs the SIP programs the interop tier runs against, from Debian's packages:
# SIPp (sip-tester), sipsak and baresip (baresip-core). Idempotent; needs root or sudo.
set -euo pipefail
PACKAGES=(sip-tester sipsak baresip-core)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "interop peers already installed: ${PACKAGES[*]}"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
