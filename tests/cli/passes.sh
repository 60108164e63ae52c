# passes.sh - every pass case (tests/passes/*/*.prototxt) and the whole nets
# (ResNet-50, MobileNet v1, CIFAR-10) optimized, then run in OpenCV DNN next to
# the original: same outputs within 1e-5 relative, expected structure.  The
# self-test makes sure a wrong weight and an unmet expectation do fail.
. "$SRC/tests/cli/lib.sh"
"$PYTHON" "$SRC/tests/oracle/check_passes.py" --caffeopt "$CAFFEOPT" --src "$SRC" \
	--scratch "$SCRATCH" --protoc "${PROTOC:-protoc}" --self-test || fail "pass cases (see above)"
finish
