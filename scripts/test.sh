#!/usr/bin/env bash
# make test: the suite on SQLite, then again on PostgreSQL (see scripts/postgres.sh).
# Extra arguments go to both pytest runs. DOPLATFORM_REQUIRE_POSTGRES=1 (CI) makes a
# missing PostgreSQL a failure instead of a skipped pass.
source "$(dirname "$0")/env.sh"
source scripts/postgres.sh
trap stop_throwaway_postgres EXIT

sqlite_url="sqlite:///$PWD/.test-sqlite.db"
echo "== pass 1/2: SQLite =="
DATABASE_URL="$sqlite_url" REDIS_URL="" pytest -m "not postgres and not browser and not once" "$@"

echo "== pass 2/2: PostgreSQL =="
if ! find_postgres; then
    if [ "${DOPLATFORM_REQUIRE_POSTGRES:-0}" = 1 ]; then
        echo "error: the PostgreSQL pass is required here and no server could be had" >&2
        exit 1
    fi
    echo "SKIPPED: the PostgreSQL pass (see above for how to get a server)" >&2
    exit 0
fi
REDIS_URL="" pytest "$@"
