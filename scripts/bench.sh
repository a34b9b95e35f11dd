#!/usr/bin/env bash
# make bench: benchmarks that print ratios measured side by side in one run, on PostgreSQL.
source "$(dirname "$0")/env.sh"
source scripts/postgres.sh
trap stop_throwaway_postgres EXIT
find_postgres
base="${DATABASE_URL%/*}"
for db in doplatform_bench; do
    psql "$base/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
done
export DATABASE_URL="$base/doplatform_bench" REDIS_URL=""
echo "== engine: doplatform vs bare django-q2 (ORM broker) =="
python bench/engine_bench.py "$@"
echo "== workflows: sequential steps against standalone runs one after the other =="
python bench/workflow_bench.py
for script in bench/api_bench.py bench/dashboard_bench.py; do
    if [ -f "$script" ]; then
        echo "== $script =="
        python "$script"
    fi
done
