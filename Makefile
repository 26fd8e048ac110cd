# twoface — the two commands in the README are `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo demo-models test lint bench web detector clean

install: $(STAMP)

# torch is pinned first so that pip keeps this machine's CPU build instead of resolving a CUDA one
# (the package itself accepts any torch>=2.2, e.g. a CUDA build already on a GPU machine).
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/twoface demo -o demo_out

# The web app's browser tests drive Debian's chromium with chromium-driver; install them when
# this machine can (root, Debian mirrors reachable), else those tests skip and say why.
test: $(STAMP)
	-@command -v chromedriver >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get \
	  >/dev/null 2>&1 && apt-get update -qq >/dev/null 2>&1 && \
	  apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; } || \
	  echo "note: chromium-driver not installed: the web app's browser tests will be skipped"
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/extract.py

# The local web app on http://127.0.0.1:8000/ (workspace: ./twoface_web).
web: $(STAMP)
	$(BIN)/twoface web

# Retrain the shipped default detector (needs ../shared): the real people of liveportrait/ and
# public_domain_portraits/ plus twoface's synthetic people, five leave-identities-out folds
# that calibrate it per video, then the fairness check (about 90 min on a 2-core CPU; finished
# steps are skipped on a rerun). Writes src/twoface/models/detectors/default.
detector: $(STAMP)
	$(BIN)/python bench/detect_default.py all

# Retrain the demo's pretrained models exactly (swap alice <-> bob, the motion model, the GAN),
# on twoface's own synthetic people only; about an hour on 2 idle CPU cores (finished stages are
# skipped on a rerun). Writes src/twoface/models/demo with its MODEL_CARD.md.
demo-models: $(STAMP)
	$(BIN)/python -m twoface.demo.pretrained --work runs/demo_models

clean:
	rm -rf $(VENV) demo_out .pytest_cache
