# The README's two commands: `make demo` (sandbox + example fleet + status) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint checkov unit api integration bench clean host-packages

# What the sandbox's real nodes and images need from Debian (docs/sandbox.md, "Real
# nodes"), and the browser the maintenance-page test renders with: installed once when
# missing; needs root, as real nodes do.
HOST_PACKAGES := runc containernetworking-plugins iptables conntrack ipset mmdebstrap umoci chromium
host-packages:
	@missing=$$(for p in $(HOST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The sandbox first, so that lint already reads each environment's Tutor state from it.
demo: $(STAMP) host-packages
	$(BIN)/campus sandbox status >/dev/null 2>&1 || $(BIN)/campus sandbox up --nodes 6 --real-nodes 1
	$(BIN)/campus lint -f examples/fleet.yml
	$(BIN)/campus deploy -f examples/fleet.yml
	$(BIN)/campus status -f examples/fleet.yml
	$(BIN)/campus check acme-prod -f examples/fleet.yml --wait 60

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit

api: $(STAMP)
	$(BIN)/pytest tests/api

integration: $(STAMP) host-packages
	$(BIN)/pytest -m integration tests/integration

# Checkov's Kubernetes checks (CKV_K8S_*) over every rendered environment of the example
# fleet, of the plugin matrix and of the backups' fleet: every finding is fixed or waived
# with a reason on the object (docs/hardening.md, "Peer linter").
CHECKOV_DIR := build/checkov
checkov: $(STAMP)
	rm -rf $(CHECKOV_DIR)
	$(BIN)/campus render -f examples/fleet.yml -o $(CHECKOV_DIR)/example
	$(BIN)/campus render -f tests/fleets/plugins.yml -o $(CHECKOV_DIR)/plugins
	$(BIN)/campus render -f tests/fleets/backups.yml -o $(CHECKOV_DIR)/backups
	$(BIN)/checkov -d $(CHECKOV_DIR) --framework kubernetes --compact --quiet --skip-download

test: lint checkov host-packages
	$(BIN)/pytest tests

# Every benchmark in turn (about 40 minutes); each prints the markdown table for bench/README.md.
bench: $(STAMP)
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build
