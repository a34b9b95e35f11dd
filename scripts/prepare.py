"""make run's set-up, in one process: check, then migrate, seed the demo, collect static files.

Nothing is changed until the settings load and the database answers; if either fails,
one line says what to fix (exit 1).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doplatform.settings")


def where(db: dict) -> str:
    """The database as a URL without its password."""
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = f"{db['USER']}@" if db.get("USER") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{db.get('HOST') or 'localhost'}{port}/{db['NAME']}"


def advice(error: Exception, db: dict) -> str:
    text = str(error)
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    # psycopg says where it tried first ("connection to server at …, port … failed: "): we do.
    reason = first_line.rsplit(" failed: ", 1)[-1].replace("FATAL:  ", "")
    if db["ENGINE"].endswith("sqlite3"):
        return (
            f"cannot open the SQLite database {db['NAME']} ({reason}): "
            "does its folder exist? Fix DATABASE_URL"
        )
    name, host = db["NAME"], db.get("HOST") or "localhost"
    if f'database "{name}" does not exist' in text:
        options = f"-h {host}" + (f" -p {db['PORT']}" if db.get("PORT") else "")
        options += f" -U {db['USER']}" if db.get("USER") else ""
        return (
            f'the database "{name}" does not exist at {where(db)}: '
            f"create it (createdb {options} {name}) or fix the name in DATABASE_URL"
        )
    if "authentication failed" in text or ("role" in text and "does not exist" in text):
        return f"{where(db)} refused the login ({reason}): fix the user or password in DATABASE_URL"
    return (
        f"cannot reach the database at {where(db)} ({reason}): "
        "start PostgreSQL there, or fix DATABASE_URL (unset, it is a SQLite file)"
    )


def say(message: str) -> None:
    print(f"doplatform: {message}", flush=True)


def main() -> int:
    try:
        import django

        django.setup()
    except Exception as error:  # noqa: BLE001 - any bad setting is reported in one line
        print(f"doplatform: the settings do not load: {error}", file=sys.stderr)
        return 1
    from django.core.management import call_command
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "postgresql":
        db["OPTIONS"].setdefault("connect_timeout", 5)
        # One process, one connection: a pool would retry an unreachable server for its
        # whole timeout, and report each try, before the one line below.
        db["OPTIONS"].pop("pool", None)
    try:
        connection.ensure_connection()
    except Exception as error:  # noqa: BLE001 - reported in one line
        print(f"doplatform: {advice(error, db)}", file=sys.stderr)
        return 1
    say(f"applying migrations to {where(db)}")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_demo")
    say("collecting static files")
    call_command("collectstatic", interactive=False, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
