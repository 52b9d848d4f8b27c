# lptrig: the one entry point.  `make demo` builds everything and runs the
# demo; `make test` builds everything and runs the tests.  Every target
# installs what it needs first (make deps), so a fresh Debian 12 machine
# needs nothing else.

SHELL := /bin/bash
PYTHON := /usr/bin/python3
LPTRIG_CACHE ?= $(HOME)/.cache/lptrig
export LPTRIG_CACHE
PYTEST_ARGS ?= -n auto
# make test SHARD=i/N: slice i of N of the suite (lptrig.pytest_plugin),
# so N machines split it; scripts/junit-merge.py merges their JUnit XML
SHARD ?=
ifneq ($(SHARD),)
ifeq ($(shell echo '$(SHARD)' | awk -F/ '/^[1-9][0-9]*\/[1-9][0-9]*$$/ && $$1 <= $$2 {print "ok"}'),)
$(error SHARD=$(SHARD): write it as I/N with 1 <= I <= N, e.g. SHARD=2/3)
endif
endif
JUNIT_DIR := $(LPTRIG_CACHE)/junit
JUNIT := $(JUNIT_DIR)/lptrig$(if $(SHARD),-shard-$(subst /,-of-,$(SHARD))).xml
ARGS ?=
# a command prefix for installing packages beside QEMU's build (make all)
BG ?=

# Reliability variants (docs/reliability.md):
#   SANITIZE=1  QEMU built with ASan + UBSan (its own build tree); make test
#               fails on any sanitizer report
#   DEBUG=1     the debug guest kernel (lockdep, KASAN, KFENCE, kmemleak,
#               UBSAN, hung tasks) and its image; make test boots that
SANITIZE ?=
DEBUG ?=
FUZZ_SECONDS ?= 600
SOAK_SECONDS ?= 600
QEMU_FLAGS :=
ifeq ($(SANITIZE),1)
QEMU_FLAGS := --sanitize
export LPTRIG_QEMU := $(LPTRIG_CACHE)/qemu/qemu-system-x86_64-san
export LPTRIG_SANITIZE := 1
endif
ifeq ($(DEBUG),1)
export LPTRIG_DEBUG := 1
export LPTRIG_IMAGE := debug
endif

LPTRIG := PYTHONPATH=$(CURDIR)/harness $(PYTHON) -m lptrig

.PHONY: all deps qemu-deps test-deps qemu image rt-image trinity demo run test bench faults fuzz soak clean distclean

# The image's packages install while QEMU builds (after the packages QEMU's
# build needs), at a lower CPU priority so that they fill the core QEMU's
# download and configure leave idle without slowing its compile; then the
# image.  (The image's build beside QEMU's at nice 19 starved on a loaded
# host; at nice 0 it slowed QEMU's compile by as much as it saved.)
all:
	@$(MAKE) --no-print-directory -j2 qemu deps BG="nice -n 10"
	@$(MAKE) --no-print-directory image

# what make, make demo and make run need; make test adds test-deps
deps: qemu-deps
	@$(BG) bash scripts/deps.sh $(if $(filter 1,$(DEBUG)),debug)

# what building QEMU needs, and nothing else
qemu-deps:
	@bash scripts/deps.sh qemu

# pytest, the RT guest's headers, trace readers, trinity, LAVA's schema and
# dispatcher (tests/lava runs LAVA's lava-run)
test-deps: deps
	@bash scripts/deps.sh test lava $(if $(filter 1,$(DEBUG)),debug)

qemu: qemu-deps
	@bash qemu-device/build.sh $(QEMU_FLAGS)

# lptrig's guest image (the debug kernel's with DEBUG=1)
image: deps
	@bash images/build.sh

# the RT guest (images/rt/: a foreign guest for tests/guest/test_rt_guest.py)
rt-image: test-deps image
	@bash images/rt/build.sh

demo: all
	@bash scripts/demo.sh

# make run ARGS="--chain printer@end -- cat /proc/parport/0/hardware"
run: all
	@$(LPTRIG) run $(ARGS)

# JUnit XML to $(JUNIT) (each test's result directory is its lptrig_logs
# property); the slowest 15 tests are listed at the end.  Guests come from
# snapshots (docs/rig.md "Snapshot boot"; LPTRIG_SNAPSHOTS=0 boots each cold).
test: all test-deps rt-image trinity
	@mkdir -p $(JUNIT_DIR)
	PYTHONPATH=$(CURDIR)/harness $(PYTHON) -m pytest $(PYTEST_ARGS) --durations=15 \
		$(if $(SHARD),--lptrig-shard=$(SHARD)) --junitxml=$(JUNIT) tests

# trinity at a pinned commit with lpt1284.ko's ioctl group (tests/soak)
trinity: deps
	@bash third_party/trinity/build.sh >/dev/null

# Every benchmark runs even when one fails; make fails if any did.
bench: all rt-image
	rc=0; for b in throughput driver boot; do \
		PYTHONPATH=$(CURDIR)/harness $(PYTHON) bench/$$b.py || rc=1; done; exit $$rc

# QEMU's generic-fuzz over isa-lpt1284 with libFuzzer for FUZZ_SECONDS
# (scripts/fuzz.sh; corpus and crashes in $(LPTRIG_CACHE)/fuzz).
fuzz: deps
	@bash scripts/deps.sh fuzz
	@bash scripts/fuzz.sh $(FUZZ_SECONDS)

# lptctl stress with 16 processes on the debug kernel for SOAK_SECONDS, host
# faults toggled, then trinity on /dev/lpt0* for as long (tests/soak/; make
# test runs the same tests for 10 s each).
soak:
	$(MAKE) test-deps image qemu trinity DEBUG=1
	LPTRIG_DEBUG=1 LPTRIG_IMAGE=debug LPTRIG_SOAK_SECONDS=$(SOAK_SECONDS) \
		LPTRIG_TRINITY_SECONDS=$(SOAK_SECONDS) \
		PYTHONPATH=$(CURDIR)/harness $(PYTHON) -m pytest -p no:xdist -p no:cacheprovider -s -q \
		tests/soak

# The fault matrix (tests/faults/test_matrix.py), its table on the terminal
faults: all test-deps
	PYTHONPATH=$(CURDIR)/harness $(PYTHON) -m pytest -p no:xdist -p no:cacheprovider -s -q \
		tests/faults/test_matrix.py tests/faults/test_matrix_linux.py

# Drop what the build generated; keep the downloaded packages and sources.
clean:
	rm -rf $(LPTRIG_CACHE)/images $(LPTRIG_CACHE)/qemu/build-* $(LPTRIG_CACHE)/qemu/optionrom \
		$(LPTRIG_CACHE)/parport-fifo/build $(LPTRIG_CACHE)/parport-fifo/stamp \
		$(LPTRIG_CACHE)/guest-driver $(LPTRIG_CACHE)/guest-driver-debug \
		$(LPTRIG_CACHE)/guest-driver-rt $(LPTRIG_CACHE)/progs \
		$(LPTRIG_CACHE)/parport-fifo-debug $(LPTRIG_CACHE)/debug-kernel/build \
		$(LPTRIG_CACHE)/debug-kernel/root $(LPTRIG_CACHE)/debug-kernel/stamp

distclean:
	rm -rf $(LPTRIG_CACHE)
