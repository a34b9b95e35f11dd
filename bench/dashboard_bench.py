"""Do the dashboard's run lists stay as fast at 1,000,000 runs as at 1,000?

Fills a dedicated PostgreSQL database (named by DATABASE_URL, recreated from scratch)
with 1,000 runs, times the pages, grows it to 1,000,000 runs with one
``INSERT … SELECT generate_series`` and times them again; prints the ratios.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dashbench \\
        .venv/bin/python bench/dashboard_bench.py [--large 1000000] [--repeat 9]

Each timing is the median of several GETs through Django's test client, once with the
dashboard's aggregates cached (as between refreshes) and once with a cold cache.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doplatform.settings")

import dj_database_url  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

ACTIONS = ["create-user", "charge-subscription", "send-welcome-email", "update-user-crm"]

# Newest first: run i is created i × 50 ms before the bench starts, so the first
# 1,000 runs stay the newest page at both sizes. 10 % dead, 5 % retrying (so even the
# small size fills several failed pages), spread over the four actions.
INSERT_RUNS = """
INSERT INTO actions_run (
    id, action_id, status, inputs, result, error, idempotency_key, attempts, budget_start,
    created_at, started_at, finished_at, next_attempt_at, enqueued_at,
    worker, waiting_reason, resolution_note
)
SELECT
    gen_random_uuid(),
    (%(actions)s::text[])[1 + (i / 3) %% 4],
    s.status,
    jsonb_build_object('email', 'user' || i || '@example.com', 'plan', 'pro'),
    CASE WHEN s.status = 'succeeded' THEN jsonb_build_object('crm_id', i) END,
    CASE s.status
        WHEN 'dead' THEN jsonb_build_object(
            'code', 'crm_rejected', 'message', 'the CRM answered 400', 'retryable', false)
        WHEN 'retrying' THEN jsonb_build_object(
            'code', 'crm_unavailable', 'message', 'the CRM answered 503', 'retryable', true)
    END,
    'signup-' || i,
    CASE s.status WHEN 'succeeded' THEN 1 ELSE 2 END,
    0,
    t.created,
    t.created + interval '5 ms',
    CASE WHEN s.status IN ('succeeded', 'dead') THEN t.created + interval '80 ms' END,
    CASE WHEN s.status = 'retrying' THEN %(now)s + interval '1 hour' END,
    t.created,
    'bench:1', '', ''
FROM generate_series(%(lo)s, %(hi)s) AS i
CROSS JOIN LATERAL (SELECT %(now)s - i * interval '50 ms' AS created) AS t
CROSS JOIN LATERAL (
    SELECT CASE WHEN i %% 10 = 7 THEN 'dead' WHEN i %% 20 = 3 THEN 'retrying'
                ELSE 'succeeded' END AS status
) AS s
"""


def recreate_database(url: str) -> None:
    params = dj_database_url.parse(url)
    name = params["NAME"]
    if "bench" not in name:
        sys.exit(f"refusing to recreate {name!r}: the bench database's name must contain 'bench'")
    conninfo = psycopg.conninfo.make_conninfo(
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        user=params["USER"] or "postgres",
        password=params["PASSWORD"] or None,
        dbname="postgres",
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def insert_runs(lo: int, hi: int, now) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(INSERT_RUNS, {"actions": ACTIONS, "lo": lo, "hi": hi, "now": now})
    with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
        # A steady-state table: visibility map set, hint bits written, statistics fresh.
        cursor.execute("VACUUM (ANALYZE) actions_run")
    return time.perf_counter() - started


def deep_cursor(failed: bool, fraction: float = 0.9) -> str:
    """The cursor of the row 90 % down the list: what paging that deep would reach…"""
    from actions.models import Run
    from actions.paging import PAGE_SIZE, Cursor

    runs = Run.objects.failed() if failed else Run.objects.all()
    total = runs.count()
    # …but never so deep that the page is not full: compare like with like.
    offset = max(min(int(total * fraction), total - PAGE_SIZE - 1), 0)
    row = runs.order_by("-created_at", "-id").values_list("created_at", "id")[offset]
    return Cursor(*row).encode()


def pages() -> dict[str, str]:
    return {
        "/runs/ first page": "/runs/",
        "/runs/ deep keyset page": f"/runs/?cursor={deep_cursor(failed=False)}",
        "/runs/?action= first page": "/runs/?action=update-user-crm",
        "/runs/failed/ first page": "/runs/failed/",
        "/runs/failed/ deep keyset page": f"/runs/failed/?cursor={deep_cursor(failed=True)}",
        "/runs/failed/?action=&code=": "/runs/failed/?action=update-user-crm&code=crm_rejected",
        "/ overview": "/",
    }


def time_pages(client, repeat: int, *, cold: bool) -> dict[str, float]:
    """Median milliseconds per page; ``cold`` clears the dashboard's cached aggregates
    before every GET, otherwise they are cached as between two refreshes."""
    from django.core.cache import cache

    results = {}
    for label, url in pages().items():
        samples = []
        cache.clear()
        for i in range(repeat + 1):
            if cold:
                cache.clear()
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (url, response.status_code)
            if i:  # the first request warms connections, templates and (if warm) the cache
                samples.append(elapsed)
        results[label] = statistics.median(samples) * 1000
    return results


def report(title: str, small: dict, large: dict, sizes: tuple[int, int]) -> None:
    print()
    print(title)
    head = f"{'page':34} {sizes[0]:>11,} {sizes[1]:>11,}  ratio"
    print(head)
    print("-" * len(head))
    for label in small:
        ratio = large[label] / small[label]
        print(f"{label:34} {small[label]:>11.1f} {large[label]:>11.1f}  {ratio:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL=postgres://…/dashbench (a database this script may recreate)")
    recreate_database(url)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from actions.submission import ensure_action

    for name in ACTIONS:
        ensure_action(name)
    user = get_user_model().objects.create_user("bench", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="actions"))
    client = Client()
    client.force_login(user)

    now = timezone.now()
    sizes = (args.small, args.large)
    print(f"inserting {args.small:,} runs … {insert_runs(1, args.small, now):.1f} s")
    small = {cold: time_pages(client, args.repeat, cold=cold) for cold in (False, True)}
    print(f"inserting {args.large - args.small:,} more runs … ", end="", flush=True)
    print(f"{insert_runs(args.small + 1, args.large, now):.1f} s")
    large = {cold: time_pages(client, args.repeat, cold=cold) for cold in (False, True)}

    what = f"median of {args.repeat} GETs, milliseconds, PostgreSQL"
    report(f"{what}; aggregates cached (the usual case)", small[False], large[False], sizes)
    report(f"{what}; cold cache (aggregates recomputed)", small[True], large[True], sizes)


if __name__ == "__main__":
    main()
