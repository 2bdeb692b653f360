# Shared by the local-stack scripts: where state and caches live. Sourced, not run.
# shellcheck shell=bash
set -euo pipefail
RCM_STATE_DIR="${RCM_STATE_DIR:-/var/tmp/revcycle-$(id -un)}"
RCM_CACHE_DIR="${RCM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/revcycle}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_PORT="${RCM_LOCAL_KAFKA_PORT:-39092}"
KAFKA_CONTROLLER_PORT="${RCM_LOCAL_KAFKA_CONTROLLER_PORT:-39093}"
PG_PORT="${RCM_LOCAL_POSTGRES_PORT:-55432}"
mkdir -p "$RCM_STATE_DIR"
chmod 0755 "$RCM_STATE_DIR"

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds what
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    port_open "$1" && return 0
    sleep 0.25
  done
  return 1
}
