# The two commands of the README's quick start. Each makes .venv if it is missing (or on a Python
# older than 3.11: tools/ensure_venv.sh) and installs what its target needs, again whenever
# pyproject.toml changed: `make report` the package, `make test` the test tools too.
VENV ?= .venv
PYTHON ?= python3
FY ?= 2024
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# pip prints what it fetches (the first install takes a few minutes and about 0.9 GB)
PIP := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar off
# JupyterLab refuses to start as root unless told; the notebooks name the kernel `kpi`
LAB_FLAGS := --notebook-dir=notebooks --MappingKernelManager.default_kernel_name=kpi \
	$(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help report test lint lab clean-venv bench venv

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

venv:  ## make .venv (Python 3.11+), or make it anew when its Python is too old
	@sh tools/ensure_venv.sh $(VENV) $(PYTHON)

$(STAMP): pyproject.toml
	@sh tools/ensure_venv.sh $(VENV) $(PYTHON)
	@echo "kpi: installing kpi and its dependencies into $(VENV) (first time: a few minutes)"
	$(PIP) --upgrade pip
	$(PIP) -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name kpi --display-name "kpi (効果検証)" >/dev/null
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	@echo "kpi: installing the test tools into $(VENV)"
	$(PIP) -e '.[test]'
	@touch $(TEST_STAMP)

report: $(STAMP)  ## build the annual report on the bundled data (FY=2024)
	$(BIN)/kpi report --fiscal-year $(FY)

test: $(TEST_STAMP)  ## format check, ruff, type check, every test and the notebooks (what CI runs)
	@echo "kpi: format, lint and type checks, then every test on two workers, then the timed ones alone"
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest tests notebooks --nbval-lax --nbval-current-env -n 2 --dist loadfile -m "not serial" --durations=10
	$(BIN)/pytest tests -m serial

lab: $(STAMP)  ## JupyterLab on notebooks/ with the kpi kernel
	$(BIN)/jupyter lab $(LAB_FLAGS)

lint: $(TEST_STAMP)  ## ruff format check, lint and type check
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

clean-venv:  ## remove .venv
	rm -rf $(VENV)

bench: $(STAMP)  ## the benchmarks: forecasts, report (bundled and full data)
	$(BIN)/kpi bench forecast
	$(BIN)/kpi bench report
	$(BIN)/kpi bench report --full
