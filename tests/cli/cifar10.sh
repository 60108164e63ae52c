# cifar10.sh - the bundled CIFAR-10 model through optimize and info.
. "$SRC/tests/cli/lib.sh"
P="$EX/model/train_val.prototxt"
W="$EX/model/cifar10.caffemodel"

# TEST phase, no deploy, no passes: the TRAIN data layer goes (26 of 27 stay).
expect_exit 0 "$CAFFEOPT" optimize -q --disable all -m "$P" -w "$W" -o "$SCRATCH/a.prototxt" -W "$SCRATCH/a.caffemodel"
[ "$(grep -c '^layer {' "$SCRATCH/a.prototxt")" = 26 ] || fail "expected 26 TEST layers"
grep -q 'phase: TRAIN' "$SCRATCH/a.prototxt" && fail "a TRAIN layer survived phase filtering"
# Deterministic: a second run gives the same bytes.
expect_exit 0 "$CAFFEOPT" optimize -q --disable all -m "$P" -w "$W" -o "$SCRATCH/b.prototxt" -W "$SCRATCH/b.caffemodel"
same_bytes "$SCRATCH/a.prototxt" "$SCRATCH/b.prototxt"
same_bytes "$SCRATCH/a.caffemodel" "$SCRATCH/b.caffemodel"
# The written caffemodel holds only weights and is smaller than Caffe's.
[ "$(wc -c <"$SCRATCH/a.caffemodel")" -lt "$(wc -c <"$W")" ] || fail "caffemodel did not shrink"
# And it binds again.
expect_exit 0 "$CAFFEOPT" info -m "$SCRATCH/a.prototxt" -w "$SCRATCH/a.caffemodel"
grep -q "^total: 26 layers, 29 weight blobs, 322316 parameters" "$SCRATCH/out" || { fail "info totals"; cat "$SCRATCH/out" >&2; }

# --keep-layer-params keeps every layer field in the caffemodel.
expect_exit 0 "$CAFFEOPT" optimize -q --disable all --keep-layer-params -m "$P" -w "$W" -o "$SCRATCH/k.prototxt" -W "$SCRATCH/k.caffemodel"
"$PROTOC" -I/usr/include -I"$SRC/src/proto" --decode=caffe.NetParameter caffe.proto <"$SCRATCH/k.caffemodel" >"$SCRATCH/k.txt"
grep -q 'kernel_size: 5' "$SCRATCH/k.txt" || fail "--keep-layer-params dropped convolution_param"
"$PROTOC" -I/usr/include -I"$SRC/src/proto" --decode=caffe.NetParameter caffe.proto <"$SCRATCH/a.caffemodel" >"$SCRATCH/a.txt"
grep -q 'kernel_size' "$SCRATCH/a.txt" && fail "a default caffemodel carries layer params"

# TRAIN phase keeps the TRAIN data layer and drops the TEST-only accuracy.
expect_exit 0 "$CAFFEOPT" optimize -q --phase train -m "$P" -o "$SCRATCH/t.prototxt"
grep -q '"accuracy"' "$SCRATCH/t.prototxt" && fail "TRAIN net kept the TEST-only accuracy layer"

# Deploy: one Input layer of the given shape, no loss, accuracy or label.
expect_exit 0 "$CAFFEOPT" optimize --disable all -m "$P" -w "$W" -o "$SCRATCH/d.prototxt" -W "$SCRATCH/d.caffemodel" \
	--deploy --input-shape 1,3,32,32 --report "$SCRATCH/report.json"
grep -q 'layers    24 -> 24' "$SCRATCH/out" || { fail "report layer counts"; cat "$SCRATCH/out" >&2; }
grep -q 'type: "Input"' "$SCRATCH/d.prototxt" || fail "no Input layer"
grep -q 'label\|Loss\|Accuracy' "$SCRATCH/d.prototxt" && fail "deploy net kept label, loss or accuracy"
grep -q 'transform_param' "$SCRATCH/err" || fail "no warning about the dropped transform_param"
"$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["optimize"]["after"]["layers"]==24 and r["deploy"]' \
	"$SCRATCH/report.json" || fail "report.json"
# --deploy without a shape is an error that names the data layer, and writes nothing.
expect_error "needs an input shape" "$CAFFEOPT" optimize -m "$P" -o "$SCRATCH/n.prototxt" --deploy
[ ! -e "$SCRATCH/n.prototxt" ] || fail "failed run wrote an output"

# --verify runs source and result in the engine; beyond --tol nothing is written.
expect_exit 0 "$CAFFEOPT" optimize --verify -m "$P" -w "$W" --deploy --input-shape 1,3,32,32 \
	-o "$SCRATCH/v.prototxt" -W "$SCRATCH/v.caffemodel"
grep -q "ip2_scale .* ok" "$SCRATCH/out" || fail "--verify printed no figure for ip2_scale"
expect_error "nothing written" "$CAFFEOPT" optimize --verify --tol 1e-15 -m "$P" -w "$W" --deploy \
	--input-shape 1,3,32,32 -o "$SCRATCH/vt.prototxt" -W "$SCRATCH/vt.caffemodel"
[ ! -e "$SCRATCH/vt.prototxt" ] && [ ! -e "$SCRATCH/vt.caffemodel" ] || fail "a failed --verify wrote outputs"

# info on the real architectures.
expect_exit 0 "$CAFFEOPT" info -m "$DATA/arch/resnet50_deploy.prototxt"
grep -q "^input: data 1x3x224x224" "$SCRATCH/out" || fail "resnet50 input"
expect_exit 0 "$CAFFEOPT" info -m "$DATA/arch/mobilenet_v1_deploy.prototxt"

# --input-layer turns input_dim fields into an Input layer placed first.
expect_exit 0 "$CAFFEOPT" optimize -q --input-layer -m "$DATA/arch/resnet50_deploy.prototxt" -o "$SCRATCH/r.prototxt"
grep -q '^input' "$SCRATCH/r.prototxt" && fail "input fields left"
sed -n '2,5p' "$SCRATCH/r.prototxt" | grep -q 'type: "Input"' || fail "Input layer is not first"
finish
