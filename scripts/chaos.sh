#!/usr/bin/env bash
# make chaos: the long chaos suite (5,000 runs per scenario, 1,000 registration workflows,
# five minutes of kills) on PostgreSQL. `make test` runs the same tests with a bounded size
# (CHAOS_RUNS=300, CHAOS_WORKFLOWS=200, CHAOS_SECONDS=20, 4 storms of 48 requests, 3 rounds
# of idle-worker kills).
source "$(dirname "$0")/env.sh"
source scripts/postgres.sh
trap stop_throwaway_postgres EXIT
find_postgres
export CHAOS_RUNS="${CHAOS_RUNS:-5000}" CHAOS_WORKFLOWS="${CHAOS_WORKFLOWS:-1000}" \
    CHAOS_SECONDS="${CHAOS_SECONDS:-300}" \
    CHAOS_STORM_PROCESSES="${CHAOS_STORM_PROCESSES:-64}" CHAOS_STORMS="${CHAOS_STORMS:-10}" \
    CHAOS_STORM_REQUESTS="${CHAOS_STORM_REQUESTS:-192}" \
    CHAOS_IDLE_ROUNDS="${CHAOS_IDLE_ROUNDS:-20}" REDIS_URL=""
pytest tests/chaos -p no:cacheprovider -o timeout=3600 -s "$@"
