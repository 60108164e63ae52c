# convert.sh - `caffeopt convert`: V1/V0 -> V2 upgrades and text <-> binary
# round trips, judged by protoc's encoding of the expected files.
. "$SRC/tests/cli/lib.sh"
: "${PROTOC:?}"
enc() { "$PROTOC" -I/usr/include -I"$SRC/src/proto" --encode="caffe.$1" caffe.proto; }
U="$DATA/upgrade"

for b in v1_lenet v1_data_transform v1_param_specs v1_types v0_padding v0_data; do
	expect_exit 0 "$CAFFEOPT" convert "$U/$b.prototxt" "$SCRATCH/$b.prototxt" || continue
	grep -q "upgraded from V" "$SCRATCH/err" || fail "$b: no upgrade warning"
	grep -q '^layers {' "$SCRATCH/$b.prototxt" && fail "$b: V1 layers left"
	enc NetParameter <"$SCRATCH/$b.prototxt" >"$SCRATCH/$b.ours.bin"
	enc NetParameter <"$U/$b.expected.prototxt" >"$SCRATCH/$b.want.bin"
	same_bytes "$SCRATCH/$b.want.bin" "$SCRATCH/$b.ours.bin"
done

# A V1 caffemodel (blobs inside `layers`) becomes V2 binary, blobs moved.
enc NetParameter <"$U/v1_caffemodel.prototxt" >"$SCRATCH/v1.caffemodel"
expect_exit 0 "$CAFFEOPT" convert "$SCRATCH/v1.caffemodel" "$SCRATCH/v2.caffemodel"
enc NetParameter <"$U/v1_caffemodel.expected.prototxt" >"$SCRATCH/v2.want.caffemodel"
same_bytes "$SCRATCH/v2.want.caffemodel" "$SCRATCH/v2.caffemodel"

# text -> binary -> text gives the text back; binary -> text -> binary the binary.
P="$EX/model/train_val.prototxt"
expect_exit 0 "$CAFFEOPT" convert "$P" "$SCRATCH/tv.caffemodel"
expect_exit 0 "$CAFFEOPT" convert "$SCRATCH/tv.caffemodel" "$SCRATCH/tv.prototxt"
expect_exit 0 "$CAFFEOPT" convert "$SCRATCH/tv.prototxt" "$SCRATCH/tv2.caffemodel"
same_bytes "$SCRATCH/tv.caffemodel" "$SCRATCH/tv2.caffemodel"
expect_exit 0 "$CAFFEOPT" convert --to text "$SCRATCH/tv2.caffemodel" "$SCRATCH/tv2.out"
same_bytes "$SCRATCH/tv.prototxt" "$SCRATCH/tv2.out"

# A mean file (.binaryproto is a BlobProto) both ways.
printf 'num: 1\nchannels: 3\nheight: 1\nwidth: 2\ndata: 104\ndata: 104.5\ndata: 117\ndata: 117\ndata: 123\ndata: 123.25\n' \
	>"$SCRATCH/mean.txt"
enc BlobProto <"$SCRATCH/mean.txt" >"$SCRATCH/mean.binaryproto"
expect_exit 0 "$CAFFEOPT" convert --to text "$SCRATCH/mean.binaryproto" "$SCRATCH/mean.pbtxt"
same_bytes "$SCRATCH/mean.txt" "$SCRATCH/mean.pbtxt"

# Errors: one line naming the file, nothing written.
expect_error "err_layer_and_layers.prototxt" "$CAFFEOPT" convert "$U/err_layer_and_layers.prototxt" "$SCRATCH/x.prototxt"
expect_error "cannot tell the output format" "$CAFFEOPT" convert "$U/v1_lenet.prototxt" "$SCRATCH/x.weird"
[ ! -e "$SCRATCH/x.prototxt" ] || fail "a failed convert wrote its output"
finish
