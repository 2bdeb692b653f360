#!/usr/bin/env bash
# Back up the services' schemas, one pg_dump file per schema, with a manifest (docs/operations.md#backup-and-restore).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/backup/common.sh
. "$HERE/common.sh"

usage() {
    cat <<'USAGE'
Usage: deploy/backup/backup.sh [--url URL] [--database NAME] [--out DIR] [SERVICE...]

Back up each service's schema (default: charges claims remits notifications) with
`pg_dump --schema=<service> --format=custom`, one file per schema (DIR/<service>.dump), and write
DIR/manifest.json: when, which database and server, the pg_dump version, and per schema its file,
sha256, size and the migrations applied (its schema_migrations rows). Every file is dumped from one
snapshot of the database, so the four schemas are of the same instant.

  --url URL        an admin connection (postgresql://user:password@host:port/db); default
                   $RCM_ADMIN_DATABASE_URL with the database `rcm` uses ($RCM_DATABASE_NAME, default rcm)
  --database NAME  the database to back up (overrides the URL's)
  --out DIR        where to write (default ./rcm-backup-<UTC time>); must not exist or be empty
  PG_BIN=DIR       the PostgreSQL client tools to use (default: the newest in /usr/lib/postgresql/*/bin,
                   else PATH); pg_dump refuses a server newer than itself

Exit codes: 0 written; 1 failed (database unreachable, a schema missing, pg_dump error); 2 bad usage.
USAGE
}

url="" database="" out="" services=()
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --url) [[ $# -ge 2 ]] || usage_error "--url needs a value"; url=$2; shift 2 ;;
        --database) [[ $# -ge 2 ]] || usage_error "--database needs a value"; database=$2; shift 2 ;;
        --out) [[ $# -ge 2 ]] || usage_error "--out needs a value"; out=$2; shift 2 ;;
        -*) usage_error "unknown option $1" ;;
        *) services+=("$1"); shift ;;
    esac
done
((${#services[@]})) || services=("${SERVICES[@]}")
check_services "${services[@]}"
resolve_url "$url" "$database"
PSQL=$(pg_tool psql); PG_DUMP=$(pg_tool pg_dump)
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
out=${out:-./rcm-backup-${stamp//:/}}
if [[ -e "$out" ]]; then
    [[ -d "$out" && -z "$(ls -A "$out")" ]] || die "$out exists and is not an empty folder: choose another --out"
fi

sql "$DB_URL" "SELECT 1" >/dev/null || die "cannot reach database $DB_NAME"
for s in "${services[@]}"; do
    [[ $(sql "$DB_URL" "SELECT count(*) FROM pg_namespace WHERE nspname = :'s'" -v s="$s") == 1 ]] \
        || die "database $DB_NAME has no schema $s"
done
# The manifest is written last: a folder without one is an interrupted backup, which restore.sh refuses.
mkdir -p "$out"

# One snapshot for every file: a session exports it and stays in its transaction while pg_dump runs.
coproc SNAP { "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 "$DB_URL"; }
echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot();" >&"${SNAP[1]}"
read -r -t 30 snapshot <&"${SNAP[0]}" || die "could not export a snapshot of $DB_NAME"
finish_snapshot() { { echo "COMMIT;" >&"${SNAP[1]}"; exec {SNAP[1]}>&-; } 2>/dev/null || true; wait "$SNAP_PID" 2>/dev/null || true; }
trap finish_snapshot EXIT

entries=""
for s in "${services[@]}"; do
    file="$s.dump"
    "$PG_DUMP" --dbname="$DB_URL" --schema="$s" --format=custom --snapshot="$snapshot" --file="$out/$file" \
        || die "pg_dump of schema $s failed"
    sha=$(sha256sum "$out/$file" | cut -d' ' -f1)
    size=$(stat -c %s "$out/$file")
    # The migrations as of the same snapshot, so the manifest says exactly what the file holds.
    entry=$(run_psql "$DB_URL" -v s="$s" -v file="$file" -v sha="$sha" -v size="$size" -v snap="$snapshot" <<'SQL'
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SET TRANSACTION SNAPSHOT :'snap';
SELECT json_build_object(
    'schema', :'s', 'file', :'file', 'sha256', :'sha', 'bytes', :'size'::bigint,
    'migrations', (SELECT coalesce(json_agg(json_build_object('name', name, 'checksum', checksum,
                                                              'applied_at', applied_at) ORDER BY name), '[]')
                   FROM :"s".schema_migrations));
SQL
) || die "could not read the migrations of schema $s"
    entries+="${entries:+,}$entry"
    echo "$s: $out/$file ($size bytes)"
done
finish_snapshot
trap - EXIT

sql "$DB_URL" "SELECT json_build_object('created_at', :'ts', 'database', :'db',
          'server_version', current_setting('server_version'),
          'server_version_num', current_setting('server_version_num')::int,
          'pg_dump_version', :'pgv', 'schemas', :'entries'::json)" \
    -v ts="$stamp" -v db="$DB_NAME" -v pgv="$("$PG_DUMP" --version)" -v entries="[$entries]" > "$out/manifest.json"
echo "manifest: $out/manifest.json"
