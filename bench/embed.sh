#!/bin/sh
# embed.sh - the embedding figures of docs/benchmarks.md, from a build tree.
#   sh bench/embed.sh [BUILD_DIR] [MIB]      (default: build, 100)
#   MODES="blob" FORMATS="literal incbin" XXD=no sh bench/embed.sh ...   a subset
# Makes a seeded model of one InnerProduct layer holding MIB MiB of float32
# weights, optimizes it, then for each mode and format times `caffeopt
# embed` against `xxd -i`, and the compile (gcc -O2 -c, and clang for the
# literal and incbin formats) of what each wrote: wall time and peak memory
# (GNU time's maximum resident set of the compiler).  Prints a Markdown
# table; takes 15-20 minutes and about 15 GB of memory for 100 MiB (the
# brace lists).  Uses /usr/bin/python3 with numpy and a scratch folder it
# removes.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
MIB=${2:-100}
CAFFEOPT=$BUILD/caffeopt
PYTHON=${PYTHON:-/usr/bin/python3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# N x N weights: N = sqrt(MIB MiB / 4), a multiple of 64.
N=$("$PYTHON" -c "import math; print(int(math.sqrt($MIB * 1048576 / 4)) // 64 * 64)")
cat >"$W/big.prototxt" <<EOF
name: "big"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: $N } } }
layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: $N } }
EOF
# The caffemodel, encoded by hand (NetParameter.layer = 100, LayerParameter
# name 1, type 2, blobs 7; BlobProto shape 7, data 5 packed).
"$PYTHON" - "$N" "$W/big.caffemodel" <<'EOF'
import sys, numpy as np
n = int(sys.argv[1])
def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)
def field(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload
def blob(shape, data):
    dims = b''.join(varint(d) for d in shape)
    return field(7, field(1, dims)) + field(5, data.astype('<f4').tobytes())
rng = np.random.default_rng(1)
w = rng.standard_normal(n * n, dtype=np.float32) * np.float32(0.01)
b = rng.standard_normal(n, dtype=np.float32)
layer = field(1, b'fc') + field(2, b'InnerProduct') + field(7, blob([n, n], w)) + field(7, blob([n], b))
open(sys.argv[2], 'wb').write(field(100, layer))
EOF
"$CAFFEOPT" optimize -q --disable all -m "$W/big.prototxt" -w "$W/big.caffemodel" -o "$W/opt.prototxt" -W "$W/opt.caffemodel"
SIZE=$(wc -c <"$W/opt.caffemodel")

# t LABEL CMD...: run CMD, print "seconds peak-MiB" (GNU time).
t() {
	label=$1
	shift
	/usr/bin/time -f '%e %M' -o "$W/time" "$@" >/dev/null 2>"$W/err" || { echo "$label failed:" >&2; cat "$W/err" >&2; echo "- -"; return; }
	awk '{ printf "%.2f %.0f\n", $1, $2 / 1024 }' "$W/time"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }

echo "### Embedding a $(mib "$SIZE") MiB caffemodel ($N x $N InnerProduct; $(nproc) cores, $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion) / clang $(clang -dumpversion 2>/dev/null || echo -))"
echo
echo "| mode | format | emit s | emit peak MiB | source MiB | gcc -O2 -c s | gcc peak MiB | clang -O2 -c s | clang peak MiB |"
echo "|---|---|---|---|---|---|---|---|---|"

if [ "${XXD:-yes}" != no ]; then
	set -- $(t xxd sh -c "xxd -i '$W/opt.caffemodel' >'$W/xxd.c'")
	xe=$1 xm=$2
	set -- $(t xxd-gcc gcc -O2 -c "$W/xxd.c" -o "$W/xxd.o")
	echo "| (xxd -i) | brace list | $xe | $xm | $(mib "$(wc -c <"$W/xxd.c")") | $1 | $2 | | |"
	rm -f "$W/xxd.c" "$W/xxd.o"
fi

for mode in ${MODES:-blob weights}; do
	for fmt in ${FORMATS:-literal array incbin}; do
		D="$W/$mode-$fmt"
		set -- $(t embed "$CAFFEOPT" embed -q -m "$W/opt.prototxt" -w "$W/opt.caffemodel" --name big -o "$D" \
			--mode $mode --format $fmt)
		ee=$1 em=$2
		src="$D/big.c"
		[ $fmt = incbin ] && src="$D/big.S"
		bytes=$(cat "$D"/big.c "$D"/big.S 2>/dev/null | wc -c)
		set -- $(t gcc gcc -O2 -I"$D" -c "$src" -o "$D/x.o")
		ge=$1 gm=$2
		ce="" cm=""
		if [ $fmt != array ] && command -v clang >/dev/null; then
			set -- $(t clang clang -O2 -I"$D" -c "$src" -o "$D/y.o")
			ce=$1 cm=$2
		fi
		echo "| $mode | $fmt | $ee | $em | $(mib "$bytes") | $ge | $gm | $ce | $cm |"
		rm -rf "$D"
	done
done
