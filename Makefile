# Two commands do all setup on a fresh Linux machine with Python 3.11:
#   make run    install, ingest what needs no model (first run: about a minute), serve the API; the dense
#               vectors (~10 min on 2 idle cores, ONNX backend; README) build in the background, progress in /readyz and
#               `casepilot status`
#   make test   install with test extras, run the test suite
# `make ingest` builds everything in the foreground instead (with progress).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# torch must be the CPU build: a bare `torch` requirement pulls a multi-GB CUDA build.
# Where the wheel is not on local disk, set TORCH_PIP_ARGS="--index-url <PyTorch CPU wheel index>".
TORCH_PIP_ARGS ?=
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run ingest serve test test-fast bench bench-first-run clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0 $(TORCH_PIP_ARGS)
	$(BIN)/python -m pip install -q -e '.[test,files,llm]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

ingest: install
	$(BIN)/casepilot ingest

# Stage 1 (code store, notes, BM25) in the foreground, then serve; `serve` builds the missing vectors
# in a background process and resumes an interrupted build.
run: install
	$(BIN)/casepilot ingest --lexical-only
	$(BIN)/casepilot serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not server and not browser"

bench: install
	$(BIN)/python benchmarks/bench_foundation.py

# From an empty data directory: time to the first lookup, the first description search and full readiness.
bench-first-run: install
	$(BIN)/python benchmarks/bench_first_run.py

clean:
	rm -rf $(VENV) .casepilot
