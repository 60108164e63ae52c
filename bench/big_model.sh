#!/bin/sh
# big_model.sh MIB DIR CAFFEOPT - a seeded model of about MIB MiB of
# weights for the embedding benchmarks: DIR/opt.prototxt and
# DIR/opt.caffemodel, one N x N InnerProduct (N = sqrt(MIB MiB / 4), a
# multiple of 64), written by CAFFEOPT optimize --disable all.
# Environment: PYTHON (default /usr/bin/python3, with numpy).
set -eu
MIB=$1 W=$2 CAFFEOPT=$3
PYTHON=${PYTHON:-/usr/bin/python3}
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
rm "$W/big.caffemodel"
