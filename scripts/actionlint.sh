#!/usr/bin/env bash
# Prints the path of actionlint (github.com/rhysd/actionlint), building it from its Go module into
# the project's cache on first use (the Go module proxy; the machine's Go toolchain). The tests
# lint examples/gitops's workflows with it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
bin="$PUSHPLANE_CACHE/tools/actionlint-$ACTIONLINT_VERSION/actionlint"
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "actionlint: building it needs Go (https://go.dev/dl), which this machine lacks" >&2; exit 1; }
  echo "[actionlint] building $ACTIONLINT_VERSION from source" >&2
  GOBIN="$(dirname "$bin")" GOFLAGS=-trimpath go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
fi
echo "$bin"
