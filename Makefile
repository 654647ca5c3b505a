# Two commands: `make run` (the default study) and `make test` (the test suite).
# Both create .venv from the pinned dependencies when it is missing or out of date.

VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all
CONFIG ?= config/config.yaml
export PATH := $(BIN):$(PATH)

.PHONY: run test report lint dryrun clean-results

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first: the pinned CPU wheel; anything else would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	snakemake --cores $(CORES) --configfile $(CONFIG)
	snakemake --cores 1 --configfile $(CONFIG) --report results/report.html

report: $(STAMP)
	snakemake --cores 1 --configfile $(CONFIG) --report results/report.html

test: $(STAMP)
	python -m pytest

lint: $(STAMP)
	ruff check src tests scripts benchmarks
	snakemake --lint

dryrun: $(STAMP)
	snakemake -n --configfile $(CONFIG)
	snakemake -n --configfile $(CONFIG) --profile profiles/slurm

clean-results:
	rm -rf results/*/ results/report.html
