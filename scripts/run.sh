#!/usr/bin/env bash
# make run: set everything up, then serve the dashboard and run a worker until Ctrl-C.
source "$(dirname "$0")/env.sh"
python manage.py migrate --no-input -v0
python manage.py seed_demo
python manage.py collectstatic --no-input -v0

python manage.py runworker &
worker=$!
# --insecure: serve static files (htmx, CSS) without DEBUG, as collectstatic left them.
python manage.py runserver --insecure "${DOPLATFORM_BIND:-127.0.0.1:8000}" &
web=$!
stop() {
    kill -TERM "$web" "$worker" 2>/dev/null || true
    wait "$web" "$worker" 2>/dev/null || true
}
trap stop EXIT INT TERM
echo "doplatform: dashboard at http://${DOPLATFORM_BIND:-127.0.0.1:8000}/  (Ctrl-C stops the server and the worker)"
wait -n "$web" "$worker"
