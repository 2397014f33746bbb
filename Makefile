# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install the pinned
# dependencies (requirements.lock) when needed; nothing is downloaded at run or test time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench openapi lock clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/toezicht serve --demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	@for script in tests/bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

openapi: $(STAMP)
	$(BIN)/toezicht openapi --output openapi/openapi.json

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e '.[dev]'
	{ echo "# Pinned versions of every runtime and test dependency (pip constraints)."; \
	  echo "# Regenerate after changing pyproject.toml: make lock"; \
	  $(BIN)/python -m pip freeze --all --exclude-editable | grep -v -e '^-e' -e '^pip=='; } > requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info
