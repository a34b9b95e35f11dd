# The two commands: `make run` and `make test`. Everything else is for developers.
.PHONY: run test shell test-fast lint format bench chaos clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

shell:  ## a shell where `python manage.py …` works: .venv first on PATH, DOPLATFORM_DEV=1
	@bash -c 'source scripts/env.sh && exec bash --rcfile scripts/shellrc -i'

test-fast:  ## SQLite only, no browser and no worker subprocesses
	@bash -c 'source scripts/env.sh && pytest -m "not postgres and not browser and not worker" -q'

lint:
	@bash -c 'source scripts/env.sh && ruff check . && ruff format --check .'

format:
	@bash -c 'source scripts/env.sh && ruff check --fix . && ruff format .'

bench:
	@scripts/bench.sh

chaos:
	@scripts/chaos.sh

clean:
	rm -rf .venv db.sqlite3* .test-sqlite* staticfiles .pytest_cache dist
