#!/usr/bin/env bash
# The reliability suite on a fresh clone: the same set-up as `npm test`, then the reliability suites.
set -euo pipefail
"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PUSHPLANE_ROOT"
echo "[reliability] node $(node --version), $(pulumi version)" >&2
vitest run --config vitest.reliability.config.mts "$@"
