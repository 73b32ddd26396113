# edgeai.inference — the two commands are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
PYTEST_ARGS ?=

.PHONY: help setup demo test lab-up lab-down lab-status lint ruff ansible-lint sanity \
        unit integration molecule bench build clean

help:
	@echo "make demo       set up, bring the lab up, run the stack, show an inference answer"
	@echo "make test       set up, bring the lab up, run the gates and every test"
	@echo "make setup | lab-up | lab-down | lab-status | lint | sanity | bench | build"

setup:
	@bash lab/setup.sh

lab-up: setup
	@bash lab/lab.sh up

lab-down:
	@bash lab/lab.sh down

lab-status:
	@bash lab/lab.sh status

demo: lab-up
	@bash lab/demo.sh

ruff: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ansible-lint: setup
	$(BIN)/ansible-lint --profile production

sanity: setup
	@bash tests/sanity/run.sh

lint: ruff ansible-lint sanity

unit: setup
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: lab-up
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

molecule: lab-up
	@bash tests/molecule.sh

# lab-up first (its time in the closing table), then every gate even when an earlier one
# fails; the exit status says whether any failed.
test: setup
	@bash tests/run-all.sh

bench: lab-up
	@bash bench/run.sh

build: setup
	$(BIN)/ansible-galaxy collection build --force --output-path .lab/build .

clean: lab-down
	rm -rf .lab .collections
