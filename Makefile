# Two commands do all the set-up on a fresh machine (Python 3.11):
#   make demo   install, build hybrid_s, train a small spec on the built-in digits, export it to ONNX
#   make test   install, then run the whole test suite
#   make test-fast   the unit tests only (tests/unit: in-process, no subprocess; see tests/README.md)
# CPU torch by default. On a CUDA machine:  make demo TORCH=torch
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0+cpu
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.spachc-installed

.PHONY: install demo test test-fast clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)" $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/spachc build hybrid_s
	rm -rf runs/demo_digits
	$(BIN)/spachc train benchmarks/digits_small.spach --data digits --recipe quick --epochs 15 \
		--batch-size 32 --lr 3e-3 --warmup-epochs 1 --out runs/demo_digits
	$(BIN)/spachc export runs/demo_digits --onnx runs/demo_digits/digits.onnx

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q tests/unit

clean:
	rm -rf $(VENV) .pytest_cache build dist
