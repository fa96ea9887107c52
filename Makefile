# The two commands of the README's quick start. Each creates .venv if it is missing
# (or reinstalls when pyproject.toml changed), so a fresh clone needs nothing else.
VENV ?= .venv
PYTHON ?= python3
FY ?= 2021
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: report test lint lab clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

report: $(STAMP)
	$(BIN)/kpi scorecard --as-of $(FY) --format xlsx --out reports/FY$(FY)/scorecard.xlsx
	$(BIN)/kpi scorecard --as-of $(FY) --format csv --out reports/FY$(FY)/scorecard.csv
	$(BIN)/kpi scorecard --as-of $(FY)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

clean-venv:
	rm -rf $(VENV)
