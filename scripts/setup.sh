#!/usr/bin/env bash
# Brings a fresh clone to a runnable state: Node runtime, npm dependencies (installed again only
# when package.json or the lock file changed), the Pulumi engine. Safe to run repeatedly.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PUSHPLANE_ROOT"
stamp="node_modules/.pushplane-install-stamp"
want="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-16) $(node --version)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] npm install (node $(node --version))" >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
  want="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-16) $(node --version)"
  echo "$want" > "$stamp"
fi
# The packages programs and the policy engine load (@pushplane/pulumi, @pushplane/policy-pack) are
# built JavaScript, as a user installs them; a build takes a few seconds, so it always runs.
echo "[setup] build the packages" >&2
npm run --silent build >/dev/null
