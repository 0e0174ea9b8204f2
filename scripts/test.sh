#!/usr/bin/env bash
# The whole test suite on a fresh clone: set-up (Node 24, npm install, the Pulumi engine), the
# strict type check, then every vitest suite, the real-engine e2e suite included.
set -euo pipefail
"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PUSHPLANE_ROOT"
echo "[test] node $(node --version), $(pulumi version) ($(command -v pulumi))" >&2
echo "[test] type check" >&2
tsc --noEmit -p .
echo "[test] vitest" >&2
vitest run "$@"
