#!/usr/bin/env bash
# Installs what xstate-lab needs on a Debian machine, then builds it. Idempotent and quiet when
# everything is present. Called by `npm test`, `npm run main` and `npm run bench`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: gcc + libc6-dev build the host probes (CPUID capture, selfcheck); binutils
# assembles guest .S files and test instructions; musl-tools builds static C guests (musl-gcc);
# libunicorn2 runs guest code (emulator/unicorn.ts loads libunicorn.so.2 through koffi); gdb reads
# the sandbox's core files in tests; chromium renders the HTML explainer in tests;
# gcc-aarch64-linux-gnu + libc6-dev-arm64-cross build the static AArch64 guests of the arm64 room
# (src/linux/arm64/build.ts) and qemu-user's qemu-aarch64 is their referee (test/arm64.test.ts).
APT_PACKAGES=(gcc libc6-dev binutils musl-tools libunicorn2 gdb chromium gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)

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
  log=$(mktemp)
  if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    # Registries that serve only this platform's optional packages (rollup's per-platform
    # binaries answer 404) make npm leave the others out of the lock, and `npm ci` then calls
    # the lock out of sync. `npm install` installs the same locked versions; the lock must
    # come out unchanged, which is checked.
    if grep -q "in sync" "$log"; then
      echo "setup: npm ci refused the lock (the registry lacks other platforms' optional packages); installing the locked versions with npm install" >&2
      saved=$(mktemp)
      cp package-lock.json "$saved"
      npm install --no-audit --no-fund --loglevel=error >&2
      if ! cmp -s package-lock.json "$saved"; then
        cp "$saved" package-lock.json
        echo "setup: npm install wanted to change package-lock.json; the lock was restored: run 'npm install' and commit the new lock" >&2
        exit 1
      fi
      rm -f "$saved"
    else
      cat "$log" >&2
      exit 1
    fi
  fi
  rm -f "$log"
fi

# Build (TypeScript -> dist/, then the JSON-schema validators as code: emulator/precompiled-validator.ts).
npx --no-install tsc -p tsconfig.json >&2
node dist/src/generate-validators.js >&2
