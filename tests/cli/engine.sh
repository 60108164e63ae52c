# engine.sh - caffeopt's engine against OpenCV DNN on the CIFAR-10 model,
# ResNet-50 and MobileNet v1 (random weights) and one small net per layer
# type and option (tests/engine/); then run, verify and bench on the CLI.
. "$SRC/tests/cli/lib.sh"
: "${PYTHON:?}"
ORACLE="$SRC/tests/oracle"
PB="$SCRATCH/pb"
export CAFFEOPT

# oracle NAME PROTOTXT CAFFEMODEL [engine_vs_opencv options]
oracle() {
	name=$1
	shift
	if ! "$PYTHON" "$ORACLE/engine_vs_opencv.py" --caffeopt "$CAFFEOPT" --pb-dir "$PB" \
		--work "$SCRATCH/$name" "$@" >"$SCRATCH/$name.log" 2>&1; then
		fail "engine differs from OpenCV on $name"
		sed 's/^/  /' "$SCRATCH/$name.log" >&2
	else
		sed "s/^/$name: /" "$SCRATCH/$name.log"
	fi
}

# genweights PROTOTXT OUT: seeded random weights
genweights() {
	gen="$ORACLE/genweights.py"
	case $1 in *ssd*) gen="$ORACLE/genweights_ssd.py" ;; esac
	"$PYTHON" "$gen" "$1" "$2" --seed 7 --pb-dir "$PB" >/dev/null || fail "genweights $1"
}

# The CIFAR-10 example in deploy form, its trained weights.
D="$SCRATCH/cifar.prototxt"
DW="$SCRATCH/cifar.caffemodel"
expect_exit 0 "$CAFFEOPT" optimize -q -m "$EX/model/train_val.prototxt" -w "$EX/model/cifar10.caffemodel" \
	--disable all --deploy --input-shape 1,3,32,32 -o "$D" -W "$DW"
oracle cifar10 --samples 3 "$D" "$DW"

# ResNet-50 and MobileNet v1 with random weights; the logits too.
genweights "$DATA/arch/resnet50_deploy.prototxt" "$SCRATCH/resnet50.caffemodel"
oracle resnet50 --layer fc1000 "$DATA/arch/resnet50_deploy.prototxt" "$SCRATCH/resnet50.caffemodel"
genweights "$DATA/arch/mobilenet_v1_deploy.prototxt" "$SCRATCH/mobilenet_v1.caffemodel"
oracle mobilenet_v1 --layer fc7 "$DATA/arch/mobilenet_v1_deploy.prototxt" "$SCRATCH/mobilenet_v1.caffemodel"

