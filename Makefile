# cstaserver: `make run` starts the demo exchange, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/twistd -n --pidfile= csta $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check cstaserver tests bench twisted
	$(BIN)/ruff format --check cstaserver tests bench twisted

bench: $(STAMP)
	$(BIN)/python bench/bench_exchange.py

# Benchmarks of the XML port (bench/README.md); not part of `make test`. BENCH_ARGS passes options.
.PHONY: bench-xml bench-fanout
bench-xml: $(STAMP)
	$(BIN)/python bench/xml_load.py compare $(BENCH_ARGS)

bench-fanout: $(STAMP)
	$(BIN)/python bench/fanout.py $(BENCH_ARGS)

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
