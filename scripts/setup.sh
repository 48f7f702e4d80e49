#!/usr/bin/env bash
# Installs what xstate-lab needs on a Debian machine, then builds it. Idempotent and quiet when
# everything is present. Called by `npm test`, `npm run main` and `npm run bench`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: gcc + libc6-dev build the host probes (CPUID capture, selfcheck).
APT_PACKAGES=(gcc libc6-dev)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run this as root, then try again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# npm packages, exactly as locked.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# Build (TypeScript -> dist/).
npx --no-install tsc -p tsconfig.json >&2
