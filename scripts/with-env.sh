#!/usr/bin/env bash
# Runs one command with the project's environment (see env.sh) after set-up.
set -euo pipefail
"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec "$@"
