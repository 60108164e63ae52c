# protoc.sh - our text format against Google's: for every fixture,
#  1. protoc --encode of what we print equals protoc --encode of the input;
#  2. our printing of protoc --decode output is byte-identical to it;
#  3. our printing of a real caffemodel equals protoc --decode of it.
. "$SRC/tests/cli/lib.sh"
: "${PROTOC:?}"
enc() { "$PROTOC" -I/usr/include -I"$SRC/src/proto" --encode=caffe.NetParameter caffe.proto; }
dec() { "$PROTOC" -I/usr/include -I"$SRC/src/proto" --decode=caffe.NetParameter caffe.proto; }

n=0
for f in "$EX"/model/*.prototxt "$DATA"/arch/*.prototxt "$DATA"/textfmt/*.prototxt; do
	[ -e "$f" ] || continue
	grep -q '^# not-caffe' "$f" && continue
	b=$(basename "$f" .prototxt)
	enc <"$f" >"$SCRATCH/$b.want.bin" 2>/dev/null || continue   # not a NetParameter fixture
	n=$((n + 1))
	expect_exit 0 "$CAFFEOPT" convert "$f" "$SCRATCH/$b.ours.prototxt" || continue
	enc <"$SCRATCH/$b.ours.prototxt" >"$SCRATCH/$b.ours.bin" || fail "protoc cannot read our print of $f"
	same_bytes "$SCRATCH/$b.want.bin" "$SCRATCH/$b.ours.bin"
	dec <"$SCRATCH/$b.want.bin" >"$SCRATCH/$b.decoded.prototxt"
	expect_exit 0 "$CAFFEOPT" convert "$SCRATCH/$b.decoded.prototxt" "$SCRATCH/$b.reprinted.prototxt" || continue
	same_bytes "$SCRATCH/$b.decoded.prototxt" "$SCRATCH/$b.reprinted.prototxt"
done
[ "$n" -ge 3 ] || fail "only $n fixtures checked"

# A real caffemodel: every float as protoc prints it.
W="$EX/model/cifar10.caffemodel"
dec <"$W" >"$SCRATCH/cifar.decoded.prototxt"
expect_exit 0 "$CAFFEOPT" convert "$W" "$SCRATCH/cifar.ours.prototxt"
same_bytes "$SCRATCH/cifar.decoded.prototxt" "$SCRATCH/cifar.ours.prototxt"
# ... and back: our binary equals protoc's encoding of the same text.
expect_exit 0 "$CAFFEOPT" convert "$SCRATCH/cifar.ours.prototxt" "$SCRATCH/cifar.ours.caffemodel"
enc <"$SCRATCH/cifar.decoded.prototxt" >"$SCRATCH/cifar.protoc.caffemodel"
same_bytes "$SCRATCH/cifar.protoc.caffemodel" "$SCRATCH/cifar.ours.caffemodel"
finish
