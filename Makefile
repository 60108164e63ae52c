# The two README commands.  Everything real lives in CMake (CMakeLists.txt);
# this file only sets up, configures, builds and runs.
#   make demo   - optimize the bundled CIFAR-10 example and print the report
#   make check  - all tests through ctest; then the suite again under
#                 AddressSanitizer + UndefinedBehaviorSanitizer (all but
#                 the valgrind test); then every libFuzzer target for
#                 CHECK_FUZZ_SECONDS (5) so regressions show
#   make fuzz   - every libFuzzer target for FUZZ_SECONDS each (clang,
#                 build-fuzz/; tests/fuzz/run.sh)

BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60
CHECK_FUZZ_SECONDS ?= 5

.PHONY: all setup build demo check check-asan fuzz clean

all: build

setup:
	@sh scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAFFEOPT_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@mkdir -p $(BUILD)/demo
	$(BUILD)/caffeopt optimize --config example-project/config.ini \
		-o $(BUILD)/demo/opt_deploy.prototxt -W $(BUILD)/demo/opt_cifar10.caffemodel \
		--deploy --report $(BUILD)/demo/report.json

check: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)

check-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCAFFEOPT_SANITIZE=ON -DCAFFEOPT_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -E '^robust[.]valgrind$$'

fuzz: setup
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# make bench: every table of docs/benchmarks.md, printed (figures only:
# nothing fails when a number moves).  BENCH_QUICK=1 for a short run (one
# round each, a 16 MiB model to embed, no brace-list compiles);
# BENCH_EMBED_MIB sets that size.
BENCH_QUICK ?=
BENCH_EMBED_MIB ?= $(if $(BENCH_QUICK),16,100)
BENCH_ROUNDS = $(if $(BENCH_QUICK),1,3)

.PHONY: bench
bench: build
	sh bench/run.sh $(BUILD)
	ROUNDS=$(if $(BENCH_QUICK),1,11) sh bench/optimize_speed.sh $(BUILD)
	ROUNDS=$(BENCH_ROUNDS) $(if $(BENCH_QUICK),BRACE=no) sh bench/embed.sh $(BUILD) $(BENCH_EMBED_MIB)
	ROUNDS=$(BENCH_ROUNDS) sh bench/scale.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
