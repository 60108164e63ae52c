#!/bin/sh
# run.sh - the engine's benchmarks of docs/benchmarks.md, from a build tree.
#   sh bench/run.sh [BUILD_DIR]        (default: build)
# Writes its tables to stdout; takes a few minutes.  Uses /usr/bin/python3
# (cv2, numpy, google.protobuf) and a scratch folder it removes.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
CAFFEOPT=$BUILD/caffeopt
PYTHON=${PYTHON:-/usr/bin/python3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
ARCH=$SRC/tests/data/arch
EX=$SRC/example-project

for n in resnet50 mobilenet_v1; do
	"$PYTHON" "$SRC/tests/oracle/genweights.py" "$ARCH/${n}_deploy.prototxt" "$W/$n.caffemodel" \
		--seed 1 --pb-dir "$W/pb" >/dev/null
done

echo "## caffeopt vs OpenCV DNN ($(nproc) cores; $(uptime | sed 's/.*load/load/'))"
echo
"$PYTHON" "$SRC/bench/engine_vs_opencv.py" --caffeopt "$CAFFEOPT" --work "$W" --runs 20 \
	resnet50="$ARCH/resnet50_deploy.prototxt:$W/resnet50.caffemodel" \
	mobilenet_v1="$ARCH/mobilenet_v1_deploy.prototxt:$W/mobilenet_v1.caffemodel"

echo
echo "## original vs optimized, in caffeopt's engine (1 thread)"
echo
"$CAFFEOPT" optimize -q -m "$EX/model/train_val.prototxt" -w "$EX/model/cifar10.caffemodel" \
	--disable all --deploy --input-shape 1,3,32,32 -o "$W/cifar10.prototxt" -W "$W/cifar10.caffemodel"
"$CAFFEOPT" optimize -q -m "$EX/model/train_val.prototxt" -w "$EX/model/cifar10.caffemodel" \
	--deploy --input-shape 1,3,32,32 -o "$W/cifar10_opt.prototxt" -W "$W/cifar10_opt.caffemodel"
for n in resnet50 mobilenet_v1; do
	cp "$ARCH/${n}_deploy.prototxt" "$W/$n.prototxt"
	"$CAFFEOPT" optimize -q -m "$W/$n.prototxt" -w "$W/$n.caffemodel" \
		-o "$W/${n}_opt.prototxt" -W "$W/${n}_opt.caffemodel"
done
echo "| net | original median (min) ms | optimized median (min) ms | speed-up | layers before / after |"
echo "|---|---|---|---|---|"
for n in cifar10 resnet50 mobilenet_v1; do
	runs=20
	[ $n = cifar10 ] && runs=500
	"$CAFFEOPT" bench -m "$W/$n.prototxt" -w "$W/$n.caffemodel" \
		-M "$W/${n}_opt.prototxt" -W "$W/${n}_opt.caffemodel" --runs $runs >"$W/b.txt"
	a=$(grep -m1 "forward" "$W/b.txt" | sed 's/.*median \([0-9.]*\) ms, min \([0-9.]*\) ms/\1 (\2)/')
	b=$(grep "forward" "$W/b.txt" | sed -n 2p | sed 's/.*median \([0-9.]*\) ms, min \([0-9.]*\) ms/\1 (\2)/')
	r=$(grep "ratio" "$W/b.txt" | sed 's/.*median \([0-9.]*x\).*/\1/')
	la=$(grep -c "^layer" "$W/$n.prototxt" || true)
	lb=$(grep -c "^layer" "$W/${n}_opt.prototxt" || true)
	echo "| $n | $a | $b | $r | $la / $lb |"
done
