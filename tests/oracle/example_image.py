"""The example's test picture, for the three engines that must agree on it.

usage: example_image.py input PPM OUT.npy
       example_image.py check --app APP_OUTPUT --run RUN.npy --mean MEAN.npy
                        --scale S --x X.npy ORIGINAL.prototxt ORIGINAL.caffemodel

`input` writes the picture as the optimized net takes it: float32
1x3x32x32, raw 0..255 values, planes in B, G, R order (as
example-project/src/test_image.c holds them).  `check` compares the
example application's printed scores and class with `caffeopt run` on the
optimized files (RUN.npy) and with OpenCV DNN on the original model, which
gets the preprocessing the optimizer folded: (x - mean[c]) * S, mean[c]
the average of MEAN.npy's channel c.  Exit 0 when the three classes agree
and the scores are within 1e-3 of the largest score.
"""
import sys

import cv2
import numpy as np


def read_ppm(path):
    data = open(path, 'rb').read()
    head = data.split(b'\n', 3)
    assert head[0] == b'P6' and head[1] == b'32 32' and head[2] == b'255', path
    rgb = np.frombuffer(head[3], np.uint8).reshape(32, 32, 3)
    return rgb[:, :, ::-1].transpose(2, 0, 1).astype(np.float32)[None]


def main():
    if sys.argv[1] == 'input':
        np.save(sys.argv[3], read_ppm(sys.argv[2]))
        return 0
    args = dict(zip(sys.argv[2:-2:2], sys.argv[3:-2:2]))
    proto, weights = sys.argv[-2:]
    app = {}
    for line in open(args['--app']):
        key, _, rest = line.partition(':')
        app[key.strip()] = rest.split()
    app_scores = np.array([float(v) for v in app['scores']], np.float64)
    app_class = int(app['class'][0])
    run = np.load(args['--run']).astype(np.float64).ravel()
    x = np.load(args['--x']).astype(np.float32)
    mean = np.load(args['--mean']).astype(np.float64).reshape(x.shape[1], -1).mean(axis=1)
    pre = ((x - mean.reshape(1, -1, 1, 1)) * float(args['--scale'])).astype(np.float32)
    net = cv2.dnn.readNetFromCaffe(proto, weights)
    net.setInput(pre)
    ocv = net.forward().astype(np.float64).ravel()
    top = max(np.abs(run).max(), 1e-30)
    ok = True
    for name, s in (('app', app_scores), ('opencv', ocv)):
        err = np.abs(s - run).max() / top
        print('%-6s class %d, max |score - caffeopt run| / max |score| = %.3g' % (name, int(np.argmax(s)), err))
        ok &= err <= 1e-3
    classes = {app_class, int(np.argmax(app_scores)), int(np.argmax(run)), int(np.argmax(ocv))}
    print('classes', sorted(classes))
    ok &= len(classes) == 1
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
