# reader.sh - the caffemodel reader (src/caffemodel.c) takes every encoding
# the wire format allows as protobuf-c does: the fast path (packed floats
# left in the file) and the whole-file protobuf-c decode it falls back to
# must give the same model, so every re-encoding of the CIFAR-10 weights
# optimizes to the same bytes; re-encodings protobuf refuses are refused
# with the usual error.  Google's protoc checks the variants are what they
# claim: it decodes the good ones as the original and refuses the bad ones
# it can.
. "$SRC/tests/cli/lib.sh"
: "${PROTOC:?}" "${PYTHON:?}"
P="$EX/model/train_val.prototxt"
W="$EX/model/cifar10.caffemodel"
dec() { "$PROTOC" -I/usr/include -I"$SRC/src/proto" --decode=caffe.NetParameter caffe.proto; }

"$PYTHON" "$SRC/tests/oracle/caffemodel_variants.py" "$W" "$SCRATCH/v"
for keep in "" --keep-layer-params; do
	expect_exit 0 "$CAFFEOPT" optimize -q $keep -m "$P" -w "$W" -o "$SCRATCH/want.prototxt" -W "$SCRATCH/want.caffemodel"
	n=0
	for f in "$SCRATCH"/v/same_*.caffemodel; do
		n=$((n + 1))
		expect_exit 0 "$CAFFEOPT" optimize -q $keep -m "$P" -w "$f" -o "$SCRATCH/got.prototxt" \
			-W "$SCRATCH/got.caffemodel" || continue
		cmp -s "$SCRATCH/want.caffemodel" "$SCRATCH/got.caffemodel" ||
			fail "$(basename "$f")${keep:+ $keep}: the optimized caffemodel differs from the original's"
		same_bytes "$SCRATCH/want.prototxt" "$SCRATCH/got.prototxt"
	done
	[ "$n" -ge 6 ] || fail "only $n variants"
done
# The large weights stay in the input file until they are written
# (src/wblob.c).  An output over its own input is still the optimized
# input: the file stays open while the output is staged and renamed over
# it.  A NaN found only then (conv1's weight, read as it is written)
# leaves the input as it was and no output.
expect_exit 0 "$CAFFEOPT" optimize -q -m "$P" -w "$W" -o "$SCRATCH/want.prototxt" -W "$SCRATCH/want.caffemodel"
cp "$W" "$SCRATCH/self.caffemodel"
if expect_exit 0 "$CAFFEOPT" optimize -q -m "$P" -w "$SCRATCH/self.caffemodel" -o "$SCRATCH/self.prototxt" \
	-W "$SCRATCH/self.caffemodel"; then
	cmp -s "$SCRATCH/want.caffemodel" "$SCRATCH/self.caffemodel" ||
		fail "an output over its own input differs from the input optimized"
fi
TINY="$SRC/tests/fuzz/seeds/tiny.prototxt"
cp "$SRC/tests/hostile/nan_weight.caffemodel" "$SCRATCH/nan.caffemodel"
expect_error "layer 'conv1' (Convolution): weight blob 0 holds NaN at index 17" \
	"$CAFFEOPT" optimize -m "$TINY" -w "$SCRATCH/nan.caffemodel" -o "$SCRATCH/nan.prototxt" -W "$SCRATCH/nan.caffemodel"
cmp -s "$SRC/tests/hostile/nan_weight.caffemodel" "$SCRATCH/nan.caffemodel" ||
	fail "a NaN found while writing over the input changed the input"
[ ! -e "$SCRATCH/nan.prototxt" ] || fail "a NaN found while writing left nan.prototxt"
ls -A "$SCRATCH" | grep -q '^\.' && fail "a NaN found while writing left $(ls -A "$SCRATCH" | grep '^\.')"
# A second thread reads the lazy weights ahead of the writer
# (src/wstream.c), many pieces ahead on a large model.  MobileNet v1
# (17 MB) with seven 0xff bytes, a NaN whatever the alignment, 1 MiB
# before the end: inside fc7's 4 MB of weights, the last lazy blob, after
# its BatchNorm and Scale folded into it.  One error, naming it, and no
# output.
M="$SRC/tests/data/arch/mobilenet_v1_deploy.prototxt"
"$PYTHON" "$SRC/tests/oracle/genweights.py" "$M" "$SCRATCH/mb.caffemodel" --seed 3 \
	--pb-dir "$SCRATCH/mbpb" >/dev/null || fail "genweights for MobileNet v1"
expect_exit 0 "$CAFFEOPT" optimize -q -m "$M" -w "$SCRATCH/mb.caffemodel" -o "$SCRATCH/mb1.prototxt" \
	-W "$SCRATCH/mb1.caffemodel"
"$PYTHON" - "$SCRATCH/mb.caffemodel" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) - (1 << 20))
    f.write(b"\xff" * 7)
PY
mkdir "$SCRATCH/mbout"
expect_error "layer 'fc7' (Convolution): weight blob 0 holds NaN at index" \
	"$CAFFEOPT" optimize -m "$M" -w "$SCRATCH/mb.caffemodel" -o "$SCRATCH/mbout/mb.prototxt" \
	-W "$SCRATCH/mbout/mb.caffemodel"
[ -z "$(ls -A "$SCRATCH/mbout")" ] || fail "a NaN found by the reader thread left $(ls -A "$SCRATCH/mbout")"
expect_error "layer 'fc7' (Convolution): weight blob 0 holds NaN at index" \
	"$CAFFEOPT" bench -m "$M" -w "$SCRATCH/mb.caffemodel" --runs 1 --warmup 0

dec <"$W" | grep -v '^[0-9]*:' >"$SCRATCH/want.txt"
for f in "$SCRATCH"/v/same_split_data.caffemodel "$SCRATCH"/v/same_unpacked.caffemodel; do
	dec <"$f" | grep -v '^[0-9]*:' >"$SCRATCH/got.txt" || fail "protoc cannot decode $(basename "$f")"
	same_bytes "$SCRATCH/want.txt" "$SCRATCH/got.txt"
done
for f in "$SCRATCH"/v/bad_*.caffemodel; do
	expect_error "$(basename "$f"): not a caffemodel" "$CAFFEOPT" optimize -m "$P" -w "$f" -o "$SCRATCH/o.prototxt"
done
# Google's protobuf refuses these too.  (A known field with the wrong wire
# type, or a group, it keeps as an unknown field; protobuf-c refuses them,
# and caffeopt has always followed protobuf-c.)
for b in data_odd_length diff_odd_length length_past_end tag_zero; do
	dec <"$SCRATCH/v/bad_$b.caffemodel" >/dev/null 2>&1 && fail "protoc decodes bad_$b.caffemodel"
done
finish
