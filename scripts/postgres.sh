# Sourced: export DATABASE_URL for a PostgreSQL server the tests may use, or return 1.
# Order: $DATABASE_URL if it is PostgreSQL; the local service on 127.0.0.1:5432;
# else a throwaway cluster from the OS's binaries, stopped by stop_throwaway_postgres.
THROWAWAY_PG=""

pg_answers() {
    python - "$1" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
}

find_postgres() {
    if [[ "${DATABASE_URL:-}" == postgres* ]] && pg_answers "$DATABASE_URL"; then
        return 0
    fi
    local url="postgres://postgres@127.0.0.1:5432/postgres"
    if pg_answers "$url"; then
        export DATABASE_URL="$url"
        return 0
    fi
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "PostgreSQL: no server at \$DATABASE_URL or 127.0.0.1:5432, and no initdb found." >&2
        echo "  Install it (apt-get install postgresql) or set DATABASE_URL=postgres://…" >&2
        return 1
    fi
    THROWAWAY_PG="$(mktemp -d /tmp/doplatform-pg.XXXXXX)"
    local port=55440
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$THROWAWAY_PG"
        runuser -u postgres -- "$bin/initdb" -D "$THROWAWAY_PG/data" -U postgres --auth=trust >/dev/null
        runuser -u postgres -- "$bin/pg_ctl" -D "$THROWAWAY_PG/data" -l "$THROWAWAY_PG/log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $THROWAWAY_PG -c fsync=off" start >/dev/null
    else
        "$bin/initdb" -D "$THROWAWAY_PG/data" -U postgres --auth=trust >/dev/null
        "$bin/pg_ctl" -D "$THROWAWAY_PG/data" -l "$THROWAWAY_PG/log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $THROWAWAY_PG -c fsync=off" start >/dev/null
    fi
    PG_BIN="$bin"
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
    echo "PostgreSQL: started a throwaway server on port $port" >&2
}

stop_throwaway_postgres() {
    [ -n "$THROWAWAY_PG" ] || return 0
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$THROWAWAY_PG/data" -m fast -w stop >/dev/null || true
    else
        "$PG_BIN/pg_ctl" -D "$THROWAWAY_PG/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$THROWAWAY_PG"
}
