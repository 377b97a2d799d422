# shellcheck shell=bash
# Sourced by scripts/dev.sh and scripts/test.sh: makes node_modules match package-lock.json
# (`npm ci` when it is missing or stale) and sets NODE to the project's own Node 24.
#
# Bash on purpose: until node_modules exists, the only `node` on PATH is whatever the machine has
# (often older than 24, which cannot run the .ts sources), so nothing here may need Node 24.
# scripts/deps-fresh.mjs is plain JavaScript for any Node >= 18.

ensure_deps() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  NODE="$root/node_modules/.bin/node"
  if [[ -x "$NODE" ]] && node "$root/scripts/deps-fresh.mjs"; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || {
    echo "deps: npm not found; install Node.js (any version with npm) and retry" >&2
    return 1
  }
  echo "deps: node_modules is missing or does not match package-lock.json; running npm ci"
  (cd "$root" && npm ci --no-audit --no-fund) || {
    echo "deps: npm ci failed (output above); fix the cause and retry" >&2
    return 1
  }
  [[ -x "$NODE" ]] || {
    # package.json's allowScripts lets the "node" package's install script put Node 24 there.
    echo "deps: $NODE missing after npm ci (the 'node' package's install script did not run)" >&2
    return 1
  }
}
