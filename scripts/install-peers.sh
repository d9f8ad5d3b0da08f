#!/usr/bin/env bash
# Installs the SIP programs the interop tier and the benchmarks run against, from
# Debian's packages: SIPp (sip-tester), sipsak, baresip (baresip-core), and
# Kamailio with its SQLite driver (kamailio, kamailio-sqlite-modules, which ships
# db_sqlite.so) for the registration benchmark, Chromium (chromium), in which
# the browser interop test runs JsSIP, and a STUN client (stun-client) for the
# keep-alive answer of the UDP ports. Idempotent; needs root or sudo.
set -euo pipefail
PACKAGES=(sip-tester sipsak baresip-core kamailio kamailio-sqlite-modules chromium stun-client)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "peers already installed: ${PACKAGES[*]}"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# The benchmarks start their own Kamailio on loopback with their own config; the
# packaged system service (if the package started one) is not used.
