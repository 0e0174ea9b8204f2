# Sourced by every project command: puts Node >= 22 (Node 24 LTS when the machine's is older), the
# Pulumi engine and the project's node_modules/.bin first on PATH, and sets the engine's
# environment (no update check, no plugin downloads). Idempotent.
_pp_scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PUSHPLANE_ROOT="$(cd "$_pp_scripts/.." && pwd)"
export PUSHPLANE_ROOT
_pp_node_bin="$("$_pp_scripts/runtime.sh")" || return 1 2>/dev/null || exit 1
export PATH="$_pp_node_bin:$PATH"
_pp_engine_bin="$("$_pp_scripts/engine.sh")" || return 1 2>/dev/null || exit 1
export PATH="$_pp_engine_bin:$PUSHPLANE_ROOT/node_modules/.bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
unset _pp_scripts _pp_node_bin _pp_engine_bin
