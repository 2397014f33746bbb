# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install the pinned
# dependencies (requirements.lock) when needed; nothing is downloaded at run or test time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench openapi lock vendor clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/toezicht hint
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

# Front-end assets of the API docs page (/schema), vendored from the npm registry by exact version and committed,
# so the page works offline. `make vendor` fetches them again (npm checks the package's registry integrity) and
# checks every kept file against the SHA-256 committed beside it (SHA256SUMS) before it copies anything.
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI_DIR := backend/static/vendor/swagger-ui/$(SWAGGER_UI_VERSION)
SWAGGER_UI_FILES := swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png LICENSE NOTICE

vendor:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	npm pack --silent --pack-destination "$$tmp" swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && \
	tar -xzf "$$tmp/swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz" -C "$$tmp" && \
	(cd "$$tmp/package" && sha256sum --check --strict --quiet "$(CURDIR)/$(SWAGGER_UI_DIR)/SHA256SUMS") && \
	for file in $(SWAGGER_UI_FILES); do cp "$$tmp/package/$$file" $(SWAGGER_UI_DIR)/; done && \
	echo "swagger-ui-dist@$(SWAGGER_UI_VERSION): $(SWAGGER_UI_FILES) match SHA256SUMS"

clean:
	rm -rf $(VENV) build *.egg-info
