#!/usr/bin/env bash
# Restore services' schemas from a backup.sh folder into a database (docs/operations.md#backup-and-restore).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/backup/common.sh
. "$HERE/common.sh"

usage() {
    cat <<'USAGE'
Usage: deploy/backup/restore.sh [--url URL] [--database NAME] [--force] BACKUP_DIR [SERVICE...]

Restore each service's schema (default: every schema in BACKUP_DIR/manifest.json) into a database,
fresh or existing (created when missing). Each file's sha256 is checked against the manifest first;
each schema is restored in one transaction (all or nothing). A schema that already holds tables,
functions or types is refused unless --force, which drops it (with everything in it) in that same
transaction. The roles are cluster-wide and must exist (`rcm migrate` provisions them); the login
role gets CONNECT on the database and its search_path there, which a schema dump does not carry.

Afterwards run `rcm migrate` against the database (RCM_DATABASE_NAME=<database>): it rebuilds the
grants and applies 0 migrations unless the backup predates some. Then reset each service's consumer
group to the backup's time (docs/operations.md#backup-and-restore).

  --url URL        an admin connection (postgresql://user:password@host:port/db); default
                   $RCM_ADMIN_DATABASE_URL with the database `rcm` uses ($RCM_DATABASE_NAME, default rcm)
  --database NAME  the database to restore into (overrides the URL's)
  --force          replace a schema that is not empty
  PG_BIN=DIR       the PostgreSQL client tools to use (default: the newest in /usr/lib/postgresql/*/bin,
                   else PATH)

Exit codes: 0 restored; 1 refused or failed (checksum, a non-empty schema, a missing role, an older
server than the backup's, a pg_restore error: nothing of that schema changed); 2 bad usage.
USAGE
}

url="" database="" force=0 folder="" services=()
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --url) [[ $# -ge 2 ]] || usage_error "--url needs a value"; url=$2; shift 2 ;;
        --database) [[ $# -ge 2 ]] || usage_error "--database needs a value"; database=$2; shift 2 ;;
        --force) force=1; shift ;;
        -*) usage_error "unknown option $1" ;;
        *) if [[ -z "$folder" ]]; then folder=$1; else services+=("$1"); fi; shift ;;
    esac
done
[[ -n "$folder" ]] || usage_error "give the backup folder"
[[ -f "$folder/manifest.json" ]] || die "$folder/manifest.json not found: not a backup.sh folder"
check_services "${services[@]}"
resolve_url "$url" "$database"
PSQL=$(pg_tool psql); PG_RESTORE=$(pg_tool pg_restore)
manifest=$(cat "$folder/manifest.json")

# The manifest is read with psql's JSON functions (the one tool sure to be here).
query_manifest() { local query=$1; shift; sql "$MAINTENANCE_URL" "$query" -v m="$manifest" "$@"; }
query_manifest "SELECT :'m'::json" >/dev/null 2>&1 || die "$folder/manifest.json is not valid JSON (or the server is unreachable)"
if ((${#services[@]} == 0)); then
    mapfile -t services < <(query_manifest "SELECT e->>'schema' FROM json_array_elements(:'m'::json->'schemas') e")
fi

backup_major=$(query_manifest "SELECT (:'m'::json->>'server_version_num')::int / 10000") \
    || die "the manifest names no server version"
target_major=$(server_major "$MAINTENANCE_URL") || die "cannot reach the server of $DB_NAME"
((target_major >= backup_major)) || die "the backup comes from PostgreSQL $backup_major; this server is $target_major: restore into the same version or newer"

for s in "${services[@]}"; do
    sha=$(query_manifest "SELECT e->>'sha256' FROM json_array_elements(:'m'::json->'schemas') e
                          WHERE e->>'schema' = :'s'" -v s="$s") || die "cannot read the manifest"
    [[ -n "$sha" ]] || die "the backup holds no schema $s"
    [[ -f "$folder/$s.dump" ]] || die "$folder/$s.dump is missing"
    [[ $(sha256sum "$folder/$s.dump" | cut -d' ' -f1) == "$sha" ]] || die "$folder/$s.dump does not match its sha256 in the manifest"
done

if [[ $(sql "$MAINTENANCE_URL" "SELECT count(*) FROM pg_database WHERE datname = :'db'" -v db="$DB_NAME") == 0 ]]; then
    sql "$MAINTENANCE_URL" 'CREATE DATABASE :"db"' -v db="$DB_NAME"
    # As provisioning does for a new database: no one but its owner uses the public schema.
    sql "$DB_URL" "REVOKE ALL ON SCHEMA public FROM PUBLIC"
    echo "created database $DB_NAME"
fi

for s in "${services[@]}"; do
    dump="$folder/$s.dump"
    # Every role the schema's objects name (owners, grantees): cluster-wide, so they must exist before.
    mapfile -t roles < <("$PG_RESTORE" --schema-only --file=- "$dump" \
        | sed -nE 's/.* OWNER TO ([^;]+);$/\1/p; s/.*GRANT .* TO ([^;]+);$/\1/p' | tr -d '"' | tr ',' '\n' \
        | sed -E 's/^ +//' | grep -vx 'PUBLIC' | sort -u)
    for role in "${roles[@]}"; do
        [[ $(sql "$DB_URL" "SELECT count(*) FROM pg_roles WHERE rolname = :'r'" -v r="$role") == 1 ]] \
            || die "role $role (named by schema $s) does not exist on this server: create the roles with \`rcm migrate\` (docs/operations.md#backup-and-restore)"
    done
    objects=$(sql "$DB_URL" "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = n.oid)
        + (SELECT count(*) FROM pg_proc WHERE pronamespace = n.oid) + (SELECT count(*) FROM pg_type WHERE typnamespace = n.oid
           AND typrelid = 0) FROM pg_namespace n WHERE nspname = :'s'" -v s="$s") \
        || die "cannot read schema $s in $DB_NAME"
    if [[ -n "$objects" && "$objects" != 0 ]] && ((!force)); then
        die "schema $s in $DB_NAME is not empty ($objects objects): give --force to replace it"
    fi
done

# Every check passed for every schema before any is touched: a refusal restores nothing.
for s in "${services[@]}"; do
    dump="$folder/$s.dump"
    # Drop (an empty or --force'd schema) and restore in one transaction: a failure leaves the schema as it was.
    { echo "BEGIN;"; echo "SET client_min_messages = warning;"; echo "DROP SCHEMA IF EXISTS \"$s\" CASCADE;"; "$PG_RESTORE" --file=- "$dump"; echo "COMMIT;"; } \
        | run_psql "$DB_URL" >/dev/null || die "restoring schema $s failed (nothing of it changed)"
    # What a schema dump does not carry: the login role's way into the database and its search_path
    # (the roles with USAGE on the schema other than its owner: the service's login role).
    mapfile -t logins < <(sql "$DB_URL" "SELECT DISTINCT r.rolname FROM pg_namespace n,
        aclexplode(n.nspacl) a JOIN pg_roles r ON r.oid = a.grantee WHERE n.nspname = :'s' AND a.grantee <> n.nspowner AND a.grantee <> 0 AND a.privilege_type = 'USAGE'" -v s="$s")
    for login in "${logins[@]}"; do
        sql "$DB_URL" 'GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"r"; ALTER ROLE :"r" IN DATABASE :"db" SET search_path TO :"s"' \
            -v db="$DB_NAME" -v r="$login" -v s="$s"
    done
    echo "$s: restored into $DB_NAME"
done
echo "next: RCM_DATABASE_NAME=$DB_NAME rcm migrate   (rebuilds the grants; 0 migrations unless the backup predates some)"
