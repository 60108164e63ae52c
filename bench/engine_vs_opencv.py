"""Forward time of caffeopt's engine against OpenCV DNN, and the arena.

usage: engine_vs_opencv.py [--caffeopt BIN] [--runs N] [--warmup N] [--rounds R]
                           [--threads T]... [--work DIR] NAME=PROTOTXT[:CAFFEMODEL]...

For each net (weights generated with tests/oracle/genweights.py when no
caffemodel is given), and each thread count (default 1 and 2): OpenCV DNN
(backend OPENCV, target CPU, cv2.setNumThreads(T)) timed in this process,
median and min of N forwards after the warm-up; caffeopt through
`caffeopt bench --threads T`, which times cr_forward the same way.  The two
are measured alternately R times (default 3) and the best median and min of
each are kept, so that load from other processes hurts neither side more.
Prints a Markdown table, plus caffeopt's arena planned vs naive.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, ".."))


def input_shape(prototxt):
    dims = []
    with open(prototxt) as f:
        for line in f:
            s = line.strip()
            if s.startswith("dim:") or s.startswith("input_dim:"):
                dims.append(int(s.split(":")[1]))
                if len(dims) == 4:
                    return dims
    raise SystemExit("no 4-d input shape in %s" % prototxt)


def time_opencv(prototxt, caffemodel, threads, runs, warmup):
    cv2.setNumThreads(threads)
    net = cv2.dnn.readNetFromCaffe(prototxt, caffemodel)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    x = np.random.default_rng(7).uniform(-1, 1, size=input_shape(prototxt)).astype(np.float32)
    ms = []
    for i in range(warmup + runs):
        net.setInput(x)
        t = time.perf_counter()
        net.forward()
        if i >= warmup:
            ms.append((time.perf_counter() - t) * 1e3)
    return float(np.median(ms)), min(ms)


def time_caffeopt(caffeopt, prototxt, caffemodel, threads, runs, warmup):
    out = subprocess.run([caffeopt, "bench", "-m", prototxt, "-w", caffemodel, "--runs", str(runs),
                          "--warmup", str(warmup), "--threads", str(threads)],
                         check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    med, mn = re.search(r"median ([\d.]+) ms, min ([\d.]+) ms", out).groups()
    planned, naive = re.search(r"arena\s+(\d+) bytes planned, (\d+) naive", out).groups()
    return float(med), float(mn), int(planned), int(naive)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--caffeopt", default=os.environ.get("CAFFEOPT", "caffeopt"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, action="append")
    ap.add_argument("--work")
    ap.add_argument("nets", nargs="+")
    a = ap.parse_args()
    threads = a.threads or [1, 2]
    work = a.work or tempfile.mkdtemp(prefix="caffeopt-bench-")
    rows, arena = [], []
    for spec in a.nets:
        name, _, files = spec.partition("=")
        prototxt, _, caffemodel = files.partition(":")
        if not caffemodel:
            caffemodel = os.path.join(work, name + ".caffemodel")
            if not os.path.exists(caffemodel):
                subprocess.run([sys.executable, os.path.join(SRC, "tests", "oracle", "genweights.py"),
                                prototxt, caffemodel, "--seed", "1", "--pb-dir",
                                os.path.join(work, "pb")], check=True, stdout=subprocess.DEVNULL)
        for t in threads:
            best = [float("inf")] * 4
            for _ in range(a.rounds):
                cm, cmin = time_opencv(prototxt, caffemodel, t, a.runs, a.warmup)
                om, omin, planned, naive = time_caffeopt(a.caffeopt, prototxt, caffemodel, t,
                                                         a.runs, a.warmup)
                best = [min(x, y) for x, y in zip(best, (om, omin, cm, cmin))]
            rows.append((name, t) + tuple(best))
        arena.append((name, planned, naive))
    print("| net | threads | caffeopt median (min) ms | OpenCV median (min) ms "
          "| caffeopt / OpenCV, medians (mins) |")
    print("|---|---|---|---|---|")
    for name, t, om, omin, cm, cmin in rows:
        print("| %s | %d | %.1f (%.1f) | %.1f (%.1f) | %.2fx (%.2fx) |"
              % (name, t, om, omin, cm, cmin, om / cm, omin / cmin))
    print()
    print("| net | arena planned | naive (one buffer per blob name + largest scratch) | planned / naive |")
    print("|---|---|---|---|")
    for name, planned, naive in arena:
        print("| %s | %.2f MB | %.2f MB | %.1f%% |" % (name, planned / 1e6, naive / 1e6,
                                                     100.0 * planned / naive))
    return 0


if __name__ == "__main__":
    sys.exit(main())
