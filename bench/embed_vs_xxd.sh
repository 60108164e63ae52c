#!/bin/sh
# embed_vs_xxd.sh - `caffeopt embed --format literal` against `xxd -i` on
# the same file, run alternately so that both see the same load
# (docs/benchmarks.md, "Embedding").
#   sh bench/embed_vs_xxd.sh [MIB] BUILD_DIR...     (default 100; ROUNDS=5)
# Makes the seeded MIB MiB model of bench/embed.sh, then per round runs
# `xxd -i` and each BUILD_DIR's `caffeopt embed -q --mode blob --format
# literal` (e.g. the code before and after a change), each into a fresh
# folder after a `sync`.  Prints per command the median and min wall time,
# the median CPU time (user + sys, GNU time) and the ratio of xxd's median
# to its median; the load average before and after.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
MIB=${1:-100}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- "$SRC/build"
ROUNDS=${ROUNDS:-5}
PYTHON=${PYTHON:-/usr/bin/python3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

first=$(cd "$1" && pwd)/caffeopt
PYTHON="$PYTHON" sh "$SRC/bench/big_model.sh" "$MIB" "$W" "$first"

# t NAME CMD...: time CMD, append "wall cpu" to $W/NAME.
t() {
	name=$1
	shift
	/usr/bin/time -f '%e %U %S' -o "$W/time" "$@" >/dev/null 2>"$W/err" || { echo "failed: $*" >&2; cat "$W/err" >&2; exit 1; }
	awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$W/time" >>"$W/$name"
}
col() { cut -d' ' -f"$2" "$W/$1" | sort -n; }
median() { awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
r=0
while [ $r -lt "$ROUNDS" ]; do
	rm -f "$W/xxd.c"
	sync
	t xxd sh -c "xxd -i '$W/opt.caffemodel' >'$W/xxd.c'"
	rm -f "$W/xxd.c"
	k=0
	for b in "$@"; do
		rm -rf "$W/out"
		sync
		t "embed$k" "$(cd "$b" && pwd)/caffeopt" embed -q -m "$W/opt.prototxt" -w "$W/opt.caffemodel" \
			--name big -o "$W/out" --mode blob --format literal
		k=$((k + 1))
	done
	r=$((r + 1))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| command | wall median (min) s | CPU median s | xxd / it, wall medians |"
echo "|---|---|---|---|"
xm=$(col xxd 1 | median)
echo "| xxd -i | $xm ($(col xxd 1 | head -1)) | $(col xxd 2 | median) | 1 |"
k=0
for b in "$@"; do
	m=$(col "embed$k" 1 | median)
	echo "| $b/caffeopt embed | $m ($(col "embed$k" 1 | head -1)) | $(col "embed$k" 2 | median) | $(awk -v a="$xm" -v b="$m" 'BEGIN { printf "%.1fx", a / b }') |"
	k=$((k + 1))
done
