#!/usr/bin/env bash
# The project's two entry points on a fresh Debian machine (see README.md):
#   ./dev.sh up     install what is missing, bring the whole stack up and push the demo through it
#   ./dev.sh test   install what is missing, then ruff, mypy, import contracts and every test
#   ./dev.sh down   stop the services and the local Kafka and Postgres
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_install() {
  [ "$(id -u)" = 0 ] || die "missing system packages ($*): run 'sudo apt-get install -y $*'"
  say "installing $* from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "$@" >&2
}

find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

ensure_system() {
  local missing=()
  find_python >/dev/null || missing+=(python3)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  "$(find_python)" -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
}

ensure_venv() {
  local py stamp want
  py="$(find_python)" || die "Python 3.11 or newer is required"
  [ -x .venv/bin/python ] || { say "creating .venv with $py"; "$py" -m venv .venv; }
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  stamp=.venv/.rcm-installed
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python packages into .venv"
    .venv/bin/python -m pip install -q --upgrade pip >&2
    .venv/bin/python -m pip install -q -e '.[dev]' >&2
    echo "$want" > "$stamp"
  fi
  # The project's bytecode, each file keyed by its source's hash and checked at every import (an
  # edited file is compiled again, never run stale): `rcm` starts without compiling its sources even
  # where PYTHONDONTWRITEBYTECODE=1 keeps Python from caching them itself. Fast when all are current.
  .venv/bin/python -m compileall -q -j 0 --invalidation-mode checked-hash cli edi schemas services sandbox \
    devstack >/dev/null
}

cmd_up() {
  ensure_system
  ensure_venv
  .venv/bin/rcm up
  # A newcomer's first run: synthetic encounters through the whole cycle, then `rcm audit`.
  .venv/bin/rcm demo "$@"
}

cmd_down() {
  ensure_venv
  .venv/bin/rcm down
}

cmd_test() {
  ensure_system
  ensure_venv
  local started_kafka=0 started_pg=0 rc=0
  if [ -z "${RCM_KAFKA_BOOTSTRAP:-}" ] && ! bash deploy/local/kafka.sh status >/dev/null 2>&1; then started_kafka=1; fi
  if [ -z "${RCM_ADMIN_DATABASE_URL:-}" ] && ! bash deploy/local/postgres.sh status >/dev/null 2>&1; then started_pg=1; fi
  say "ruff"
  .venv/bin/ruff check .
  say "mypy"
  .venv/bin/mypy schemas edi services sandbox cli devstack tests bench
  say "import contracts"
  .venv/bin/lint-imports --no-cache
  say "deployment tools (kustomize, promtool)"
  bash deploy/tools.sh ensure
  say "pytest (unit, integration, e2e, chaos) against real Kafka and Postgres"
  .venv/bin/python -m pytest tests -p no:cacheprovider -q -rfEs --timeout=600 "$@" || rc=$?
  # The test run started the local stack only if it was not already running: leave things as found.
  [ $started_kafka = 1 ] && bash deploy/local/kafka.sh stop || true
  [ $started_pg = 1 ] && bash deploy/local/postgres.sh stop || true
  if [ $rc = 5 ]; then die "pytest collected no tests"; fi
  return $rc
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  test) shift; cmd_test "$@" ;;
  *) echo "usage: ./dev.sh up | test | down" >&2; exit 2 ;;
esac
