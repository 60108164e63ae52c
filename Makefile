# The two README commands.  Everything real lives in CMake (CMakeLists.txt);
# this file only sets up, configures, builds and runs.
#   make demo   - optimize the bundled CIFAR-10 example and print the report
#   make check  - all tests through ctest, then the unit and CLI tests again
#                 under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz   - every libFuzzer target for FUZZ_SECONDS each (clang,
#                 build-fuzz/; tests/fuzz/run.sh)

BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60

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

check-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCAFFEOPT_SANITIZE=ON -DCAFFEOPT_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|cli'

fuzz: setup
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
