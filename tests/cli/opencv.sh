# opencv.sh - OpenCV DNN, an independent reader, loads and runs what we write.
. "$SRC/tests/cli/lib.sh"
P="$EX/model/train_val.prototxt"
W="$EX/model/cifar10.caffemodel"

expect_exit 0 "$CAFFEOPT" optimize -q --disable all -m "$P" -w "$W" -o "$SCRATCH/d.prototxt" -W "$SCRATCH/d.caffemodel" \
	--deploy --input-shape 1,3,32,32
# Same deploy prototxt: original weights against the weights we wrote.
"$PYTHON" "$SRC/tests/oracle/opencv_compare.py" --exact \
	"$SCRATCH/d.prototxt" "$W" "$SCRATCH/d.prototxt" "$SCRATCH/d.caffemodel" || fail "OpenCV outputs differ"
finish
