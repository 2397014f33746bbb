# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install the pinned
# dependencies (requirements.lock) when needed; nothing is downloaded at run or test time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run lint test bench openapi lock vendor clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/toezicht hint
	$(BIN)/toezicht serve --demo

# The checks every change passes (configuration in pyproject.toml): lint findings, formatting, and mypy --strict
# over backend/. `make test` runs them first, so CI fails on a finding before any test runs.
lint: $(STAMP)
	$(BIN)/ruff check backend tests
	$(BIN)/ruff format --check backend tests
	$(BIN)/mypy

# The suite runs in one process per CPU (at most four), each with a PostgreSQL of its own; a test file stays in one
# process, so a file's shared browser or server starts once. TEST_PROCESSES=0 runs it in this process alone.
TEST_PROCESSES ?= logical
test: lint
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --maxprocesses 4 --dist loadfile

bench: $(STAMP)
	@for script in tests/bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

openapi: $(STAMP)
	$(BIN)/toezicht openapi --output openapi/openapi.json

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e '.[dev]'
	{ echo "# Pinned versions of every runtime and test dependency (pip constraints)."; \
	  echo "# Regenerate after changing pyproject.toml: make lock"; \
	  $(BIN)/python -m pip freeze --all --exclude-editable | grep -v -e '^-e' -e '^pip=='; } > requirements.lock

# Front-end assets, vendored from the npm registry by exact version and committed, so the pages work offline:
# Swagger UI for the API docs page (/schema), the NL Design System CSS of the municipality of Utrecht for the
# console (/console/), and axe-core, which the browser tests inject to check accessibility. `make vendor` fetches
# each package again (npm checks the package's registry integrity) and checks every kept file against the SHA-256
# committed beside it (SHA256SUMS, paths as in the package) before it copies anything.
# Licences: swagger-ui-dist Apache-2.0; @utrecht/component-library-css EUPL-1.2; @utrecht/design-tokens: the
# municipality of Utrecht's own (see its LICENSE.md); axe-core MPL-2.0.
VENDORED := \
	swagger-ui-dist@5.35.0:backend/static/vendor/swagger-ui/5.35.0 \
	@utrecht/component-library-css@9.0.4:backend/static/vendor/utrecht-component-library-css/9.0.4 \
	@utrecht/design-tokens@5.0.1:backend/static/vendor/utrecht-design-tokens/5.0.1 \
	axe-core@4.14.1:tests/vendor/axe-core/4.14.1

vendor:
	@for entry in $(VENDORED); do \
	  package=$${entry%:*}; dir=$(CURDIR)/$${entry##*:}; \
	  tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  npm pack --silent --pack-destination "$$tmp" "$$package" >/dev/null && \
	  tar -xzf "$$tmp"/*.tgz -C "$$tmp" && \
	  (cd "$$tmp/package" && sha256sum --check --strict --quiet "$$dir/SHA256SUMS") && \
	  (cd "$$tmp/package" && cut -d' ' -f3- "$$dir/SHA256SUMS" | xargs cp --parents -t "$$dir") && \
	  rm -rf "$$tmp" && echo "$$package: every file matches SHA256SUMS" || exit 1; \
	done

clean:
	rm -rf $(VENV) build *.egg-info
