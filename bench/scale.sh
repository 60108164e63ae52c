#!/bin/sh
# scale.sh - the build modules over many models, serial and parallel: the
# "scale" figures of docs/benchmarks.md, from a build tree.
#   sh bench/scale.sh [BUILD_DIR] [MODELS]     (default: build, 8)
#   ROUNDS=N (default 3; medians)   JOBS="1 2" (the -j values)   BUILDERS="make ninja"
# Makes an example-style tree of MODELS copies of example-project's
# CIFAR-10 model (m1 .. mN, each its own model/, data/mean.npy and
# config.ini), declared once each with the Make module (make/) and with the
# CMake module (cmake/CaffeoptModel.cmake, Ninja generator): --deploy,
# embedded in weights mode, literal format, each model's sources compiled
# (gcc -O2) into a static library.  Every build runs the tool through a
# wrapper that logs which model it ran for and when it started and ended,
# so the table can say how many times the tool ran, for how many distinct
# models, and how many runs overlapped.  Per builder and -j: a clean build,
# ROUNDS times (medians of wall and CPU time; CPU is user + sys of the
# builder and everything it ran, from GNU time), then a no-op rebuild and a
# rebuild after touching one model's caffemodel (tool runs: 0 and 1).
# Prints Markdown; uses a scratch folder it removes.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
NMODELS=${2:-8}
ROUNDS=${ROUNDS:-3}
JOBS=${JOBS:-1 2}
BUILDERS=${BUILDERS:-make ninja}
CAFFEOPT=$(cd "$BUILD" && pwd)/caffeopt
[ -x "$CAFFEOPT" ] || { echo "scale.sh: no $CAFFEOPT (build first)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
EX=$SRC/example-project

# The tree: m1 .. mN.
models=""
i=1
while [ $i -le "$NMODELS" ]; do
	mkdir -p "$W/tree/m$i/model" "$W/tree/m$i/data"
	cp "$EX/model/train_val.prototxt" "$EX/model/cifar10.caffemodel" "$W/tree/m$i/model/"
	cp "$EX/data/mean.npy" "$W/tree/m$i/data/"
	cp "$EX/config.ini" "$W/tree/m$i/"
	chmod u+w "$W/tree/m$i/model/"*
	models="$models m$i"
	i=$((i + 1))
done

# The tool, through a wrapper: one line per run, "NAME START_NS END_NS".
LOG=$W/runs.log
cat >"$W/caffeopt" <<EOF
#!/bin/sh
name=?
prev=
for a in "\$@"; do
	[ "\$prev" = --name ] && name=\$a
	prev=\$a
done
s=\$(date +%s%N)
"$CAFFEOPT" "\$@"
rc=\$?
echo "\$name \$s \$(date +%s%N)" >>"$LOG"
exit \$rc
EOF
chmod +x "$W/caffeopt"

# The Make project.
{
	echo "CAFFEOPT := $W/caffeopt"
	echo "CAFFEOPT_OUTDIR := out/gen"
	echo "include $SRC/make/caffeopt-config.mk"
	for m in $models; do
		echo "\$(eval \$(call caffeopt_model,$m,$m/model/train_val.prototxt,$m/model/cifar10.caffemodel,$m/config.ini,--deploy --mode weights))"
	done
	echo "include $SRC/make/caffeopt-rules.mk"
	cat <<'EOF'
OBJS := $(foreach m,$(CAFFEOPT_MODELS),$(patsubst %.c,%.o,$(filter %.c,$($(m)_SRCS))))
all: out/libmodels.a
out/libmodels.a: $(OBJS)
	@ar rcs $@ $^
$(CAFFEOPT_OUTDIR)/%.o: $(CAFFEOPT_OUTDIR)/%.c
	@$(CC) -O2 -c $< -o $@
EOF
} >"$W/tree/Makefile"

# The CMake project.
{
	echo "cmake_minimum_required(VERSION 3.20)"
	echo "project(scale LANGUAGES C)"
	echo "include($SRC/cmake/CaffeoptModel.cmake)"
	for m in $models; do
		echo "add_optimized_caffe_model($m PROTOTXT $m/model/train_val.prototxt WEIGHTS $m/model/cifar10.caffemodel CONFIG $m/config.ini DEPLOY EMBED weights)"
	done
} >"$W/tree/CMakeLists.txt"
if echo "$BUILDERS" | grep -q ninja; then
	cmake -S "$W/tree" -B "$W/tree/nb" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE=-O2 \
		-DCAFFEOPT_EXECUTABLE="$W/caffeopt" >"$W/cmake.log" 2>&1 || { cat "$W/cmake.log" >&2; exit 1; }
fi

# build BUILDER JOBS: one build; prints "wall cpu".
build() {
	case $1 in
	make) /usr/bin/time -f '%e %U %S' -o "$W/time" make -s -C "$W/tree" -j"$2" >"$W/out" 2>&1 ;;
	ninja) /usr/bin/time -f '%e %U %S' -o "$W/time" ninja -C "$W/tree/nb" -j"$2" >"$W/out" 2>&1 ;;
	esac || { echo "scale.sh: $1 -j$2 failed:" >&2; cat "$W/out" >&2; exit 1; }
	awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$W/time"
}
clean() {
	case $1 in
	make) rm -rf "$W/tree/out" ;;
	ninja) ninja -C "$W/tree/nb" -t clean >/dev/null ;;
	esac
}
# The tool runs logged after line $1: "runs models most-at-once
# seconds-with-2+ seconds-busy" (busy: the runs' durations summed).
runs() {
	tail -n +"$(($1 + 1))" "$LOG" >"$W/new"
	n=$(wc -l <"$W/new")
	m=$(awk '{ print $1 }' "$W/new" | sort -u | wc -l)
	busy=$(awk '{ b += ($3 - $2) / 1e9 } END { printf "%.2f", b }' "$W/new")
	# Sweep the starts (+1) and ends (-1) in time order, ends first on ties.
	awk '{ print $2, 1; print $3, -1 }' "$W/new" | sort -k1,1n -k2,2n |
		awk -v n="$n" -v m="$m" -v busy="$busy" '
			{ if (cur >= 2) over += ($1 - last) / 1e9
			  cur += $2; last = $1; if (cur > mx) mx = cur }
			END { printf "%d %d %d %.2f %s\n", n, m, mx, over, busy }'
}
lines() { [ -f "$LOG" ] && wc -l <"$LOG" || echo 0; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "### $NMODELS models, Make module and CMake module (Ninja) ($(nproc) cores; $(uptime | sed 's/.*load/load/'))"
echo
echo "| builder | -j | wall s | CPU s | CPU / wall | tool runs | models | most runs at once | s with 2+ runs | tool busy s | no-op rebuild: runs | one model touched: runs |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
: >"$LOG"
for b in $BUILDERS; do
	for j in $JOBS; do
		: >"$W/walls"
		: >"$W/cpus"
		r=0
		while [ $r -lt "$ROUNDS" ]; do
			clean $b
			l0=$(lines)
			set -- $(build $b $j)
			echo "$1" >>"$W/walls"
			echo "$2" >>"$W/cpus"
			runs "$l0" >"$W/runs"
			r=$((r + 1))
		done
		wall=$(median <"$W/walls")
		cpu=$(median <"$W/cpus")
		set -- $(cat "$W/runs")  # the last clean build's tool runs
		nr=$1 nm=$2 mx=$3 ov=$4 busy=$5
		l0=$(lines)
		build $b $j >/dev/null
		noop=$(($(lines) - l0))
		touch "$W/tree/m3/model/cifar10.caffemodel"
		l0=$(lines)
		build $b $j >/dev/null
		one=$(($(lines) - l0))
		who=$(tail -n +"$((l0 + 1))" "$LOG" | awk '{ printf "%s%s", s, $1; s = "," }')
		echo "| $b | $j | $wall | $cpu | $(awk -v c="$cpu" -v w="$wall" 'BEGIN { printf "%.2f", c / w }') | $nr | $nm | $mx | $ov | $busy | $noop | $one ($who) |"
	done
done
