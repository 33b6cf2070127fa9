#!/usr/bin/env bash
# Installs what `make lab` and `make test` need on a fresh Debian machine (root):
# the Debian packages whose commands are missing, then the npm packages.
set -euo pipefail
cd "$(dirname "$0")/../.."

# command → Debian package
declare -A NEED=(
  [conntrack]=conntrack [nft]=nftables [iptables]=iptables [ip]=iproute2 [openssl]=openssl
  [curl]=curl [mosquitto]=mosquitto [ping]=iputils-ping [ipset]=ipset [chromium]=chromium
)
missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
done
if ((${#missing[@]} > 0)); then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-deps: missing ${missing[*]}; run as root (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "ensure-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: install when absent or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
