# Thin wrapper over Meson so the README's Quick start is two commands on a
# fresh Debian 12 machine: `make demo` and `make check`. Both install missing
# Debian packages first (scripts/install-deps.sh).

BUILD ?= build
MESON ?= meson

.PHONY: all deps build demo check bench bench-replication bench-masking bench-endpoints bench-postgres clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	@scripts/install-deps.sh
	$(MESON) setup $(BUILD) >/dev/null

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD)

demo: build
	@examples/demo.sh $(BUILD)/doppel

check: deps
	@tests/run-all.sh

bench: build
	@DOPPEL=$(abspath $(BUILD))/doppel bench/startup

bench-replication: build
	@DOPPEL=$(abspath $(BUILD))/doppel bench/replication

bench-masking: build
	@DOPPEL=$(abspath $(BUILD))/doppel bench/masking

bench-endpoints: build
	@DOPPEL=$(abspath $(BUILD))/doppel bench/endpoints

bench-postgres: build
	@DOPPEL=$(abspath $(BUILD))/doppel bench/postgres

clean:
	rm -rf $(BUILD) build-asan
