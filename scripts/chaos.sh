#!/usr/bin/env bash
# make chaos: the long chaos suite (5,000 runs per scenario, 1,000 registration workflows,
# five minutes of kills) on PostgreSQL. `make test` runs the same tests with a bounded size
# (CHAOS_RUNS=300, CHAOS_WORKFLOWS=200, CHAOS_SECONDS=20).
source "$(dirname "$0")/env.sh"
source scripts/postgres.sh
trap stop_throwaway_postgres EXIT
find_postgres
export CHAOS_RUNS="${CHAOS_RUNS:-5000}" CHAOS_WORKFLOWS="${CHAOS_WORKFLOWS:-1000}" \
    CHAOS_SECONDS="${CHAOS_SECONDS:-300}" \
    CHAOS_STORM_PROCESSES="${CHAOS_STORM_PROCESSES:-64}" REDIS_URL=""
pytest tests/chaos -p no:cacheprovider -o timeout=3600 -s "$@"
