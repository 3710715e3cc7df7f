# The few commands a contributor runs. Python comes from $(PY) (default: the venv's, else python3).
PY ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
RUFF ?= $(PY) -m ruff
JS := tools/js
ESLINT := $(JS)/node_modules/.bin/eslint -c $(JS)/eslint.config.mjs
PRETTIER := $(JS)/node_modules/.bin/prettier --config $(JS)/.prettierrc.json

.PHONY: test quick lint format lint-js format-js js-tools bench

test:            ## everything (browser tests skip without Chromium), as CI runs it
	$(PY) -m pytest

quick:           ## about a minute: no training runs, servers, subprocesses or browser
	$(PY) -m pytest -m "not slow and not browser"

lint: lint-js    ## ruff (lint + format check) and the JavaScript's eslint + prettier check
	$(RUFF) check .
	$(RUFF) format --check .

format: format-js
	$(RUFF) format .

$(JS)/node_modules: $(JS)/package.json $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund
	@touch $@

js-tools: $(JS)/node_modules   ## eslint and prettier, pinned in tools/js/package-lock.json

lint-js: js-tools
	$(ESLINT) explorer
	$(PRETTIER) --check explorer/*.js

format-js: js-tools
	$(PRETTIER) --write explorer/*.js

bench:           ## one short benchmark; every other one, with its command, is in docs/benchmarks.md
	$(PY) -m bench.decode_latency
