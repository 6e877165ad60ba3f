# Set-up is automatic: each target creates .venv and installs the project when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed
TORCH_STAMP := $(VENV)/.torch-installed
# The torch extra's tests (tests/test_frameworks.py, test_torch_guard.py, test_torch_training.py)
# run when PyTorch is installed;
# `make torch` installs this release (a CPU build; an unpinned torch pulls a CUDA one of several GB).
TORCH  ?= torch==2.13.0

# The documentation site: warnings are errors. Material's notice about its own
# future is not a warning about these pages.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

.PHONY: demo test slow-test docs lint bench suites clean torch

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The docs extra (MkDocs, Material, mkdocstrings), on top of the dev install.
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,docs]'
	touch $(DOCS_STAMP)

# PyTorch on top of the dev install, for the tests of operators written in torch.
$(TORCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet '$(TORCH)'
	touch $(TORCH_STAMP)

torch: $(TORCH_STAMP)

demo: $(STAMP)
	$(BIN)/axiomcheck
	$(BIN)/axiomcheck dynamics --demo -o reports

# Two workers: CI has two cores (pytest-xdist is in the dev extra). Every test but the
# ones marked slow, then the documentation build.
test: $(STAMP) $(DOCS_STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow"
	$(MKDOCS)

# The tests marked slow: those that build the package and install it into fresh
# environments, compile the PyTorch weight guard with torch.compile, or run the
# published suite at two more seeds. CI (.ci/run) runs them after `make test`.
slow-test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m slow

docs: $(DOCS_STAMP)
	$(MKDOCS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/kd_kernel.py
	$(BIN)/python benchmarks/kd_fused_linear.py
	$(BIN)/python benchmarks/weight_guard.py
	@if $(BIN)/python -c "import torch" 2>/dev/null; then $(BIN)/python benchmarks/torch_guard.py --compile; \
	else echo "benchmarks/torch_guard.py skipped: PyTorch is not installed (make torch)"; fi
	$(BIN)/python benchmarks/certify.py

# The built-in suites are edited in axiomcheck/suites/builtin/ (they ship in the
# package); conformance_suites/ holds the same files for `make demo`, pytest and CI.
suites:
	cp axiomcheck/suites/builtin/*.toml conformance_suites/

clean:
	rm -rf $(VENV) .hypothesis site build dist *.egg-info reports/*.json reports/*.xml reports/*.md reports/*.html
