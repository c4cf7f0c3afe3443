# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,tableau]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/analytics-assets demo $(ARGS)

test: $(STAMP)
	$(BIN)/pytest $(ARGS)

clean:
	rm -rf $(VENV) .data
