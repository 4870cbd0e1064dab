# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint typecheck pytest browser bench clean install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when pyproject.toml changes.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## make run: venv + install + migrate the embedded SQLite database + serve with scheduler and simulator
run: $(STAMP)
	TOUSU_DEV=$${TOUSU_DEV:-1} $(BIN)/tousu db upgrade
	TOUSU_DEV=$${TOUSU_DEV:-1} $(BIN)/tousu org sync
	TOUSU_DEV=$${TOUSU_DEV:-1} $(BIN)/tousu user dev-accounts
	TOUSU_DEV=$${TOUSU_DEV:-1} $(BIN)/tousu serve --host $(HOST) --port $(PORT)

## make test: lint, type-check and the whole suite (SQLite; also PostgreSQL when TEST_DATABASE_URL is set)
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy handlers storage bot scheduler

pytest: $(STAMP) browser
	$(BIN)/pytest -q

# The browser tests (tests/browser/) drive Debian's Chromium through Playwright, which cannot download a browser of
# its own here. Installed when missing and we may (root, as in CI): chromium, and a font for the Chinese pages.
# Otherwise those tests skip with one line saying why. TOUSU_CHROMIUM=/path/to/chromium uses another browser.
browser:
	@if [ -n "$${TOUSU_CHROMIUM:-}" ] || { command -v chromium && fc-list :lang=zh | grep -q .; } >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "== installing Debian's chromium for the browser tests (tests/browser/)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    chromium fonts-wqy-microhei; \
	else echo "== no chromium and not root: the browser tests will skip (sudo apt-get install chromium)"; fi

## make bench: throughput and latency figures against the floor baseline, printed with ratios
bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance/*.sqlite3* .pytest_cache .ruff_cache .mypy_cache
