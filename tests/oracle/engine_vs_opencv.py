"""caffeopt's engine against OpenCV DNN on the same model and inputs.

usage: engine_vs_opencv.py [--caffeopt BIN] [--tol T] [--samples N] [--seed S]
                           [--range LO,HI] [--work DIR] [--layer NAME]...
                           PROTOTXT CAFFEMODEL

For each of N seeded random inputs (uniform in [LO, HI), default [-2, 2)) the
script runs OpenCV DNN (backend OPENCV, target CPU) and `caffeopt run
--output-dir`, then compares every network output OpenCV reports: the output
of a layer is the engine's blob of the layer's last top.  --layer adds an
inner layer's output to the comparison (e.g. the logits before a Softmax).  Exit 0 when every
output is within T (default 1e-4) of OpenCV's relative to max |OpenCV's
output|, 1 otherwise; each comparison is printed.

A DetectionOutput is compared row by row after dropping OpenCV's padding
rows (image id -1), with both sides sorted by (image, class, -score).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import genweights  # noqa: E402  (the schema loader and the prototxt reader)


def layer_tops(pb, prototxt):
    """{layer name: its last top}, and the Input layers' (top, shape)."""
    net = genweights.read_prototxt(pb, prototxt)
    tops, inputs = {}, []
    for l in net.layer:
        if l.top:
            tops[l.name] = l.top[-1] if len(l.top) == 1 else list(l.top)
        if l.type == "Input":
            shapes = list(l.input_param.shape)
            for i, t in enumerate(l.top):
                s = shapes[i if len(shapes) > 1 else 0]
                inputs.append((t, [int(d) for d in s.dim]))
    for i, name in enumerate(net.input):
        if i < len(net.input_shape):
            inputs.append((name, [int(d) for d in net.input_shape[i].dim]))
        else:
            inputs.append((name, [int(d) for d in net.input_dim[4 * i:4 * i + 4]]))
    return tops, inputs


def detections(a):
    """The rows of a [1,1,R,7] detection output that hold detections,
    sorted by image, class, then descending score."""
    rows = a.reshape(-1, 7)
    rows = rows[rows[:, 0] >= 0]
    order = np.lexsort((-rows[:, 2], rows[:, 1], rows[:, 0]))
    return rows[order]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--caffeopt", default=os.environ.get("CAFFEOPT", "caffeopt"))
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--range", default="-2,2")
    ap.add_argument("--work")
    ap.add_argument("--pb-dir")
    ap.add_argument("--layer", action="append", default=[])
    ap.add_argument("prototxt")
    ap.add_argument("caffemodel")
    a = ap.parse_args()
    lo, hi = (float(v) for v in a.range.split(","))
    work = a.work or tempfile.mkdtemp(prefix="caffeopt-engine-")
    os.makedirs(work, exist_ok=True)
    pb = genweights.load_caffe_pb2(a.pb_dir or os.path.join(work, "pb"))
    tops, inputs = layer_tops(pb, a.prototxt)
    if not inputs:
        print("%s: no Input layer or input: field" % a.prototxt)
        return 1

    net = cv2.dnn.readNetFromCaffe(a.prototxt, a.caffemodel)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    names = list(net.getUnconnectedOutLayersNames()) + a.layer
    det_layers = set()
    for l in genweights.read_prototxt(pb, a.prototxt).layer:
        if l.type == "DetectionOutput":
            det_layers.add(l.name)

    rng = np.random.default_rng(a.seed)
    ok = True
    for s in range(a.samples):
        args = [a.caffeopt, "run", "-q", "-m", a.prototxt, "-w", a.caffemodel,
                "--output-dir", os.path.join(work, "out%d" % s)]
        for lname in names:
            blob = tops.get(lname, lname)
            args += ["--blob", blob[0] if isinstance(blob, list) else blob]
        os.makedirs(os.path.join(work, "out%d" % s), exist_ok=True)
        for name, shape in inputs:
            x = rng.uniform(lo, hi, size=shape).astype(np.float32)
            path = os.path.join(work, "in%d_%s.npy" % (s, name.replace("/", "_")))
            np.save(path, x)
            net.setInput(x, name)
            args += ["--input", "%s=%s" % (name, path)]
        ref = dict(zip(names, net.forward(names)))
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        if r.returncode != 0:
            print("caffeopt run failed (%d): %s" % (r.returncode, r.stderr.strip()))
            return 1
        for lname in names:
            blob = tops.get(lname, lname)
            if isinstance(blob, list):
                blob = blob[0]
            path = os.path.join(work, "out%d" % s, blob.replace("/", "_") + ".npy")
            if not os.path.exists(path):
                print("sample %d %s: the engine wrote no %s" % (s, lname, path))
                ok = False
                continue
            va, vb = ref[lname], np.load(path)
            if lname in det_layers:
                va, vb = detections(va), detections(vb)
            if va.shape != vb.shape:
                print("sample %d %s: shape OpenCV %s, engine %s" % (s, blob, va.shape, vb.shape))
                ok = False
                continue
            if va.size and (not np.all(np.isfinite(va)) or np.max(np.abs(va)) == 0):
                print("sample %d %s: OpenCV's output is not finite or all zero" % (s, blob))
                ok = False
            diff = float(np.max(np.abs(va.astype(np.float64) - vb))) if va.size else 0.0
            scale = float(np.max(np.abs(va))) if va.size else 1.0
            scale = scale or 1.0
            bad = not (diff / scale <= a.tol)
            print("sample %d %-20s shape %-18s max|cv| %-10.4g max abs diff %-9.3g rel %-9.3g %s"
                  % (s, blob, "x".join(map(str, va.shape)), scale, diff, diff / scale,
                     "FAIL" if bad else "ok"))
            ok = ok and not bad
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
