# Sourced by the other scripts: find Python 3.12+, make sure uv is there, sync .venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never
# The development secret key is allowed for make run/test/bench; production sets DJANGO_SECRET_KEY.
export DOPLATFORM_DEV="${DOPLATFORM_DEV:-1}"

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[23]*/bin/python3 python3; do
        [ -n "$candidate" ] || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            "$candidate" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    echo "error: doplatform needs Python 3.12 or newer (Django 6); set PYTHON=/path/to/python3.12" >&2
    return 1
}

sync_venv() {
    local python
    python="$(find_python)"
    if ! "$python" -m uv --version >/dev/null 2>&1 && ! command -v uv >/dev/null 2>&1; then
        "$python" -m pip install --quiet --disable-pip-version-check uv
    fi
    if "$python" -m uv --version >/dev/null 2>&1; then
        "$python" -m uv sync --quiet --frozen --python "$python"
    else
        uv sync --quiet --frozen --python "$python"
    fi
}

if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.synced ] || [ uv.lock -nt .venv/.synced ]; then
    echo "doplatform: installing Python packages into .venv (uv sync --frozen)" >&2
    sync_venv
    touch .venv/.synced
fi
export PATH="$PWD/.venv/bin:$PATH"
