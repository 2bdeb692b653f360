#!/usr/bin/env bash
# Local PostgreSQL: Debian's package (installed when missing), a private cluster on 127.0.0.1
# run as the postgres user when we are root (initdb/postgres refuse root), as ourselves otherwise.
# Usage: deploy/local/postgres.sh install|start|stop|status|logs
# State: $RCM_STATE_DIR/postgres. The admin password is local-only; real deployments set
# RCM_ADMIN_DATABASE_URL and the per-service RCM_<SERVICE>_DATABASE_URL instead.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DIR="$RCM_STATE_DIR/postgres"
DATA="$DIR/data"
ADMIN_PASSWORD="postgres-local"

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install() {
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] && return 0
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed: run 'sudo apt-get install -y postgresql' or set RCM_ADMIN_DATABASE_URL"
  log "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2 || die "apt-get install postgresql failed"
  # The package starts a system cluster on 5432 where an init system runs; ours is separate.
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

owner() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }

init() {
  [ -f "$DATA/PG_VERSION" ] && return 0
  mkdir -p "$DIR"
  chown "$(owner)" "$DIR"
  chmod 0700 "$DIR"
  local pwfile="$DIR/.pw"
  printf '%s\n' "$ADMIN_PASSWORD" > "$pwfile"
  chown "$(owner)" "$pwfile"
  as_pg "$(pg_bin)/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
    || { rm -f "$pwfile"; die "initdb failed: see $DIR/initdb.log"; }
  rm -f "$pwfile"
  mkdir -p "$DIR/run"; chown "$(owner)" "$DIR/run"
  cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$DIR/run'
max_connections = 200
shared_buffers = 128MB
fsync = on
log_min_messages = warning
log_connections = off
CONF
}

# What the server log may hold, in a file of its own under conf.d (included from postgresql.conf),
# written at every start: a cluster made before this file existed gets it too, and the include
# comes last, so it wins over the lines above. Error lines keep the message (it names the
# constraint, never a value) and drop what echoes values:
# * log_error_verbosity = terse: no DETAIL ("Key (x)=(value) already exists", "Failing row
#   contains (...)"), HINT, QUERY or CONTEXT;
# * log_min_error_statement = panic: no STATEMENT line (a simple-protocol statement carries
#   literal values);
# * log_parameter_max_length(_on_error) = 0: bind parameters never logged, whatever logs statements;
# * log_statement = none, log_min_duration_statement = -1: no statement logging at all.
LOGGING_CONF_NAME="10-revcycle-logging.conf"
logging_conf() {
  cat <<CONF
# Written by deploy/local/postgres.sh at every start: edits here are overwritten.
log_error_verbosity = terse
log_min_error_statement = panic
log_parameter_max_length = 0
log_parameter_max_length_on_error = 0
log_statement = 'none'
log_min_duration_statement = -1
log_duration = off
CONF
}

# pg_stat_statements, where the server has it: `rcm bench` counts each service's statements with it
# (round trips per event, a figure the machine's noise does not move). Only the normalized text is
# kept (constants become $n), never a bound value. Loading a library takes a restart, not a reload;
# a server without the library gets an empty file (naming a missing library stops the server).
STATS_CONF_NAME="20-revcycle-stats.conf"
stats_conf() {
  echo "# Written by deploy/local/postgres.sh at every start: edits here are overwritten."
  if [ -f "$(pg_bin)/../lib/pg_stat_statements.so" ]; then
    echo "shared_preload_libraries = 'pg_stat_statements'"
    echo "pg_stat_statements.track = top"
  fi
}

# Idempotent; prints "changed" when the file changed (the cluster must reload or restart to take it).
apply_conf() {
  local conf_dir="$DATA/conf.d" target content
  target="$conf_dir/$1"
  content="$($2)"
  if ! grep -q "^include_dir = 'conf.d'" "$DATA/postgresql.conf"; then
    printf "include_dir = 'conf.d'\n" >> "$DATA/postgresql.conf"
  fi
  mkdir -p "$conf_dir"
  if [ -f "$target" ] && [ "$(cat "$target")" = "$content" ]; then return 0; fi
  printf '%s\n' "$content" > "$target"
  chown -R "$(owner)" "$conf_dir"
  echo changed
}

start() {
  install
  init
  local changed stats_changed
  changed="$(apply_conf "$LOGGING_CONF_NAME" logging_conf)"
  stats_changed="$(apply_conf "$STATS_CONF_NAME" stats_conf)"
  if as_pg "$(pg_bin)/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    # The log settings take a reload, not a restart: a running cluster gets them without a pause.
    if [ -n "$changed" ]; then
      as_pg "$(pg_bin)/pg_ctl" -D "$DATA" reload >/dev/null && log "postgres reloaded: server log settings applied"
    fi
    if [ -n "$stats_changed" ]; then log "pg_stat_statements loads at the next start of postgres (rcm down, rcm up)"; fi
    log "postgres already running"; return 0
  fi
  if port_open "$PG_PORT"; then die "port $PG_PORT is taken by another process: stop it or set RCM_ADMIN_DATABASE_URL"; fi
  log "starting postgres on 127.0.0.1:$PG_PORT (logs: $DIR/postgres.log)"
  as_pg "$(pg_bin)/pg_ctl" -D "$DATA" -l "$DIR/postgres.log" -w -t 60 start >/dev/null \
    || { tail -n 20 "$DIR/postgres.log" >&2 || true; die "postgres did not start"; }
}

stop() {
  [ -f "$DATA/PG_VERSION" ] || return 0
  as_pg "$(pg_bin)/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 && log "postgres stopped" || true
}

status() {
  if [ -f "$DATA/PG_VERSION" ] && as_pg "$(pg_bin)/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    echo "running port=$PG_PORT"
  else
    echo "stopped"; return 3
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  logs) tail -n "${2:-100}" "$DIR/postgres.log" ;;
  *) echo "usage: $0 install|start|stop|status|logs [N]" >&2; exit 2 ;;
esac
