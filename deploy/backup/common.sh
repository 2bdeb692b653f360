# Shared by backup.sh and restore.sh (sourced, never run): the schemas, the connection, the
# PostgreSQL client tools. Only bash and the PostgreSQL client are needed (an ops host or a
# postgres image): no Python, no jq; JSON is built and read by psql itself.

SERVICES=(charges claims remits notifications)  # each service's schema is named after it (services/chassis/settings.py)

die() { echo "error: $*" >&2; exit 1; }
usage_error() { echo "error: $*" >&2; echo "(see --help)" >&2; exit 2; }

# The tools of the newest PostgreSQL client installed: Debian keeps them in /usr/lib/postgresql/<major>/bin and
# puts a wrapper on PATH that may pick another version; PG_BIN overrides both.
pg_tool() {
    local name=$1 dir
    if [[ -n "${PG_BIN:-}" ]]; then
        [[ -x "$PG_BIN/$name" ]] || die "PG_BIN=$PG_BIN has no $name"
        echo "$PG_BIN/$name"; return
    fi
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/$name" ]]; then echo "$dir/$name"; return; fi
    command -v "$name" >/dev/null 2>&1 || die "$name not found: install the PostgreSQL client (Debian: postgresql-client) or set PG_BIN"
    command -v "$name"
}

# resolve_url URL_ARG DATABASE_ARG: sets DB_URL (the database to work on) and MAINTENANCE_URL (the same server's
# `postgres` database, to create ours). Without --url the database is the one `rcm` uses (RCM_DATABASE_NAME,
# default rcm) whatever RCM_ADMIN_DATABASE_URL names; with --url, the URL's own unless --database.
resolve_url() {
    local url=$1 database=$2 base query name
    if [[ -z "$url" ]]; then
        url=${RCM_ADMIN_DATABASE_URL:-}
        [[ -n "$url" ]] || usage_error "no database: give --url or set RCM_ADMIN_DATABASE_URL"
        database=${database:-${RCM_DATABASE_NAME:-rcm}}
    fi
    [[ "$url" =~ ^(postgres(ql)?://[^/?#]*)(/([^?#]*))?(\?.*)?$ ]] \
        || usage_error "not a postgresql:// URL (the password is not shown)"
    base=${BASH_REMATCH[1]}; name=${BASH_REMATCH[4]}; query=${BASH_REMATCH[5]}
    DB_NAME=${database:-${name:-rcm}}
    [[ "$DB_NAME" =~ ^[A-Za-z0-9_-]+$ ]] || usage_error "database name '$DB_NAME': letters, digits, _ and - only"
    DB_URL="$base/$DB_NAME$query"
    MAINTENANCE_URL="$base/postgres$query"
}

# psql without the user's ~/.psqlrc, unaligned, tuples only, stopping at the first error.
run_psql() { "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

# sql URL QUERY [-v name=value...]: psql substitutes :'name' (a literal) and :"name" (an identifier) only in
# what it reads, never in -c, so the query goes through stdin.
sql() { local url=$1 query=$2; shift 2; printf '%s\n' "$query" | run_psql "$url" "$@"; }

check_services() {
    local s known
    for s in "$@"; do
        known=0
        for k in "${SERVICES[@]}"; do [[ "$s" == "$k" ]] && known=1; done
        ((known)) || usage_error "no service '$s' (services: ${SERVICES[*]})"
    done
}

server_major() { sql "$1" "SELECT current_setting('server_version_num')::int / 10000"; }

client_major() { "$1" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/'; }
