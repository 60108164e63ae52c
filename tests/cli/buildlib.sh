# buildlib.sh - shared by build_make.sh and build_cmake.sh (sourced after
# lib.sh): a copy of the example model, a logging wrapper around the tool,
# a two-model app, and helpers that tell what a build did.
: "${PYTHON:?}" "${PROTOC:?}"
M="$SCRATCH/model"
mkdir -p "$M/model" "$M/data" "$SCRATCH/bin"
cp "$EX/model/train_val.prototxt" "$EX/model/cifar10.caffemodel" "$M/model/"
cp "$EX/data/mean.npy" "$M/data/"
cp "$EX/config.ini" "$M/"
chmod u+w "$M/model/"* "$M/data/"*
echo "unrelated" >"$M/NOTES"

# The tool, through a wrapper that logs every run.
LOG="$SCRATCH/tool.log"
: >"$LOG"
TOOL="$SCRATCH/bin/caffeopt"
cat >"$TOOL" <<EOT
#!/bin/sh
echo "\$*" >>"$LOG"
exec "$CAFFEOPT" "\$@"
EOT
chmod +x "$TOOL"
runs() { wc -l <"$LOG" | tr -d ' '; }

# Two models: m1 (weights, literal, with the ini) and m2 (blob, incbin).
cat >"$M/app.c" <<'EOT'
#include <stdint.h>
#include <stdio.h>
#include "m1.h"
#include "m2.h"
static uint32_t fnv(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t h = 2166136261u;
	while (n--)
		h = (h ^ *b++) * 16777619u;
	return h;
}
int main(void)
{
	printf("m1 %zu layers %zu floats %08x\n", M1_LAYER_COUNT, M1_WEIGHT_FLOATS,
	       (unsigned)fnv(m1_weight_data, M1_WEIGHT_FLOATS * sizeof(float)));
	printf("m2 %zu bytes %08x\n", m2_caffemodel_size, (unsigned)fnv(m2_caffemodel, m2_caffemodel_size));
	return 0;
}
EOT

# The caffemodel with one weight changed (by Google's protobuf).
"$PROTOC" -I/usr/include -I"$SRC/src/proto" --python_out="$SCRATCH" caffe.proto /usr/include/protobuf-c/protobuf-c.proto
"$PYTHON" - "$SCRATCH" "$M/model/cifar10.caffemodel" "$SCRATCH/changed.caffemodel" <<'EOT'
import sys
sys.path.insert(0, sys.argv[1])
import caffe_pb2
net = caffe_pb2.NetParameter()
net.ParseFromString(open(sys.argv[2], 'rb').read())
layers = net.layer if len(net.layer) else net.layers
for l in layers:
    if len(l.blobs):
        l.blobs[0].data[0] += 0.25
        break
open(sys.argv[3], 'wb').write(net.SerializeToString())
EOT
cp "$M/model/cifar10.caffemodel" "$SCRATCH/good.caffemodel"
head -c 1000 "$SCRATCH/good.caffemodel" >"$SCRATCH/broken.caffemodel"

# did WHAT LOGFILE: the build log shows a compile or link (0/1).
compiled() { grep -Eq '(Building|Compiling|  CC|  AS) ' "$1" && echo 1 || echo 0; }
linked() { grep -Eq '(Linking|  LD) ' "$1" && echo 1 || echo 0; }
# Files' inode and mtime, to tell "left untouched".
snapshot() { for f in "$@"; do stat -c '%n %i %Y.%y' "$f"; done; }
# Replace a file's content and make it newer than everything built so far.
put() { sleep 1; cp "$1" "$2"; touch "$2"; }

# example_check APP_OUTPUT: the example app's class and scores agree with
# `caffeopt run` on the optimized files and with OpenCV DNN on the original
# model (tests/oracle/example_image.py).
example_check() {
	if [ ! -e "$SCRATCH/oracle/run.npy" ]; then
		mkdir -p "$SCRATCH/oracle"
		"$PYTHON" "$SRC/tests/oracle/example_image.py" input "$EX/data/test32.ppm" "$SCRATCH/oracle/x.npy"
		"$CAFFEOPT" optimize -q --config "$EX/config.ini" --deploy -o "$SCRATCH/oracle/opt.prototxt" \
			-W "$SCRATCH/oracle/opt.caffemodel" 2>/dev/null
		"$CAFFEOPT" run -q -m "$SCRATCH/oracle/opt.prototxt" -w "$SCRATCH/oracle/opt.caffemodel" \
			-i "$SCRATCH/oracle/x.npy" -o "$SCRATCH/oracle/run.npy"
		"$CAFFEOPT" optimize -q --disable all --deploy --input-shape 1,3,32,32 -m "$EX/model/train_val.prototxt" \
			-w "$EX/model/cifar10.caffemodel" -o "$SCRATCH/oracle/orig.prototxt" -W "$SCRATCH/oracle/orig.caffemodel" 2>/dev/null
	fi
	mean=$(sed -n 's/^mean_proto_path *= *\.\/\(.*[^ ]\) *$/\1/p' "$EX/config.ini")
	scale=$(sed -n 's/^input_scale *= *\([^ ]*\).*/\1/p' "$EX/config.ini")
	"$PYTHON" "$SRC/tests/oracle/example_image.py" check --app "$1" --run "$SCRATCH/oracle/run.npy" \
		--mean "$EX/$mean" --scale "$scale" --x "$SCRATCH/oracle/x.npy" \
		"$SCRATCH/oracle/orig.prototxt" "$SCRATCH/oracle/orig.caffemodel" >"$SCRATCH/oracle.log" 2>&1 ||
		{ fail "$1: the example disagrees with caffeopt run or OpenCV"; cat "$1" "$SCRATCH/oracle.log" >&2; }
}
