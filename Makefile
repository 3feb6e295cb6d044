# cstaserver: `make run` starts the demo exchange, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# compat: the twistd plugin in ./twisted/plugins stays found; its deprecation banner is noise
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/twistd -n --pidfile= csta $(ARGS)

# A cluster on this machine (docs/cluster.md): redis-server (installed when missing), one
# exchange process and two front ends on loopback, until Ctrl-C; every process stopped by PID.
.PHONY: cluster
cluster: $(STAMP) redis-deps
	$(BIN)/python -m cstaserver.cluster.launch $(ARGS)

# The cluster (one exchange process, two front ends over redis) against the single process,
# the same XML load in the same run (bench/cluster.py, docs/performance.md "Cluster").
.PHONY: bench-cluster
bench-cluster: $(STAMP) redis-deps
	$(BIN)/python bench/cluster.py $(BENCH_ARGS)

# A shell with .venv/bin first on the PATH: twistd, csta, csta_group, csta-sim ... as the docs
# write them. Leave it with exit (or Ctrl-D).
.PHONY: shell
shell: $(STAMP)
	@echo "cstaserver commands on the PATH ($(CURDIR)/$(BIN)); exit to leave"
	@PATH="$(CURDIR)/$(BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" $${SHELL:-/bin/sh} -i

test: $(STAMP) browser-deps redis-deps shell-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The telnet and OpenSSH clients from the distribution for the admin shell's real-client tests
# (tests/admin/test_admin_terminal.py), installed when missing the same way; without them those
# tests are skipped and say why.
.PHONY: shell-deps
shell-deps:
	@$(call apt_install,telnet ssh,telnet openssh-client,the admin shell tests with real telnet/ssh clients will be skipped)

# Chromium and chromedriver from the distribution for the console's browser tests
# (tests/web/test_console_browser.py), installed when missing: as root (CI) with apt-get, else
# with sudo if it needs no password; otherwise those tests are skipped and say why.
.PHONY: browser-deps
browser-deps:
	@$(call apt_install,chromium chromedriver,chromium chromium-driver,the browser tests will be skipped)

# redis-server from the distribution for the bus tests (tests/bus/), installed when missing the
# same way; without it those tests are skipped and say why. Never started here: the tests start
# their own on a loopback port and stop it by its PID.
.PHONY: redis-deps
redis-deps:
	@$(call apt_install,redis-server,redis-server,the Redis bus tests will be skipped)

# $(call apt_install,COMMANDS,PACKAGES,WHAT HAPPENS WITHOUT): the distribution's PACKAGES when one
# of COMMANDS is missing: as root (CI) with apt-get, else with sudo if it needs no password.
define apt_install
	missing=; for c in $(1); do command -v $$c >/dev/null 2>&1 || missing=yes; done; \
	if [ -z "$$missing" ]; then \
		:; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2); \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2); \
	else \
		echo "$(1) missing and apt-get needs root: $(3)"; \
	fi
endef

# Re-run the transcripts of README.md and docs/ against a fresh server on the default ports
# and compare what they print with the documents (tools/docs_check.py; --list: coverage).
.PHONY: docs-check
docs-check: $(STAMP)
	@$(call apt_install,curl,curl,the API examples cannot be checked)
	$(BIN)/python tools/docs_check.py $(DOCS)

lint: $(STAMP)
	$(BIN)/ruff check cstaserver tests bench twisted tools
	$(BIN)/ruff format --check cstaserver tests bench twisted tools

# Every benchmark side by side with its reference, one table (bench/README.md): writes
# bench/results/<date>.json and .md. BENCH_ARGS passes options (e.g. --full, --only tls,soap).
bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

# TLS vs plain TCP, SOAP vs twisted.web (wrk), memory per device/connection/monitor, 10-minute
# soak (--minutes), session churn (bench/README.md). Not part of `make test`.
.PHONY: bench-tls bench-soap bench-memory bench-soak bench-churn bench-startup
bench-tls: $(STAMP)
	$(BIN)/python bench/tls_load.py $(BENCH_ARGS)

bench-soap: $(STAMP)
	$(BIN)/python bench/soap_load.py $(BENCH_ARGS)

bench-memory: $(STAMP)
	$(BIN)/python bench/memory.py $(BENCH_ARGS)

bench-soak: $(STAMP)
	$(BIN)/python bench/soak.py $(BENCH_ARGS)

bench-churn: $(STAMP)
	$(BIN)/python bench/churn.py $(BENCH_ARGS)

bench-startup: $(STAMP)
	$(BIN)/python bench/startup.py $(BENCH_ARGS)

# A well-behaved client's p99 beside each lock-out and login attack (docs/security.md).
.PHONY: bench-bystander
bench-bystander: $(STAMP)
	$(BIN)/python bench/bystander.py $(BENCH_ARGS)

# docs/conformance.md (+ .json) from a traced run of the test suite (tools/conformance.py).
.PHONY: conformance
conformance: $(STAMP)
	$(BIN)/python tools/conformance.py

# docs/scenarios.md: every ECMA TR/82 clause with the tests that reproduce it, from
# tools/scenarios_map.py (tools/scenarios.py; --check only checks).
.PHONY: scenarios
scenarios: $(STAMP)
	$(BIN)/python tools/scenarios.py

# Benchmarks of the XML port (bench/README.md); not part of `make test`. BENCH_ARGS passes options.
.PHONY: bench-xml bench-fanout
bench-xml: $(STAMP)
	$(BIN)/python bench/xml_load.py compare $(BENCH_ARGS)

bench-fanout: $(STAMP)
	$(BIN)/python bench/fanout.py $(BENCH_ARGS)

# Call centre: 1,000 agents in 10 groups routed by an application over the XML port, 10,000
# monitors, 100 outside calls/s for 60 s; Queued -> agent Delivered latency, nothing lost.
.PHONY: bench-call-centre
bench-call-centre: $(STAMP)
	$(BIN)/python bench/call_centre.py $(BENCH_ARGS)

# The cost of the live event stream (/api/v1/events) and a /metrics scraper: XML-port req/s
# with and without them, 500 calls/s to 10,000 monitors, alternating rounds (bench/README.md).
.PHONY: bench-stream
bench-stream: $(STAMP)
	$(BIN)/python bench/xml_load.py stream $(BENCH_ARGS)

# cProfile of the whole server under the XML, SOAP and TR/87 (UDP, TCP) loads, by layer:
# bench/results/profile-<path>-<date>.txt (bench/README.md). Not part of `make test`.
.PHONY: bench-profile
bench-profile: $(STAMP)
	$(BIN)/python bench/profiling.py $(BENCH_ARGS)

# TR/87 with SIPp against ours and a stateless Kamailio (bench/tr87/README.md); installs
# sip-tester and kamailio with apt-get when missing. Not part of `make test`.
.PHONY: bench-tr87
bench-tr87: $(STAMP)
	$(BIN)/python bench/tr87/run.py $(BENCH_ARGS)

# Long hypothesis run of the hardening properties (bench/fuzz.py: >= 100,000 cases); not part
# of `make test`, which runs the same properties briefly. FUZZ_ARGS passes options.
.PHONY: fuzz
fuzz: $(STAMP)
	$(BIN)/python bench/fuzz.py $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
