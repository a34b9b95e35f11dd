#!/usr/bin/env bash
# make run: set everything up, then serve the dashboard and run a worker until Ctrl-C.
# Nothing is changed before the checks pass: the address is free, the settings load and
# the database answers; each fails with one line saying what to fix.
set -euo pipefail
cd "$(dirname "$0")/.."
# At a terminal, run in a process group of our own that owns the terminal: Ctrl-C then
# reaches only this script, which stops cleanly, and not make, which would report it.
if [ -t 0 ] && [ -z "${DOPLATFORM_RUN_FOREGROUND:-}" ]; then
    set -m
    DOPLATFORM_RUN_FOREGROUND=1 "$0" "$@"
    exit $?
fi
say() { echo "doplatform: $*"; }

bind="${DOPLATFORM_BIND:-127.0.0.1:8000}"
case "$bind" in
    \[*\]:*) host="${bind%]:*}"; host="${host#[}"; port="${bind##*]:}" ;;
    *:*) host="${bind%:*}"; port="${bind##*:}" ;;
    *) host=127.0.0.1; port="$bind" ;;
esac
if ! [[ "$port" =~ ^[0-9]+$ ]]; then
    echo "doplatform: DOPLATFORM_BIND=$bind is not an address: use host:port, e.g. 127.0.0.1:8000" >&2
    exit 1
fi
case "$host" in
    0.0.0.0 | "") probe=127.0.0.1 ;;
    ::) probe=::1 ;;
    *) probe="$host" ;;
esac
# Something answering there means the server could not start: say so before anything else.
if (exec 3<>"/dev/tcp/$probe/$port") 2>/dev/null; then
    echo "doplatform: $bind is already in use (another make run?): stop that, or choose" \
        "another address, e.g. DOPLATFORM_BIND=$host:$((port + 1)) make run" >&2
    exit 1
fi

source scripts/env.sh
# Checks the settings and the database, then migrates, seeds the demo, collects static files.
python scripts/prepare.py

say "starting the worker and the web server"
python manage.py runworker &
worker=$!
# WhiteNoise serves the static files (htmx, CSS) that collectstatic left, as in production.
python manage.py runserver "$bind" &
web=$!

stop() {
    trap - INT TERM
    kill -TERM "$web" "$worker" 2>/dev/null || true
    wait "$web" "$worker" 2>/dev/null || true
}
# Ctrl-C or SIGTERM is how make run is meant to end: stop both, and report success.
trap 'echo; say "stopping the web server and the worker"; stop; say "stopped"; exit 0' INT TERM
shown="$bind"
[[ "$bind" == *:* ]] || shown="127.0.0.1:$bind"
say "dashboard at http://$shown/  (Ctrl-C stops the server and the worker)"
set +e
wait -n "$web" "$worker"
status=$?
say "the web server or the worker stopped by itself (status $status); stopping the other"
stop
exit $((status == 0 ? 1 : status))
