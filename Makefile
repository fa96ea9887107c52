# The two commands of the README's quick start. Each creates .venv if it is missing
# (or reinstalls when pyproject.toml changed), so a fresh clone needs nothing else.
VENV ?= .venv
PYTHON ?= python3
FY ?= 2024
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help report test lint lab clean-venv bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name kpi --display-name "kpi (効果検証)" >/dev/null
	@touch $(STAMP)

report: $(STAMP)  ## build the annual report on the bundled data (FY=2024)
	$(BIN)/kpi report --fiscal-year $(FY)

test: $(STAMP)  ## format check, ruff, type check, every test and the notebooks (what CI runs)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest tests notebooks --nbval-lax --nbval-current-env

lab: $(STAMP)  ## JupyterLab on notebooks/ with the kpi kernel
	$(BIN)/jupyter lab --notebook-dir=notebooks

lint: $(STAMP)  ## ruff format check, lint and type check
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

clean-venv:  ## remove .venv
	rm -rf $(VENV)

bench: $(STAMP)  ## the benchmarks: forecasts, report (bundled and full data)
	$(BIN)/kpi bench forecast
	$(BIN)/kpi bench report
	$(BIN)/kpi bench report --full
