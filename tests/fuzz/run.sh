#!/bin/sh
# run.sh SECONDS [TARGET...] - build the libFuzzer targets (Debian clang,
# -fsanitize=fuzzer,address,undefined) and run each for SECONDS.
#
# Targets (tests/fuzz/fuzz_*.c): prototxt, caffemodel, ini, npy, meanfile,
# optimize, template; all of them when none is named.  The library is
# built with clang in $FUZZ_BUILD (default build-fuzz, beside build/); each
# target's corpus grows in $FUZZ_BUILD/corpus/TARGET, seeded from the test
# fixtures and tests/fuzz/seeds/TARGET/.  A crash, leak, sanitizer report or hang
# (10 s per input) stops that target, leaves its reproducer in
# $FUZZ_BUILD/crashes/ and makes the script exit 1; turn the reproducer
# into a tests/hostile/ case.  Reproduce one input with
#   $FUZZ_BUILD/fuzz_TARGET FILE
# (run from the source root: fuzz_caffemodel reads the CIFAR-10 prototxt).
set -eu
[ $# -ge 1 ] || { echo "usage: tests/fuzz/run.sh SECONDS [TARGET...]" >&2; exit 2; }
secs=$1
shift
SRC=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SRC"
B=${FUZZ_BUILD:-build-fuzz}
CC=${FUZZ_CC:-clang}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
targets=${*:-prototxt caffemodel ini npy meanfile optimize template}

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B "$B" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCAFFEOPT_TESTS=OFF -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link $san" >/dev/null
cmake --build "$B" -j "$JOBS" --target caffeopt_lib >/dev/null
# The library's runtime loads OpenBLAS at its first GEMM (dlopen), so
# OpenBLAS is not linked.
libs="$B/libcaffeopt.a $B/libcaffeopt_proto.a $B/libcaffeopt_runtime_lazy.a"
# shellcheck disable=SC2046
for t in $targets; do
	[ -f "tests/fuzz/fuzz_$t.c" ] || { echo "run.sh: no target '$t'" >&2; exit 2; }
	"$CC" -g -O1 -Wall -Wextra -Wshadow -Wstrict-prototypes -fsanitize=fuzzer $san -Isrc -Iinclude -I"$B/proto" \
		-o "$B/fuzz_$t" "tests/fuzz/fuzz_$t.c" $libs \
		$(pkg-config --libs libprotobuf-c inih) -ldl -lpthread -lm
done

# seeds TARGET: the fixtures (and tests/fuzz/seeds/TARGET) it starts from.
seeds() {
	case $1 in
	prototxt) ls tests/malformed/*.prototxt tests/hostile/*.prototxt tests/data/textfmt/*.pbtxt \
		tests/data/textfmt/*.prototxt tests/data/upgrade/*.prototxt tests/data/shape/*.prototxt \
		tests/data/unknown/*.prototxt tests/passes/*/*.prototxt tests/passes/*/*/*.prototxt \
		example-project/model/*.prototxt 2>/dev/null ;;
	caffemodel) ls tests/data/upgrade/*.bin tests/data/textfmt/*.bin 2>/dev/null ;;
	ini) ls tests/data/config/*.ini example-project/config.ini tests/hostile/*.ini 2>/dev/null ;;
	npy) ls tests/data/npy/*.npy tests/hostile/*.npy 2>/dev/null ;;
	meanfile) ls tests/data/npy/*.npy tests/hostile/*.npy tests/hostile/*.binaryproto 2>/dev/null ;;
	template) ls templates/*.in tests/hostile/*.in 2>/dev/null ;;
	esac
	[ -d "tests/fuzz/seeds/$1" ] && ls "tests/fuzz/seeds/$1"/* 2>/dev/null
	return 0
}

mkdir -p "$B/crashes"
bad=0
for t in $targets; do
	corpus="$B/corpus/$t"
	mkdir -p "$corpus"
	seeds "$t" | while read -r f; do cp "$f" "$corpus/seed-$(basename "$f")"; done
	max_len=65536
	[ "$t" = caffemodel ] && max_len=262144
	log="$B/fuzz_$t.log"
	set +e
	CAFFEOPT_FUZZ_PROTOTXT="$SRC/tests/fuzz/seeds/tiny.prototxt" TMPDIR="${TMPDIR:-/tmp}" \
		"$B/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
		-print_final_stats=1 -artifact_prefix="$B/crashes/$t-" "$corpus" >"$log" 2>&1
	rc=$?
	set -e
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -E '^#[0-9]+.*(DONE|pulse|REDUCE|NEW)' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
	if [ "$rc" = 0 ]; then
		echo "fuzz_$t: ok, ${runs:-?} execs in ${secs}s, ${cov:-?}, corpus $(ls "$corpus" | wc -l)"
	else
		echo "fuzz_$t: FAILED (exit $rc), see $log and $B/crashes/$t-*" >&2
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 >&2
		bad=1
	fi
done
exit $bad
