#!/usr/bin/env bash
# Entry point of the offline postgres image. On first start it creates the
# cluster in $PGDATA with the requested superuser, password and database and
# runs /docker-entrypoint-initdb.d/*.sql and *.sh; then it runs the server as
# the postgres user, in the foreground, as PID 1.
set -Eeuo pipefail

fail() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# `docker run IMAGE -c foo=bar` passes server options straight through.
if [[ ${1:-} == -* ]]; then
    set -- postgres "$@"
fi

if [[ ${1:-} != postgres ]]; then
    exec "$@"
fi

# POSTGRES_PASSWORD_FILE: the password from a file (a Docker or Kubernetes
# secret), as the official image allows. Read before dropping to the
# postgres user, who may not be allowed to read it.
if [[ -n ${POSTGRES_PASSWORD_FILE:-} ]]; then
    [[ -z ${POSTGRES_PASSWORD:-} ]] || fail "both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set: set only one"
    [[ -r $POSTGRES_PASSWORD_FILE ]] || fail "POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE is not a readable file"
    POSTGRES_PASSWORD=$(<"$POSTGRES_PASSWORD_FILE")
    export POSTGRES_PASSWORD
    unset POSTGRES_PASSWORD_FILE
fi

# Started as root: prepare the directories, then drop to the postgres user.
if [[ $(id -u) == 0 ]]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

initialise_cluster() {
    local user=${POSTGRES_USER:-postgres}
    local database=${POSTGRES_DB:-$user}
    local auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [[ -z ${POSTGRES_PASSWORD:-} && $auth != trust ]]; then
        fail "the database is uninitialised and POSTGRES_PASSWORD is not set: set it (or POSTGRES_HOST_AUTH_METHOD=trust for throwaway test databases)"
    fi

    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
    # Extra initdb options, split on blanks like the official image does.
    local extra_args
    read -r -a extra_args <<<"${POSTGRES_INITDB_ARGS:-}"
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host="$auth" \
        --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" "${extra_args[@]}" >/dev/null
    rm -f "$pwfile"
    printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
    printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

    # A private server, on the Unix socket only, for the set-up steps.
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
    export PGUSER=$user PGHOST=/var/run/postgresql
    if [[ $database != postgres ]]; then
        psql -v ON_ERROR_STOP=1 --dbname postgres -q \
            --set db="$database" <<<'CREATE DATABASE :"db";'
    fi
    local script
    for script in /docker-entrypoint-initdb.d/*; do
        case $script in
            *.sh)
                printf 'running %s\n' "$script"
                # shellcheck source=/dev/null # the user's own scripts
                . "$script"
                ;;
            *.sql) printf 'running %s\n' "$script"; psql -v ON_ERROR_STOP=1 --dbname "$database" -q -f "$script" ;;
            *) if [[ -e $script ]]; then printf 'ignoring %s\n' "$script"; fi ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    unset PGUSER PGHOST
    printf 'database cluster initialised in %s\n' "$PGDATA"
}

if [[ ! -s $PGDATA/PG_VERSION ]]; then
    initialise_cluster
fi

exec "$@"
