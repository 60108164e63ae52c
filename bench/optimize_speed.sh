#!/bin/sh
# optimize_speed.sh - `caffeopt optimize` on a ResNet-152-sized caffemodel
# against `cp` of the same file and Google's protobuf Python parsing and
# re-serializing it (docs/benchmarks.md, "optimize: I/O speed and memory").
#   sh bench/optimize_speed.sh [BUILD_DIR]
# Environment: ROUNDS (default 7), WORK (a folder on the disk to measure;
# default $TMPDIR or /tmp), CAFFEOPT (default BUILD_DIR/caffeopt), PYTHON
# (default /usr/bin/python3: numpy and google.protobuf), PROTOC.
# Prints a Markdown table: median and min wall time over the rounds, the
# largest peak RSS (/usr/bin/time -v's "Maximum resident set size"), and
# ratios of medians.  Every output is removed and `sync` runs before each
# command, outside the timing, so no command pays for another's writeback.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
CAFFEOPT=${CAFFEOPT:-$BUILD/caffeopt}
PYTHON=${PYTHON:-/usr/bin/python3}
ROUNDS=${ROUNDS:-7}
W=$(mktemp -d "${WORK:-${TMPDIR:-/tmp}}/caffeopt-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

# The architecture: the generator must give ResNet-50 byte for byte, and
# the ResNet-152 kept in bench/.
"$PYTHON" "$SRC/bench/resnet_prototxt.py" 50 | cmp -s - "$SRC/tests/data/arch/resnet50_deploy.prototxt" ||
	{ echo "resnet_prototxt.py 50 differs from resnet50_deploy.prototxt" >&2; exit 1; }
"$PYTHON" "$SRC/bench/resnet_prototxt.py" 152 | cmp -s - "$SRC/bench/resnet152_deploy.prototxt" ||
	{ echo "resnet_prototxt.py 152 differs from bench/resnet152_deploy.prototxt" >&2; exit 1; }
cp "$SRC/bench/resnet152_deploy.prototxt" "$W/r152.prototxt"
"$PYTHON" "$SRC/tests/oracle/genweights.py" "$W/r152.prototxt" "$W/r152.caffemodel" \
	--seed 1 --pb-dir "$W/pb" >/dev/null
IN=$W/r152.caffemodel
SIZE=$(wc -c <"$IN")

OPT="optimize -q -m $W/r152.prototxt -w $IN -o $W/out.prototxt -W $W/out.caffemodel"
names="cp cp_fsync optimize optimize_nofsync disable_all disable_all_nofsync python_protobuf"
cmd_of() {
	case $1 in
	cp) echo "cp $IN $W/out.caffemodel" ;;
	cp_fsync) echo "sh -c 'cp $IN $W/out.caffemodel && sync $W/out.caffemodel'" ;;
	optimize) echo "$CAFFEOPT $OPT" ;;
	optimize_nofsync) echo "$CAFFEOPT $OPT --no-fsync" ;;
	disable_all) echo "$CAFFEOPT $OPT --disable all" ;;
	disable_all_nofsync) echo "$CAFFEOPT $OPT --disable all --no-fsync" ;;
	python_protobuf) echo "$PYTHON $SRC/bench/pb_roundtrip.py $W/pb $IN $W/out.caffemodel" ;;
	esac
}

# Warm the page cache with the input (every command reads it from there).
cat "$IN" >/dev/null
LOAD0=$(uptime | sed 's/.*load/load/')
: >"$W/times"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	for n in $names; do
		rm -f "$W/out.prototxt" "$W/out.caffemodel"
		sync
		s=$(date +%s%N)
		eval "/usr/bin/time -f %M -o $W/rss $(cmd_of $n)" 2>"$W/err" >/dev/null ||
			{ echo "$n failed:" >&2; cat "$W/err" >&2; exit 1; }
		e=$(date +%s%N)
		echo "$n $(( (e - s) / 1000 )) $(tail -1 "$W/rss")" >>"$W/times"
	done
done

echo "ResNet-152 caffemodel: $SIZE bytes; $ROUNDS rounds; $(nproc) cores"
echo "$LOAD0 (before the rounds); $(uptime | sed 's/.*load/load/') (after)"
echo "$(sed -n 's/protobuf backend: /python protobuf backend: /p' "$W/err" | head -1)"
echo
for n in $names; do echo "$n: $(cmd_of "$n" | sed "s|$W|\$W|g; s|$SRC|\$SRC|g")"; done
echo
echo "| command | wall median (min) s | peak RSS MB | RSS / file | median / cp | median / cp+fsync |"
echo "|---|---|---|---|---|---|"
awk -v size="$SIZE" -v order="$names" '
{ t[$1] = t[$1] " " $2; if ($3 > rss[$1]) rss[$1] = $3 }
function median(s,   a, n, i, j, x) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
	mn = a[1]
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
	k = split(order, names, " ")
	for (i = 1; i <= k; i++) { med[names[i]] = median(t[names[i]]); lo[names[i]] = mn }
	for (i = 1; i <= k; i++) {
		n = names[i]
		printf "| %s | %.3f (%.3f) | %.1f | %.2f | %.2fx | %.2fx |\n", n, med[n] / 1e6, lo[n] / 1e6,
			rss[n] / 1024, rss[n] * 1024 / size, med[n] / med["cp"], med[n] / med["cp_fsync"]
	}
	printf "\npython protobuf / optimize (medians): %.1fx; / optimize --disable all: %.1fx\n",
		med["python_protobuf"] / med["optimize"], med["python_protobuf"] / med["disable_all"]
}' "$W/times"