# One net per layer type and option.
for p in "$SRC"/tests/engine/*.prototxt; do
	n=$(basename "$p" .prototxt)
	genweights "$p" "$SCRATCH/$n.caffemodel"
	extra=""
	[ "$n" = ssd ] && extra="--layer mbox_loc --layer mbox_conf_flatten --layer mbox_priorbox --layer conv1_norm"
	# shellcheck disable=SC2086
	oracle "$n" $extra "$p" "$SCRATCH/$n.caffemodel"
done

# --- run ---
X="$SCRATCH/cifar10/in0_data.npy"
expect_exit 0 "$CAFFEOPT" run -q -m "$D" -w "$DW" --input "$X" -o "$SCRATCH/y.npy"
[ -s "$SCRATCH/y.npy" ] || fail "run -o wrote nothing"
expect_exit 0 "$CAFFEOPT" run -m "$D" -w "$DW" --input "data=$X"
grep -q "ip2_scale *1x10 " "$SCRATCH/out" || fail "run without -o prints no summary of ip2_scale"
# --blob: an inner blob, and only what it needs runs
expect_exit 0 "$CAFFEOPT" run -q -m "$D" -w "$DW" --input "$X" --blob pool2 --blob ip2_scale \
	--output-dir "$SCRATCH/blobs"
[ -s "$SCRATCH/blobs/pool2.npy" ] && [ -s "$SCRATCH/blobs/ip2_scale.npy" ] || fail "run --blob wrote no pool2/ip2_scale"
"$PYTHON" - "$SCRATCH/blobs/pool2.npy" "$SCRATCH/y.npy" "$SCRATCH/blobs/ip2_scale.npy" <<'EOF' || fail "run --blob shapes or values"
import sys, numpy as np
p, y, y2 = (np.load(f) for f in sys.argv[1:])
assert p.shape == (1, 32, 14, 14), p.shape
assert np.array_equal(y, y2)
EOF
expect_exit 2 "$CAFFEOPT" run -m "$D" -w "$DW" --input "$X" --blob pool2 --blob conv1 -o "$SCRATCH/two.npy"
expect_error "no blob named 'nope'" "$CAFFEOPT" run -m "$D" -w "$DW" --input "$X" --blob nope
"$PYTHON" -c "import numpy as np; np.save('$SCRATCH/bad.npy', np.zeros((1, 3, 31, 32), np.float32))"
expect_error "does not fit input 'data' of shape 1x3x32x32" "$CAFFEOPT" run -m "$D" -w "$DW" --input "$SCRATCH/bad.npy"
"$PYTHON" -c "import numpy as np; np.save('$SCRATCH/u8.npy', np.full((3, 32, 32), 7, np.uint8))"
expect_exit 0 "$CAFFEOPT" run -q -m "$D" -w "$DW" --input "$SCRATCH/u8.npy" -o "$SCRATCH/y8.npy"
expect_error "a data layer cannot run in the engine" "$CAFFEOPT" run -m "$EX/model/train_val.prototxt" \
	-w "$EX/model/cifar10.caffemodel" --input "$X"
cat >"$SCRATCH/exp.prototxt" <<'EOF'
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 } } }
layer { name: "e" type: "Exp" bottom: "data" top: "e" }
EOF
expect_error "layer 'e' (Exp): the engine cannot run layers of type 'Exp'" "$CAFFEOPT" run -m "$SCRATCH/exp.prototxt"
expect_error "(no caffemodel given)" "$CAFFEOPT" run -m "$D" --input "$X"

# --- verify ---
# The optimizer's result (its default passes) computes what the original does.
expect_exit 0 "$CAFFEOPT" optimize -q -m "$EX/model/train_val.prototxt" -w "$EX/model/cifar10.caffemodel" \
	--deploy --input-shape 1,3,32,32 -o "$SCRATCH/opt.prototxt" -W "$SCRATCH/opt.caffemodel"
expect_exit 0 "$CAFFEOPT" verify -m "$D" -w "$DW" -M "$SCRATCH/opt.prototxt" -W "$SCRATCH/opt.caffemodel" \
	--input "$X" --samples 4
grep -q "ip2_scale .* ok$" "$SCRATCH/out" || fail "verify prints no line for ip2_scale"
# One weight changed: verify must catch it.
"$PYTHON" - "$PB" "$DW" "$SCRATCH/bad.caffemodel" <<'EOF' || fail "corrupting the model"
import sys
sys.path.insert(0, sys.argv[1])
import caffe_pb2
net = caffe_pb2.NetParameter()
net.ParseFromString(open(sys.argv[2], "rb").read())
conv2 = [l for l in net.layer if l.name == "conv2"][0]
conv2.blobs[0].data[0] += 0.05
open(sys.argv[3], "wb").write(net.SerializeToString())
EOF
expect_exit 1 "$CAFFEOPT" verify -m "$D" -w "$DW" -M "$D" -W "$SCRATCH/bad.caffemodel"
grep -q "FAIL" "$SCRATCH/out" || fail "verify of a corrupted model prints no FAIL"
grep -q "differs" "$SCRATCH/err" || fail "verify of a corrupted model says nothing on stderr"
# The input fold: B takes raw pixels, A the preprocessed input.
if "$CAFFEOPT" optimize --help | grep -q fold-input; then
	expect_exit 0 "$CAFFEOPT" optimize -q -m "$D" -w "$DW" --enable fold-input --mean 104,117,123 \
		--input-scale 0.017 -o "$SCRATCH/fold.prototxt" -W "$SCRATCH/fold.caffemodel"
	expect_exit 0 "$CAFFEOPT" verify -m "$D" -w "$DW" -M "$SCRATCH/fold.prototxt" -W "$SCRATCH/fold.caffemodel" \
		--mean 104,117,123 --input-scale 0.017
	expect_exit 1 "$CAFFEOPT" verify -m "$D" -w "$DW" -M "$SCRATCH/fold.prototxt" -W "$SCRATCH/fold.caffemodel"
fi
expect_exit 2 "$CAFFEOPT" verify -m "$D" -w "$DW"
expect_exit 2 "$CAFFEOPT" verify -m "$D" -M "$D" --tol -1

# --- bench: a smoke run ---
expect_exit 0 "$CAFFEOPT" bench -m "$D" -w "$DW" -M "$SCRATCH/opt.prototxt" -W "$SCRATCH/opt.caffemodel" \
	--runs 3 --warmup 1
grep -q "ratio" "$SCRATCH/out" && grep -q "bytes planned" "$SCRATCH/out" || fail "bench prints no ratio or arena"
# The CLI loads OpenBLAS at its first GEMM (src/runtime/gemm.c, CR_CBLAS_LAZY),
# not at start-up; it must still be the GEMM that runs when it is installed.
if ls /usr/lib/*/libopenblas.so.0 >/dev/null 2>&1; then
	grep -q "GEMM openblas" "$SCRATCH/out" || fail "bench did not run OpenBLAS: $(head -1 "$SCRATCH/out")"
fi
for c in run verify bench; do
	expect_exit 0 "$CAFFEOPT" $c --help
	grep -q "usage: caffeopt $c" "$SCRATCH/out" || fail "$c --help"
done
finish
