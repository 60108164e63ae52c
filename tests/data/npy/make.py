#!/usr/bin/python3
"""Regenerate the .npy fixtures of tests/unit/test_npy.c with numpy.

Run from anywhere: /usr/bin/python3 tests/data/npy/make.py
The files are committed; rerun only to change them, and review the diff.
golden_*.npy are numpy.save's own output, which npy_write must match byte
for byte (numpy 1.24: 64-byte alignment, 21-digit growth spaces).
"""
import io
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, array, version=None):
    path = os.path.join(HERE, name)
    if version is None:
        np.save(path, array)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, array, version=version)


def raw(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def npy_bytes(array):
    b = io.BytesIO()
    np.save(b, array)
    return b.getvalue()


# Readable arrays, each converted to float32 by npy_read.
f4 = (np.arange(6, dtype="<f4").reshape(2, 3) * 0.5 - 1).astype("<f4")
save("f4_2x3.npy", f4)                                   # -1 -0.5 0 .5 1 1.5
save("f8_3.npy", np.array([1.5, -2.25, 1e-3], dtype="<f8"))
save("u1_2x2.npy", np.array([[0, 255], [7, 128]], dtype="|u1"))
save("i2_be_3.npy", np.array([-2, 300, -32768], dtype=">i2"))
save("f4_be_3.npy", np.array([1.0, -0.5, 3.25], dtype=">f4"))
save("f2_3.npy", np.array([1.0, -0.5, 65504.0], dtype="<f2"))
save("b1_3.npy", np.array([True, False, True]))
save("v2_f4_2x3.npy", f4, version=(2, 0))
save("v3_f4_2x3.npy", f4, version=(3, 0))
save("fortran_f4_2x3.npy", np.asfortranarray(f4))
save("scalar_f4.npy", np.array(3.5, dtype="<f4"))
save("empty_f4.npy", np.zeros((0,), dtype="<f4"))
save("mean_f8_3x4x4.npy",                               # like cifar10's mean.npy
     (np.arange(48, dtype="<f8").reshape(3, 4, 4) + 100.25))

# Headers numpy never writes but must read: spacing, key order, Python 2 longs.
raw("header_reordered.npy", (lambda h: b"\x93NUMPY\x01\x00" +
    len(h).to_bytes(2, "little") + h + f4.tobytes())(
    b"{ 'shape' :(2,3L),'fortran_order':False , \"descr\":'<f4' }".ljust(118) + b"\n"))

# Refused.
save("c8_2.npy", np.array([1 + 2j, 3], dtype="<c8"))
save("structured_2.npy", np.zeros(2, dtype=[("a", "<f4")]))
save("f8_too_big.npy", np.array([1.0, 1e300], dtype="<f8"))
good = npy_bytes(f4)
raw("truncated_f4_2x3.npy", good[:-4])
raw("trailing_f4_2x3.npy", good + b"\0\0\0\0")
raw("truncated_header.npy", good[:40])
raw("not_npy.npy", b"hello, this is text and not an array\n")
raw("version_9.npy", good[:6] + b"\x09\x00" + good[8:])

# Goldens for npy_write: float32, C order, as numpy.save writes them.
save("golden_2x3.npy", f4)
save("golden_scalar.npy", np.array(-7.125, dtype="<f4"))
save("golden_1d_5.npy", np.array([0.1, 0.2, 0.3, 1e-8, -3e38], dtype="<f4"))
save("golden_3x1x2x2.npy", np.arange(12, dtype="<f4").reshape(3, 1, 2, 2) / 7)
save("golden_12345x0.npy", np.zeros((12345, 0), dtype="<f4"))
