#!/bin/sh
# embed.sh - the embedding figures of docs/benchmarks.md, from a build tree.
#   sh bench/embed.sh [BUILD_DIR] [MIB]      (default: build, 100)
#   ROUNDS=N        emit and compile each N times, medians (default 3)
#   BRACE=yes|no    compile the brace lists (xxd -i, array) too: minutes and
#                   ~125 bytes of compiler memory per byte (12 GiB at 100 MiB);
#                   default yes up to 16 MiB, no above (their emit is timed
#                   either way)
#   COMPILE=no      time the emit only
#   MODES="blob" FORMATS="literal incbin" XXD=no    a subset
# Makes a seeded model of one InnerProduct layer holding MIB MiB of float32
# weights, optimizes it, then for each mode and format times `caffeopt
# embed` against `xxd -i`, and the compile (gcc -O2 -c, and clang for the
# literal and incbin formats) of what each wrote: wall time, CPU time (user
# + sys) and peak memory (GNU time's maximum resident set of the compiler).
# It checks that every round wrote the same bytes and that a program linked
# with the compiled data reads back exactly the model's bytes (blob) or
# weight pool (weights).  The load average is printed with each row: the
# machine may be shared.  Prints a Markdown table.  Uses /usr/bin/python3
# with numpy and a scratch folder it removes.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
MIB=${2:-100}
ROUNDS=${ROUNDS:-3}
BRACE=${BRACE:-$([ "$MIB" -le 16 ] && echo yes || echo no)}
COMPILE=${COMPILE:-yes}
CAFFEOPT=$BUILD/caffeopt
PYTHON=${PYTHON:-/usr/bin/python3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

PYTHON="$PYTHON" sh "$SRC/bench/big_model.sh" "$MIB" "$W" "$CAFFEOPT"
N=$(sed -n "s/.*num_output: \([0-9]*\).*/\1/p" "$W/big.prototxt")
SIZE=$(wc -c <"$W/opt.caffemodel")
# The weight pool as embed lays it out, to check what weights-mode programs read.
"$CAFFEOPT" embed -q -m "$W/opt.prototxt" -w "$W/opt.caffemodel" --name big -o "$W/ref" --mode weights --format incbin

# Programs that write what they link.
cat >"$W/dump_blob.c" <<'EOF'
#include <stdio.h>
#include "big.h"
int main(void) { return fwrite(big_caffemodel, 1, big_caffemodel_size, stdout) != big_caffemodel_size; }
EOF
cat >"$W/dump_weights.c" <<'EOF'
#include <stdio.h>
#include "big.h"
int main(void) { return fwrite(big_weight_data, sizeof(float), BIG_WEIGHT_FLOATS, stdout) != BIG_WEIGHT_FLOATS; }
EOF

# t CMD...: run CMD; append "wall cpu peak-MiB" (GNU time) to $W/t.
t() {
	/usr/bin/time -f '%e %U %S %M' -o "$W/time" "$@" >/dev/null 2>"$W/err" || { echo "failed: $*" >&2; cat "$W/err" >&2; exit 1; }
	awk '{ printf "%.2f %.2f %.0f\n", $1, $2 + $3, $4 / 1024 }' "$W/time" >>"$W/t"
}
# rounds CMD...: t CMD, ROUNDS times.
rounds() {
	_r=0
	while [ $_r -lt "$ROUNDS" ]; do
		t "$@"
		_r=$((_r + 1))
	done
}
# med: "median-wall median-cpu max-peak" of the runs in $W/t, then empties it.
med() {
	m1() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
	echo "$(cut -d' ' -f1 "$W/t" | m1) $(cut -d' ' -f2 "$W/t" | m1) $(cut -d' ' -f3 "$W/t" | sort -n | tail -1)"
	: >"$W/t"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
: >"$W/t"

echo "### Embedding a $(mib "$SIZE") MiB caffemodel ($N x $N InnerProduct; $(nproc) cores, gcc $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion) / clang $(clang -dumpversion 2>/dev/null || echo -); $ROUNDS rounds, medians)"
echo
echo "| mode | format | emit s | emit CPU s | emit peak MiB | source MiB | gcc -O2 -c s | gcc CPU s | gcc peak MiB | clang -O2 -c s | clang peak MiB | linked bytes | load (1, 5, 15 min) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"

if [ "${XXD:-yes}" != no ]; then
	l=$(load)
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		rm -f "$W/xxd.c"
		sync
		t sh -c "xxd -i '$W/opt.caffemodel' >'$W/xxd.c'"
		r=$((r + 1))
	done
	set -- $(med)
	x="$1 | $2 | $3 | $(mib "$(wc -c <"$W/xxd.c")")"
	if [ "$BRACE" = yes ] && [ "$COMPILE" = yes ]; then
		t gcc -O2 -c "$W/xxd.c" -o "$W/xxd.o"
		set -- $(med)
		x="$x | $1 | $2 | $3"
	else
		x="$x | (BRACE=yes) | | "
	fi
	echo "| (xxd -i) | brace list | $x | | | | $l |"
	rm -f "$W/xxd.c" "$W/xxd.o"
fi

for mode in ${MODES:-blob weights}; do
	for fmt in ${FORMATS:-literal array incbin}; do
		D="$W/$mode-$fmt"
		l=$(load)
		# Emit ROUNDS times into fresh folders; every round must give the same bytes.
		same=yes
		r=0
		while [ $r -lt "$ROUNDS" ]; do
			rm -rf "$D"
			sync
			t "$CAFFEOPT" embed -q -m "$W/opt.prototxt" -w "$W/opt.caffemodel" --name big -o "$D" \
				--mode $mode --format $fmt
			if [ $r = 0 ]; then
				rm -rf "$D.first"
				mv "$D" "$D.first"
				cp -a "$D.first" "$D"
			else
				diff -r "$D" "$D.first" >/dev/null || same="DIFFERENT bytes between rounds"
			fi
			r=$((r + 1))
		done
		rm -rf "$D.first"
		set -- $(med)
		row="$1 | $2 | $3"
		src="$D/big.c"
		[ $fmt = incbin ] && src="$D/big.S"
		row="$row | $(mib "$(cat "$D"/big.c "$D"/big.S 2>/dev/null | wc -c)")"
		if [ "$COMPILE" != yes ] || { [ $fmt = array ] && [ "$BRACE" != yes ]; }; then
			skip=""
			[ "$COMPILE" = yes ] && skip="(BRACE=yes)"
			row="$row | $skip | | | | "
			check="not compiled"
		else
			rounds gcc -O2 -I"$D" -c "$src" -o "$D/x.o"
			set -- $(med)
			row="$row | $1 | $2 | $3"
			ce="" cm=""
			if [ $fmt != array ] && command -v clang >/dev/null; then
				rounds clang -O2 -I"$D" -c "$src" -o "$D/y.o"
				set -- $(med)
				ce=$1 cm=$3
			fi
			row="$row | $ce | $cm"
			# Link what gcc made (and, for incbin weights, the tables of big.c).
			objs="$D/x.o"
			[ -f "$D/big.c" ] && [ $fmt = incbin ] && { gcc -O2 -I"$D" -c "$D/big.c" -o "$D/tables.o"; objs="$objs $D/tables.o"; }
			gcc -O2 -I"$D" "$W/dump_$mode.c" $objs -o "$D/dump"
			"$D/dump" >"$D/got"
			ref="$W/opt.caffemodel"
			[ $mode = weights ] && ref="$W/ref/big.weights"
			check="DIFFERENT"
			cmp -s "$D/got" "$ref" && check="same as the model"
		fi
		[ "$same" = yes ] || check="$check; $same"
		echo "| $mode | $fmt | $row | $check | $l |"
		rm -rf "$D"
	done
done
