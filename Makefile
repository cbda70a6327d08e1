# DeliveryTracker: `make run` sets up and runs the stack with the sample data; `make test` runs every test.
PYTHON ?= /usr/bin/python3
# The browser test needs Playwright (PyPI): the python that pip installs into.
WEBPYTHON ?= python3
DATA ?= ./data

.PHONY: deps build run stop test compose-check bench fuzz install install-check python-client-test

deps:
	@pkg-config --exists libzmq && $(PYTHON) -c 'import zmq, yaml' 2>/dev/null && command -v promtool docker-compose >/dev/null || { \
	  echo "installing libzmq3-dev, python3-zmq, python3-yaml, pkg-config, prometheus and docker-compose (apt)"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libzmq3-dev python3-zmq python3-yaml pkg-config prometheus docker-compose; }
	@command -v kubernetes-validate >/dev/null || { echo "installing kubernetes-validate (PyPI)"; pip install -q kubernetes-validate; }
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "installing postgresql (apt), for the PostgreSQL log's tests"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); $$SUDO apt-get install -y -qq postgresql; }
	@$(WEBPYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "installing python3-venv (apt), for the Python package's tests"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); $$SUDO apt-get install -y -qq python3-venv; }
	@command -v chromium >/dev/null || { echo "installing chromium (apt), for the page's browser test"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); $$SUDO apt-get install -y -qq chromium; }
	@$(WEBPYTHON) -c 'import playwright' 2>/dev/null || { echo "installing playwright (PyPI), for the page's browser test"; pip install -q playwright; }
	@command -v dockerd >/dev/null && command -v debootstrap >/dev/null || { echo "installing docker.io and debootstrap (apt), for the compose and swarm tests"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); $$SUDO apt-get install -y -qq docker.io debootstrap; }

build: deps
	swift build

# Starts ingest, aggregate and query on PROTOCOL.md's default ports with state under ./data,
# loads the sample, answers a query, then shows live updates until Ctrl-C.
run: build
	@scripts/run-demo "$(DATA)"

stop:
	@for f in $(DATA)/run/*.pid; do [ -f "$$f" ] && kill -TERM $$(cat "$$f") 2>/dev/null; rm -f "$$f"; done; true

# The tests run against the release build by default: the one `make install`, the images and the
# benchmark ship (an optimizer crash once passed every debug test unseen), and one build instead of
# two. TEST_CONFIG=debug runs them against the debug build.
TEST_CONFIG ?= release
TEST_BIN = "$$(swift build -c $(TEST_CONFIG) --show-bin-path)"
test: deps
	swift build -c $(TEST_CONFIG)
	swift test -c $(TEST_CONFIG)$(if $(filter release,$(TEST_CONFIG)), --disable-testable-imports)
	$(PYTHON) system-tests/protocol_client.py --bin $(TEST_BIN)
	$(MAKE) python-client-test
	$(PYTHON) system-tests/topology_test.py --bin $(TEST_BIN)
	$(PYTHON) system-tests/wire_fuzz.py --bin $(TEST_BIN)
	$(PYTHON) system-tests/curve_test.py --bin $(TEST_BIN)
	$(PYTHON) system-tests/hardening_test.py --bin $(TEST_BIN)
	$(PYTHON) system-tests/hostile_test.py --bin $(TEST_BIN)
	$(PYTHON) system-tests/link_test.py --bin $(TEST_BIN)
	$(PYTHON) system-tests/migration_test.py --bin $(TEST_BIN)
	$(PYTHON) system-tests/determinism_test.py --bin $(TEST_BIN)
	$(PYTHON) system-tests/facts_test.py --bin $(TEST_BIN)
	$(PYTHON) system-tests/metrics_test.py --bin $(TEST_BIN)
	$(PYTHON) system-tests/manifests_test.py
	$(PYTHON) system-tests/postgres_test.py --bin $(TEST_BIN)
	$(WEBPYTHON) system-tests/web_test.py --bin $(TEST_BIN)
	$(PYTHON) system-tests/docker_test.py --bin $(TEST_BIN)

# The Python package (clients/python) installed from this clone into a virtual environment, with
# pandas, and its pytest suite against the built executables.
PYVENV ?= .build/python-venv
python-client-test:
	@test -x $(PYVENV)/bin/python || $(WEBPYTHON) -m venv $(PYVENV)
	$(PYVENV)/bin/pip install -q "./clients/python[test]"
	DELIVERY_BIN=$(TEST_BIN) $(PYVENV)/bin/python -m pytest -q clients/python/tests

compose-check:
	docker-compose -f deploy/docker-compose.yml config -q
	docker-compose -f deploy/docker-compose.yml -f deploy/docker-compose.scaled.yml config -q
	docker-compose -f deploy/docker-compose.yml -f deploy/docker-compose.postgres.yml config -q
	INGEST_PUBLIC_KEY=check AGGREGATE_PUBLIC_KEY=check docker-compose -f deploy/docker-compose.yml -f deploy/docker-compose.curve.yml config -q

# The benchmark (release build): prints a table, then one line of JSON. SECONDS=1 for a quick run.
SECONDS ?= 2
bench:
	swift build -c release
	"$$(swift build -c release --show-bin-path)/delivery-bench" --seconds $(SECONDS)

# The libFuzzer target for FUZZ_SECONDS (default 60).
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz $(FUZZ_SECONDS)

# Installs the executables, the man pages and shell completions under PREFIX (default /usr/local;
# DESTDIR for staging). CONFIG=debug installs the debug build.
PREFIX ?= /usr/local
CONFIG ?= release
MAN_PAGES = delivery-ingest delivery-aggregate delivery-query delivery-web deliveries
install:
	swift build -c $(CONFIG) $(SWIFT_BUILD_FLAGS)
	swift package --allow-writing-to-package-directory generate-manual >/dev/null
	@bin="$$(swift build -c $(CONFIG) $(SWIFT_BUILD_FLAGS) --show-bin-path)"; root="$(DESTDIR)$(PREFIX)"; \
	install -d "$$root/bin" "$$root/share/man/man1" "$$root/share/bash-completion/completions" \
	  "$$root/share/zsh/site-functions" "$$root/share/fish/vendor_completions.d" && \
	for exe in $(MAN_PAGES); do install -m 755 "$$bin/$$exe" "$$root/bin/"; done && \
	for page in $(MAN_PAGES); do install -m 644 .build/plugins/GenerateManual/outputs/*/$$page.1 "$$root/share/man/man1/"; done && \
	"$$bin/deliveries" --generate-completion-script bash > "$$root/share/bash-completion/completions/deliveries" && \
	"$$bin/deliveries" --generate-completion-script zsh > "$$root/share/zsh/site-functions/_deliveries" && \
	"$$bin/deliveries" --generate-completion-script fish > "$$root/share/fish/vendor_completions.d/deliveries.fish" && \
	echo "installed under $$root: bin/ ($(MAN_PAGES)), share/man/man1/, bash, zsh and fish completions"

# Installs into a temporary prefix and checks what a user gets (CI runs it).
install-check:
	@$(PYTHON) system-tests/install_test.py
