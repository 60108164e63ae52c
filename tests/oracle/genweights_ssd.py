"""genweights.py for SSD nets: the same generator, taught the shapes of
PriorBox and DetectionOutput (which carry no weights).

usage: genweights_ssd.py PROTOTXT OUT.caffemodel [genweights.py options]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import genweights  # noqa: E402

_top_shapes = genweights.top_shapes


def top_shapes(pb, l, bs):
    if l.type == "PriorBox":
        p = l.prior_box_param
        ars = [1.0]
        for r in p.aspect_ratio:
            if all(abs(r - a) >= 1e-6 for a in ars):
                ars.append(r)
                if p.flip:
                    ars.append(1.0 / r)
        priors = len(ars) * len(p.min_size) + len(p.max_size)
        return [[1, 2, bs[0][2] * bs[0][3] * priors * 4]]
    if l.type == "DetectionOutput":
        return [[1, 1, 1, 7]]
    return _top_shapes(pb, l, bs)


genweights.top_shapes = top_shapes

if __name__ == "__main__":
    sys.exit(genweights.main())
