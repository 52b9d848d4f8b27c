# lptrig: the one entry point.  `make demo` builds everything and runs the
# demo; `make test` builds everything and runs the tests.  Every target
# installs what it needs first (make deps), so a fresh Debian 12 machine
# needs nothing else.

SHELL := /bin/bash
PYTHON := /usr/bin/python3
LPTRIG_CACHE ?= $(HOME)/.cache/lptrig
export LPTRIG_CACHE
PYTEST_ARGS ?= -n auto
ARGS ?=

LPTRIG := PYTHONPATH=$(CURDIR)/harness $(PYTHON) -m lptrig

.PHONY: all deps qemu image demo run test bench faults clean distclean

all: qemu image

deps:
	@bash scripts/deps.sh

qemu: deps
	@bash qemu-device/build.sh

image: deps
	@bash images/build.sh

demo: all
	@bash scripts/demo.sh

# make run ARGS="--chain printer@end -- cat /proc/parport/0/hardware"
run: all
	@$(LPTRIG) run $(ARGS)

test: all
	PYTHONPATH=$(CURDIR)/harness $(PYTHON) -m pytest $(PYTEST_ARGS) tests

# Both benchmarks run even when the first fails; make fails if either did.
bench: all
	PYTHONPATH=$(CURDIR)/harness $(PYTHON) bench/throughput.py; rc=$$?; \
	PYTHONPATH=$(CURDIR)/harness $(PYTHON) bench/driver.py && exit $$rc

# The fault matrix (tests/faults/test_matrix.py), its table on the terminal
faults: all
	PYTHONPATH=$(CURDIR)/harness $(PYTHON) -m pytest -p no:xdist -p no:cacheprovider -s -q \
		tests/faults/test_matrix.py tests/faults/test_matrix_linux.py

# Drop what the build generated; keep the downloaded packages and sources.
clean:
	rm -rf $(LPTRIG_CACHE)/images $(LPTRIG_CACHE)/qemu/build-* \
		$(LPTRIG_CACHE)/parport-fifo/build $(LPTRIG_CACHE)/parport-fifo/stamp \
		$(LPTRIG_CACHE)/guest-driver $(LPTRIG_CACHE)/progs

distclean:
	rm -rf $(LPTRIG_CACHE)
