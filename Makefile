# The two commands: `make run` and `make test`. Everything else is for developers.
.PHONY: run test test-fast lint format bench chaos clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

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
	rm -rf .venv db.sqlite3* .test-sqlite* staticfiles .pytest_cache
