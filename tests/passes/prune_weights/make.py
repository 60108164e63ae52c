"""Regenerate unbound.caffemodel: genweights' seeded weights for
unbound.prototxt, then two layers the prototxt does not have: 'orphan_fc'
with weights (they bind to nothing) and 'loss' without.

usage: /usr/bin/python3 make.py [--pb-dir DIR]   (from this folder)
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "oracle"))
import genweights  # noqa: E402


def main():
    pb_dir = sys.argv[sys.argv.index("--pb-dir") + 1] if "--pb-dir" in sys.argv else None
    pb = genweights.load_caffe_pb2(pb_dir, os.path.join(HERE, "..", "..", ".."), "protoc")
    net = genweights.read_prototxt(pb, os.path.join(HERE, "unbound.prototxt"))
    w = genweights.make_weights(pb, net, None, 12345)
    rng = np.random.default_rng(7)
    orphan = w.layer.add()
    orphan.name, orphan.type = "orphan_fc", "InnerProduct"
    genweights.fill_blob(orphan.blobs.add(), rng.normal(0, 1, (10, 20)))
    genweights.fill_blob(orphan.blobs.add(), rng.normal(0, 1, (10,)))
    loss = w.layer.add()
    loss.name, loss.type = "loss", "SoftmaxWithLoss"
    with open(os.path.join(HERE, "unbound.caffemodel"), "wb") as f:
        f.write(w.SerializeToString())


if __name__ == "__main__":
    main()
