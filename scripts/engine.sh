#!/usr/bin/env bash
# Makes `pulumi` and `pulumi-language-nodejs` available at the pinned version and prints their
# directory on stdout. Uses binaries on PATH when new enough; otherwise builds them from the Go
# module proxy into a cache outside the repository, so a second run takes well under a second.
#
# The CLI comes from github.com/pulumi/pulumi/pkg/v3. The upstream Node.js language host module
# (sdk/nodejs/cmd/pulumi-language-nodejs/v3) is not served by the module proxy here (403 for every
# pseudo-version tried), so the language host is the project's own (scripts/langhost), built
# against the same sdk/v3 protocol version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"

log() { echo "[engine] $*" >&2; }
version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

langhost_hash="$(cat "$here/langhost/main.go" "$here/langhost/go.mod" "$here/versions.sh" | sha256sum | cut -c1-12)"
cli_dir="$PUSHPLANE_CACHE/engine/pulumi-v$PULUMI_VERSION"
host_dir="$PUSHPLANE_CACHE/engine/langhost-$langhost_hash"
bin="$PUSHPLANE_CACHE/engine/bin-v$PULUMI_VERSION-$(cat "$0" | sha256sum | cut -c1-6)-$langhost_hash"

if [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ]; then
  echo "$bin"; exit 0
fi

# One build at a time: commands started together (a test run and a demo, say) wait for the first
# build instead of racing it over the same cache directories.
mkdir -p "$PUSHPLANE_CACHE/engine"
exec 9>"$PUSHPLANE_CACHE/engine/.build.lock"
flock 9
if [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ]; then
  echo "$bin"; exit 0
fi

export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
need_go() { command -v go >/dev/null 2>&1 || { log "Go is required to build the Pulumi engine; install Go >= 1.24"; exit 1; }; }

# 1. The CLI: from PATH when new enough, else built.
cli=""
if command -v pulumi >/dev/null 2>&1; then
  have="$(pulumi version 2>/dev/null | sed 's/^v//')"
  if [ -n "$have" ] && version_at_least "$have" "$PULUMI_VERSION"; then cli="$(command -v pulumi)"; log "using pulumi $have from PATH"; fi
fi
if [ -z "$cli" ]; then
  if [ ! -x "$cli_dir/pulumi" ]; then
    need_go
    work="$(mktemp -d "${TMPDIR:-/tmp}/pushplane-engine.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    log "building pulumi v$PULUMI_VERSION from the Go module proxy (a cold build takes several minutes)"
    start=$(date +%s)
    # pkg/v3's go.mod has replace lines, so `go install pkg@v` refuses; a wrapper module builds it.
    printf 'module pushplane.local/engine\n\ngo 1.24\n' > "$work/go.mod"
    printf '//go:build tools\n\npackage engine\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' > "$work/tools.go"
    (cd "$work" && go get "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" >&2 && go mod tidy >&2)
    mkdir -p "$cli_dir.tmp"
    (cd "$work" && go build -trimpath -tags osusergo,grpcnotrace \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$cli_dir.tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2)
    rm -rf "$cli_dir" && mv "$cli_dir.tmp" "$cli_dir"
    log "pulumi built in $(( $(date +%s) - start ))s ($(du -h "$cli_dir/pulumi" | cut -f1))"
  fi
  cli="$cli_dir/pulumi"
fi

# 2. The language host, from this repository.
if [ ! -x "$host_dir/pulumi-language-nodejs" ]; then
  need_go
  start=$(date +%s)
  mkdir -p "$host_dir.tmp"
  (cd "$here/langhost" && go build -trimpath -ldflags "-s -w -X main.version=$PULUMI_VERSION" \
    -o "$host_dir.tmp/pulumi-language-nodejs" . >&2)
  rm -rf "$host_dir" && mv "$host_dir.tmp" "$host_dir"
  log "pulumi-language-nodejs built in $(( $(date +%s) - start ))s ($(du -h "$host_dir/pulumi-language-nodejs" | cut -f1))"
fi

# 3. One directory holding the CLI and its plugins. Plugins beside the CLI binary count as bundled,
# so the engine uses them without "using … from $PATH" warnings. Hard links cost no space.
mkdir -p "$bin.tmp"
ln -f "$(readlink -f "$cli")" "$bin.tmp/pulumi" 2>/dev/null || cp "$(readlink -f "$cli")" "$bin.tmp/pulumi"
ln -f "$host_dir/pulumi-language-nodejs" "$bin.tmp/pulumi-language-nodejs" 2>/dev/null || cp "$host_dir/pulumi-language-nodejs" "$bin.tmp/"
# The dynamic-provider plugin: runs @pulumi/pulumi's cmd/dynamic-provider as resolved from the
# program's directory (the engine starts plugins there).
cat > "$bin.tmp/pulumi-resource-pulumi-nodejs" <<'SH'
#!/bin/sh
script="$(node -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")" || exit 1
exec node "$script" "$@"
SH
chmod +x "$bin.tmp/pulumi-resource-pulumi-nodejs"
rm -rf "$bin" && mv "$bin.tmp" "$bin"
echo "$bin"
