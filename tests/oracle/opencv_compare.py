"""Run two Caffe models in OpenCV DNN on the same seeded inputs and compare.

usage: opencv_compare.py [--exact] [--tol T] [--samples N] A.prototxt A.caffemodel B.prototxt B.caffemodel

Exit 0 when every output of B matches A (bit-exact with --exact, else within
T relative to max |A|), 1 otherwise.  Prints the largest differences.
"""
import argparse
import sys

import cv2
import numpy as np


def outputs(net, x):
    net.setInput(x)
    names = net.getUnconnectedOutLayersNames()
    return dict(zip(names, net.forward(names)))


def input_shape(prototxt):
    # The first Input layer's shape or input_dim: what our deploy nets carry.
    dims = []
    with open(prototxt) as f:
        for line in f:
            s = line.strip()
            if s.startswith("dim:") or s.startswith("input_dim:"):
                dims.append(int(s.split(":")[1]))
                if len(dims) == 4:
                    return dims
    raise SystemExit("no 4-d input shape in %s" % prototxt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exact", action="store_true")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("files", nargs=4)
    a = ap.parse_args()
    net_a = cv2.dnn.readNetFromCaffe(a.files[0], a.files[1])
    net_b = cv2.dnn.readNetFromCaffe(a.files[2], a.files[3])
    for net in (net_a, net_b):
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    shape = input_shape(a.files[0])
    rng = np.random.default_rng(12345)
    ok = True
    for i in range(a.samples):
        x = rng.uniform(-2, 2, size=shape).astype(np.float32)
        ya, yb = outputs(net_a, x), outputs(net_b, x)
        if sorted(ya) != sorted(yb):
            print("output names differ: %s vs %s" % (sorted(ya), sorted(yb)))
            return 1
        for name in ya:
            va, vb = ya[name], yb[name]
            if va.shape != vb.shape:
                print("%s: shape %s vs %s" % (name, va.shape, vb.shape))
                ok = False
                continue
            if not np.all(np.isfinite(va)) or np.max(np.abs(va)) == 0:
                print("%s: reference output is not finite or all zero" % name)
                ok = False
            diff = float(np.max(np.abs(va - vb)))
            scale = float(np.max(np.abs(va))) or 1.0
            print("sample %d %s shape %s max|a| %.6g max abs diff %.3g rel %.3g"
                  % (i, name, va.shape, scale, diff, diff / scale))
            if (a.exact and diff != 0) or diff / scale > a.tol:
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
