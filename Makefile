# The two commands of the README: `make demo` (set up, run the main job) and `make test`
# (set up, run the tests). Both install what they need on a fresh Debian machine.
PY        ?= python3.11
VENV      ?= .venv
BIN        = $(VENV)/bin
TORCH_PIN  = torch==2.13.0
DEB_PKGS   = fluidsynth fluid-soundfont-gm ffmpeg libsndfile1 chromium
OUT       ?= outputs/demo

.PHONY: setup system-deps demo test test-slow lint bench clean

system-deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(BIN)/resonance: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	# torch first, from the CPU wheel on disk, so that no later resolve pulls a CUDA build
	$(BIN)/pip install -q $(TORCH_PIN)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: system-deps $(BIN)/resonance

demo: setup
	$(BIN)/resonance demo --out $(OUT)

test: setup lint
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check resonance handcrafted attribution studies tests benchmarks
	# the layering contracts of pyproject.toml (tests/test_layering.py runs them too)
	$(BIN)/lint-imports

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

bench: setup
	$(BIN)/python benchmarks/bench_descriptors.py

clean:
	rm -rf outputs .cache
