"""The REST API over HTTP against a trivial DRF endpoint served by the same server.

Submit throughput (new runs, each with its own Idempotency-Key) and replay latency
(the same key again, sequentially) are measured side by side with a DRF endpoint
that does nothing but the same token authentication, permission check and JSON
parsing, so the ratios show what the engine adds to a DRF request. Rounds alternate
so both see the same machine; the server is a subprocess on 127.0.0.1.

    DATABASE_URL=postgres://…/doplatform_bench python bench/api_bench.py [-n 600] [--rounds 3]
"""

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import types
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

ACTION = "bench-noop"
SUBMIT_PATH = f"/api/actions/{ACTION}/runs/"
TRIVIAL_PATH = "/bench/trivial/"
HOST = "127.0.0.1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=600, help="requests per throughput measure")
    parser.add_argument("--latency-n", type=int, default=300, help="sequential requests")
    parser.add_argument("--threads", type=int, default=8, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
    else:
        bench(args)


# --- the server (a subprocess) -------------------------------------------------------


def serve(port: int) -> None:
    """The project's URLs plus a trivial DRF endpoint with the API's auth and parser."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application
    from django.urls import include, path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from actions.api.parsing import StrictJSONParser
    from actions.api.permissions import CanSubmitRuns

    class Trivial(APIView):
        permission_classes = [CanSubmitRuns]
        parser_classes = [StrictJSONParser]

        def post(self, request):
            return Response({"ok": True, "inputs": request.data.get("inputs")})

    urls = types.ModuleType("api_bench_urls")
    urls.urlpatterns = [
        path(TRIVIAL_PATH.strip("/") + "/", Trivial.as_view()),
        path("", include(settings.ROOT_URLCONF)),
    ]
    sys.modules[urls.__name__] = urls
    settings.ROOT_URLCONF = urls.__name__

    class Server(WSGIServer):
        def get_request(self):
            # Headers and body are separate writes: without TCP_NODELAY, Nagle's algorithm
            # and the client's delayed ACK add ~40 ms to every response, whatever the app.
            conn, address = super().get_request()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return conn, address

    run(HOST, port, get_wsgi_application(), threading=True, server_cls=Server)


def start_server() -> tuple[subprocess.Popen, int]:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_server(proc)
                raise RuntimeError("the API server did not start") from None
            time.sleep(0.05)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


# --- the clients ---------------------------------------------------------------------


class Client:
    """One keep-alive HTTP connection with the token."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict, key: str | None = None) -> int:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        self.conn.request("POST", path, json.dumps(body), headers)
        response = self.conn.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.conn.close()


def throughput(port: int, token: str, path: str, n: int, threads: int, prefix: str) -> float:
    """Requests per second of ``n`` POSTs from ``threads`` clients, each with a new key."""
    per_thread = n // threads
    failures: list[int] = []
    start = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        client = Client(port, token)
        start.wait()
        for i in range(per_thread):
            status = client.post(path, {"inputs": {"i": i}}, key=f"{prefix}-{t}-{i}")
            if status not in (200, 202):
                failures.append(status)
        client.close()

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return per_thread * threads / elapsed


def latencies(port: int, token: str, path: str, n: int, key: str) -> list[float]:
    """Seconds per request of ``n`` sequential POSTs of the same body and key."""
    client = Client(port, token)
    first = client.post(path, {"inputs": {"replay": True}}, key=key)
    if first not in (200, 202):
        raise RuntimeError(f"the first request failed: HTTP {first}")
    times = []
    for _ in range(n):
        began = time.perf_counter()
        status = client.post(path, {"inputs": {"replay": True}}, key=key)
        times.append(time.perf_counter() - began)
        if status != 200:
            raise RuntimeError(f"a replay answered HTTP {status}, not 200")
    client.close()
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the benchmark -------------------------------------------------------------------


def bench(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    token, user = make_account()
    prefix = f"apibench-{uuid.uuid4().hex[:8]}"
    print(
        f"api bench: {connection.vendor}, {args.threads} clients, N={args.n} per throughput "
        f"measure, {args.latency_n} sequential replays, Django's threaded server on {HOST}"
    )
    proc, port = start_server()
    connection.close()  # the server's connections only, while measuring
    ratios_tp, ratios_p50 = [], []
    try:
        for round_no in range(1, args.rounds + 1):
            tag = f"{prefix}-r{round_no}"
            trivial_tp = throughput(port, token, TRIVIAL_PATH, args.n, args.threads, tag)
            submit_tp = throughput(port, token, SUBMIT_PATH, args.n, args.threads, tag)
            trivial_lat = latencies(port, token, TRIVIAL_PATH, args.latency_n, f"{tag}-t")
            replay_lat = latencies(port, token, SUBMIT_PATH, args.latency_n, f"{tag}-replay")
            ratio_tp = submit_tp / trivial_tp
            ratio_p50 = statistics.median(replay_lat) / statistics.median(trivial_lat)
            ratios_tp.append(ratio_tp)
            ratios_p50.append(ratio_p50)
            print(
                f"round {round_no}: throughput trivial {trivial_tp:6.1f}/s  submit "
                f"{submit_tp:6.1f}/s  ratio {ratio_tp:.2f} | latency p50/p95 trivial "
                f"{ms(statistics.median(trivial_lat))}/{ms(percentile(trivial_lat, 0.95))}  "
                f"replay {ms(statistics.median(replay_lat))}/{ms(percentile(replay_lat, 0.95))}"
                f"  ratio {ratio_p50:.2f}"
            )
    finally:
        stop_server(proc)
        clean_up(prefix, user)
    print(f"median ratio submit/trivial throughput: {statistics.median(ratios_tp):.2f}")
    print(f"median ratio replay/trivial p50 latency: {statistics.median(ratios_p50):.2f}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def make_account():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create(username=f"apibench-{uuid.uuid4().hex[:8]}")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="actions", codename="submit_run")
    )
    return Token.objects.create(user=user).key, user


def clean_up(prefix: str, user) -> None:
    """Remove what the benchmark made, queue rows included (no worker ever took them)."""
    from django_q.models import OrmQ

    from actions.models import Run

    runs = Run.objects.filter(action_id=ACTION, idempotency_key__startswith=prefix)
    run_ids = {str(pk) for pk in runs.values_list("pk", flat=True)}
    stale = [row.pk for row in OrmQ.objects.all().iterator() if row.name() in run_ids]
    OrmQ.objects.filter(pk__in=stale).delete()
    runs.delete()
    user.delete()


if __name__ == "__main__":
    main()
