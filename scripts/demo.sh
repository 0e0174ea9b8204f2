#!/usr/bin/env bash
# The quickstart: starts the embedded service and Azurite (blob storage) on loopback, issues an API
# token, configures the demo stack and runs a real `pulumi up` of the root program (the seeds'
# example audiences and their exports), then follows the first export run to the end.
#   bash scripts/demo.sh          bring everything up (again: it is idempotent)
#   bash scripts/demo.sh stop     stop the service and Azurite, keep their data and the stack
#   bash scripts/demo.sh down     `pulumi destroy` the stack, stop both, delete .pushplane/demo
set -euo pipefail
"$(dirname "${BASH_SOURCE[0]}")/setup.sh"
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PUSHPLANE_ROOT"

demo="$PUSHPLANE_ROOT/.pushplane/demo"
port="${PUSHPLANE_PORT:-8787}"
endpoint="http://127.0.0.1:$port"
azurite_port="${PUSHPLANE_AZURITE_PORT:-8788}"
# Azurite's published development account (the same in every Azurite, not a secret); a real storage
# account's connection string goes in the same config key.
blob_endpoint="http://127.0.0.1:$azurite_port/devstoreaccount1"
storage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=$blob_endpoint;"
mkdir -p "$demo/state" && chmod 700 "$demo"
export PULUMI_BACKEND_URL="file://$demo/state"
# A random passphrase for the demo stack's secrets, made once and kept beside its state.
[ -f "$demo/passphrase" ] || (umask 077 && head -c 24 /dev/urandom | base64 > "$demo/passphrase")
export PULUMI_CONFIG_PASSPHRASE_FILE="$demo/passphrase"
stack=(--stack demo --non-interactive)

running() { [ -f "$demo/$1.pid" ] && kill -0 "$(cat "$demo/$1.pid")" 2>/dev/null; }
stop() {
  if running "$1"; then
    local pid; pid="$(cat "$demo/$1.pid")"
    kill "$pid"
    # Azurite waits for open keep-alive connections on SIGTERM; give it two seconds.
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "[demo] $1 stopped"
  fi
  rm -f "$demo/$1.pid"
}
# Starts a background process (name, health URL, command...) unless it runs already.
start() {
  local name="$1" health="$2"; shift 2
  running "$name" && return 0
  nohup "$@" > "$demo/$name.log" 2>&1 &
  echo $! > "$demo/$name.pid"
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$health" && return 0
    running "$name" || break
    sleep 0.2
  done
  echo "[demo] $name did not start:" >&2; cat "$demo/$name.log" >&2; exit 1
}

case "${1:-up}" in
  stop) stop service; stop azurite; exit 0 ;;
  down)
    if [ -d "$demo/state/.pulumi" ] && running service && running azurite; then pulumi destroy --yes "${stack[@]}"; fi
    stop service; stop azurite
    rm -rf "$demo" Pulumi.demo.yaml
    echo "[demo] removed .pushplane/demo and Pulumi.demo.yaml"
    exit 0 ;;
  up) ;;
  *) echo "usage: bash scripts/demo.sh [up|stop|down]" >&2; exit 2 ;;
esac

running service || echo "[demo] starting the service on $endpoint (data in .pushplane/demo/data, log in .pushplane/demo/service.log)"
# node with tsx's loader (not the tsx command, which runs a child of its own): the pid file names the server itself.
# --outbound-allow-loopback: the demo's exports go to Azurite on 127.0.0.1 over http, which the
# service refuses by default (only https to Azure Blob endpoints).
start service "$endpoint/healthz" node --import tsx service/cli.ts serve --port "$port" --data-dir "$demo/data" --outbound-allow-loopback
running azurite || echo "[demo] starting Azurite (blob storage) on $blob_endpoint (data in .pushplane/demo/azurite)"
mkdir -p "$demo/azurite"
start azurite "$blob_endpoint?comp=list" azurite-blob --blobHost 127.0.0.1 --blobPort "$azurite_port" --location "$demo/azurite" \
  --silent --skipApiVersionCheck --disableProductStyleUrl

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
pulumi config set --secret pushplane:storageConnectionString "$storage" "${stack[@]}"

pulumi up --yes "${stack[@]}"

# The one-off device export runs as soon as its job exists: follow it with a progress bar.
echo "[demo] following the device export into the exports container"
PUSHPLANE_API_TOKEN="$(cat "$demo/token")" tsx service/cli.ts export follow --endpoint "$endpoint" --app acme/demo \
  --job "$(pulumi stack output deviceExportJob "${stack[@]}")"

cat <<MSG

[demo] done. The audiences and export jobs live in the service at $endpoint (API token in .pushplane/demo/token):
  curl -H "X-API-Token: \$(cat .pushplane/demo/token)" $endpoint/v0.1/apps/acme/demo/analytics/audiences
The exports land in Azurite's "exports" container at $blob_endpoint/exports
Edit index.ts and run this command again to reconcile; to look at the stack yourself:
  . scripts/env.sh && export PULUMI_BACKEND_URL=file://$demo/state PULUMI_CONFIG_PASSPHRASE_FILE=$demo/passphrase
  pulumi preview --stack demo
Stop the service and Azurite: bash scripts/demo.sh stop
Destroy and clean up:         bash scripts/demo.sh down
MSG
