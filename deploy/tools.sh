#!/usr/bin/env bash
# The Go-built tools the deployment tests run: kustomize renders the Kubernetes overlays, promtool
# loads and unit-tests the Prometheus alert rules. Built once from the Go module proxy into the
# cache (like the Kafka jars), pinned here. Usage: deploy/tools.sh ensure | path NAME
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/local/common.sh"

TOOLS_BIN="$RCM_CACHE_DIR/tools/bin"
# name  module@version (each binary is stamped with its version, rebuilt when the pin changes)
TOOLS=(
  "kustomize sigs.k8s.io/kustomize/kustomize/v5@v5.5.0"
  "promtool github.com/prometheus/prometheus/cmd/promtool@v0.316.0"
)

ensure() {
  local entry name module stamp
  mkdir -p "$TOOLS_BIN"
  for entry in "${TOOLS[@]}"; do
    read -r name module <<<"$entry"
    stamp="$TOOLS_BIN/.$name.version"
    if [ -x "$TOOLS_BIN/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$module" ]; then continue; fi
    command -v go >/dev/null || { echo "error: Go is needed to build $name ($module); install Go 1.22 or newer" >&2; exit 1; }
    printf '\033[1m==> building %s (%s) with Go, once\033[0m\n' "$name" "$module" >&2
    GOBIN="$TOOLS_BIN" go install "$module" >&2
    echo "$module" > "$stamp"
  done
}

case "${1:-}" in
  ensure) ensure ;;
  path) echo "$TOOLS_BIN/${2:?tool name}" ;;
  *) echo "usage: deploy/tools.sh ensure | path NAME" >&2; exit 2 ;;
esac
