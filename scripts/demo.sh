#!/usr/bin/env bash
# The quickstart: starts the embedded service on loopback, issues an API token, configures the
# demo stack and runs a real `pulumi up` of the root program (the seeds' example audiences).
#   bash scripts/demo.sh          bring everything up (again: it is idempotent)
#   bash scripts/demo.sh stop     stop the service, keep its data and the stack
#   bash scripts/demo.sh down     `pulumi destroy` the stack, stop the service, delete .pushplane/demo
set -euo pipefail
"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PUSHPLANE_ROOT"

demo="$PUSHPLANE_ROOT/.pushplane/demo"
port="${PUSHPLANE_PORT:-8787}"
endpoint="http://127.0.0.1:$port"
mkdir -p "$demo/state" && chmod 700 "$demo"
export PULUMI_BACKEND_URL="file://$demo/state"
# A random passphrase for the demo stack's secrets, made once and kept beside its state.
[ -f "$demo/passphrase" ] || (umask 077 && head -c 24 /dev/urandom | base64 > "$demo/passphrase")
export PULUMI_CONFIG_PASSPHRASE_FILE="$demo/passphrase"
stack=(--stack demo --non-interactive)

service_running() { [ -f "$demo/service.pid" ] && kill -0 "$(cat "$demo/service.pid")" 2>/dev/null; }
stop_service() {
  if service_running; then kill "$(cat "$demo/service.pid")"; echo "[demo] service stopped"; fi
  rm -f "$demo/service.pid"
}

case "${1:-up}" in
  stop) stop_service; exit 0 ;;
  down)
    if [ -d "$demo/state/.pulumi" ] && service_running; then pulumi destroy --yes "${stack[@]}"; fi
    stop_service
    rm -rf "$demo" Pulumi.demo.yaml
    echo "[demo] removed .pushplane/demo and Pulumi.demo.yaml"
    exit 0 ;;
  up) ;;
  *) echo "usage: bash scripts/demo.sh [up|stop|down]" >&2; exit 2 ;;
esac

if ! service_running; then
  echo "[demo] starting the service on $endpoint (data in .pushplane/demo/data, log in .pushplane/demo/service.log)"
  nohup tsx service/cli.ts serve --port "$port" --data-dir "$demo/data" > "$demo/service.log" 2>&1 &
  echo $! > "$demo/service.pid"
  for _ in $(seq 1 50); do
    curl -fs "$endpoint/healthz" >/dev/null 2>&1 && break
    service_running || { echo "[demo] the service did not start:" >&2; cat "$demo/service.log" >&2; exit 1; }
    sleep 0.2
  done
fi

# Realistic devices, so the audiences have real sizes (seeded: the same 20,000 devices every time).
if [ ! -f "$demo/generated" ]; then
  tsx service/cli.ts generate --app acme/demo --devices 20000 --events-per-device 2 --seed 42 --data-dir "$demo/data" 2>/dev/null && touch "$demo/generated"
fi

if [ ! -f "$demo/token" ]; then
  (umask 077 && tsx service/cli.ts token create --owner acme --app demo --description "quickstart" --data-dir "$demo/data" > "$demo/token")
fi
pulumi stack select --create demo --non-interactive >/dev/null
pulumi config set pushplane:endpoint "$endpoint" "${stack[@]}"
pulumi config set --secret pushplane:apiToken "$(cat "$demo/token")" "${stack[@]}"

pulumi up --yes "${stack[@]}"

cat <<MSG

[demo] done. The audiences live in the service at $endpoint (API token in .pushplane/demo/token):
  curl -H "X-API-Token: \$(cat .pushplane/demo/token)" $endpoint/v0.1/apps/acme/demo/analytics/audiences
Edit index.ts and run this command again to reconcile; to look at the stack yourself:
  . scripts/env.sh && export PULUMI_BACKEND_URL=file://$demo/state PULUMI_CONFIG_PASSPHRASE_FILE=$demo/passphrase
  pulumi preview --stack demo
Stop the service:            bash scripts/demo.sh stop
Destroy and clean up:        bash scripts/demo.sh down
MSG
