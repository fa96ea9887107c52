# The two commands of the README's quick start. Each creates .venv if it is missing
# (or reinstalls when pyproject.toml changed), so a fresh clone needs nothing else.
VENV ?= .venv
PYTHON ?= python3
FY ?= 2024
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: report test lint lab clean-venv bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name kpi --display-name "kpi (効果検証)" >/dev/null
	@touch $(STAMP)

report: $(STAMP)
	$(BIN)/kpi report --fiscal-year $(FY)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest tests notebooks --nbval-lax --nbval-current-env

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

lint: $(STAMP)
	$(BIN)/ruff check .

clean-venv:
	rm -rf $(VENV)

bench: $(STAMP)
	$(BIN)/kpi bench forecast
	$(BIN)/kpi bench report
