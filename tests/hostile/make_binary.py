"""Write the binary cases of the hostile corpus (run from anywhere; plain
python3, no protobuf module: the bytes are spelled out here so that wire
types, lengths and varints can be wrong on purpose).

Each caffemodel is bound to tests/fuzz/seeds/tiny.prototxt, whose good
weights are tests/fuzz/seeds/caffemodel/tiny.caffemodel; each .npy and
.binaryproto is given to fold-input as the mean of that 3-channel net.
What each case must say is in binary.txt beside them.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
GOOD = os.path.join(HERE, "..", "fuzz", "seeds", "caffemodel", "tiny.caffemodel")


def varint(v):
    v &= (1 << 64) - 1
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def key(field, wire):
    return varint(field << 3 | wire)


def ld(field, payload):
    return key(field, 2) + varint(len(payload)) + payload


def vi(field, v):
    return key(field, 0) + varint(v)


def s(field, text):
    return ld(field, text.encode())


def floats(vals):
    return b"".join(struct.pack("<f", v) for v in vals)


def shape(dims):
    return ld(7, ld(1, b"".join(varint(d) for d in dims)))


def blob(dims, vals=None, raw=None):
    n = 1
    for d in dims:
        n *= d
    if raw is None:
        raw = floats(vals if vals is not None else [0.5] * n)
    return shape(dims) + ld(5, raw)


def layer(name, type_, blobs):
    return s(1, name) + s(2, type_) + b"".join(ld(7, b) for b in blobs)


def net(*layers):
    return s(1, "tiny") + b"".join(ld(100, l) for l in layers)


# The good weights of tiny.prototxt, layer by layer, so a case can change one.
def good_layers(**change):
    L = {
        "conv1": ("Convolution", [blob([4, 3, 3, 3]), blob([4])]),
        "bn1": ("BatchNorm", [blob([4]), blob([4], [1.0] * 4), blob([1], [1.0])]),
        "sc1": ("Scale", [blob([4]), blob([4])]),
        "dw": ("Convolution", [blob([4, 1, 3, 3])]),
        "prelu": ("PReLU", [blob([4])]),
        "ip": ("InnerProduct", [blob([5, 4]), blob([5])]),
    }
    L.update(change)
    return [layer(n, t, b) for n, (t, b) in L.items()]


def npy(descr, shape_text, data, fortran=False, magic=b"\x93NUMPY", version=b"\x01\x00"):
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_text)
    h = h.encode()
    pad = 64 - (10 + len(h) + 1) % 64
    h += b" " * pad + b"\n"
    return magic + version + struct.pack("<H", len(h)) + h + data


def cases():
    good = open(GOOD, "rb").read()
    c = {}
    # truncated: inside a varint, a key, a length, a blob's floats
    for n in (1, 3, 17, 60, 200, 517, len(good) - 1):
        c["trunc_%d.caffemodel" % n] = good[:n]
    # truncated exactly between layers: decodes, but layers lack weights
    c["trunc_two_layers.caffemodel"] = net(*good_layers()[:2])
    # bit flips in keys and lengths
    for pos, bit in ((0, 3), (7, 1), (8, 6), (12, 7)):
        b = bytearray(good)
        b[pos] ^= 1 << bit
        c["flip_%d_%d.caffemodel" % (pos, bit)] = bytes(b)
    # wrong wire types
    c["wire_layer_varint.caffemodel"] = s(1, "tiny") + vi(100, 5)
    c["wire_name_varint.caffemodel"] = vi(1, 7)
    c["wire_blob_fixed32.caffemodel"] = net(s(1, "conv1") + s(2, "Convolution") + key(7, 5) + b"\0\0\0\0")
    c["wire_data_varint.caffemodel"] = net(layer("conv1", "Convolution", [shape([4]) + vi(5, 1)]))
    c["wire_dim_fixed64.caffemodel"] = net(layer("conv1", "Convolution", [ld(7, key(1, 1) + b"\1" * 8)]))
    c["wire_group.caffemodel"] = key(100, 3) + key(100, 4)
    c["wire_type_7.caffemodel"] = key(1, 7) + b"x"
    c["length_past_end.caffemodel"] = key(100, 2) + varint(1 << 40) + b"abc"
    c["varint_overlong.caffemodel"] = key(100, 0) + b"\xff" * 11 + b"\x01"
    c["packed_odd_bytes.caffemodel"] = net(layer("conv1", "Convolution", [shape([1]) + ld(5, b"\0\0\0\0\0")]))
    # shapes
    c["dim_huge.caffemodel"] = net(*good_layers(conv1=("Convolution", [shape([1 << 40, 3, 3, 3]), blob([4])])))
    c["dim_product_overflow.caffemodel"] = net(*good_layers(conv1=("Convolution", [shape([1 << 33, 1 << 33, 1 << 33, 3]), blob([4])])))
    c["dim_negative.caffemodel"] = net(*good_layers(conv1=("Convolution", [shape([-4, 3, 3, 3]), blob([4])])))
    c["dim_too_many.caffemodel"] = net(*good_layers(conv1=("Convolution", [shape([1] * 40), blob([4])])))
    c["legacy_dims_huge.caffemodel"] = net(*good_layers(
        conv1=("Convolution", [vi(1, 2147483647) + vi(2, 2147483647) + vi(3, 3) + vi(4, 3), blob([4])])))
    c["legacy_dims_negative.caffemodel"] = net(*good_layers(
        conv1=("Convolution", [vi(1, 4) + vi(2, -3) + vi(3, 3) + vi(4, 3), blob([4])])))
    c["data_short.caffemodel"] = net(*good_layers(conv1=("Convolution", [blob([4, 3, 3, 3], [0.5] * 107), blob([4])])))
    c["data_long.caffemodel"] = net(*good_layers(conv1=("Convolution", [blob([4, 3, 3, 3], [0.5] * 109), blob([4])])))
    c["data_missing.caffemodel"] = net(*good_layers(conv1=("Convolution", [shape([4, 3, 3, 3]), blob([4])])))
    c["data_and_double.caffemodel"] = net(*good_layers(
        conv1=("Convolution", [blob([4, 3, 3, 3]) + ld(8, struct.pack("<108d", *([0.5] * 108))), blob([4])])))
    c["shape_wrong.caffemodel"] = net(*good_layers(conv1=("Convolution", [blob([4, 3, 1, 9]), blob([4])])))
    c["shape_group_wrong.caffemodel"] = net(*good_layers(dw=("Convolution", [blob([4, 4, 3, 3])])))
    c["bias_shape_wrong.caffemodel"] = net(*good_layers(conv1=("Convolution", [blob([4, 3, 3, 3]), blob([5])])))
    c["bn_blobs_missing.caffemodel"] = net(*good_layers(bn1=("BatchNorm", [blob([4]), blob([4])])))
    c["blobs_extra.caffemodel"] = net(*good_layers(prelu=("PReLU", [blob([4]), blob([4])])))
    c["blobs_zero.caffemodel"] = net(*good_layers(ip=("InnerProduct", [])))
    c["ip_shape_wrong.caffemodel"] = net(*good_layers(ip=("InnerProduct", [blob([5, 3]), blob([5])])))
    c["prelu_shape_wrong.caffemodel"] = net(*good_layers(prelu=("PReLU", [blob([3])])))
    c["scale_shape_wrong.caffemodel"] = net(*good_layers(sc1=("Scale", [blob([4, 2]), blob([4])])))
    # values
    nan, inf = float("nan"), float("inf")
    c["nan_weight.caffemodel"] = net(*good_layers(conv1=("Convolution", [blob([4, 3, 3, 3], [0.5] * 17 + [nan] + [0.5] * 90), blob([4])])))
    c["inf_weight.caffemodel"] = net(*good_layers(ip=("InnerProduct", [blob([5, 4]), blob([5], [0, 0, inf, 0, 0])])))
    c["neg_inf_variance.caffemodel"] = net(*good_layers(bn1=("BatchNorm", [blob([4]), blob([4], [1, -inf, 1, 1]), blob([1], [1.0])])))
    c["nan_double_data.caffemodel"] = net(*good_layers(
        prelu=("PReLU", [shape([4]) + ld(8, struct.pack("<4d", 0.25, nan, 0.25, 0.25))])))
    c["double_too_big.caffemodel"] = net(*good_layers(
        prelu=("PReLU", [shape([4]) + ld(8, struct.pack("<4d", 0.25, 1e300, 0.25, 0.25))])))
    # legacy structure
    c["v1_bad_type.caffemodel"] = s(1, "tiny") + ld(2, s(4, "conv1") + vi(5, 999))
    c["layer_and_layers.caffemodel"] = net(*good_layers()) + ld(2, s(4, "conv1") + vi(5, 4))
    # means (fold-input --mean) for the 3-channel tiny net
    f4 = lambda n: floats([100.0] * n)
    c["mean_4ch.npy"] = npy("<f4", "(4, 8, 8)", f4(256))
    c["mean_2d.npy"] = npy("<f4", "(3, 8)", f4(24))
    c["mean_5d.npy"] = npy("<f4", "(1, 1, 3, 2, 2)", f4(12))
    c["mean_complex.npy"] = npy("<c8", "(3,)", f4(6))
    c["mean_object.npy"] = npy("|O", "(3,)", b"\0" * 24)
    c["mean_unicode.npy"] = npy("<U3", "(3,)", b"\0" * 36)
    c["mean_nan.npy"] = npy("<f4", "(3,)", floats([1, float("nan"), 3]))
    c["mean_inf.npy"] = npy("<f8", "(3,)", struct.pack("<3d", 1, 2, float("inf")))
    c["mean_empty.npy"] = npy("<f4", "(0,)", b"")
    c["mean_huge_shape.npy"] = npy("<f4", "(100000, 100000, 100000)", f4(3))
    c["mean_overflow_shape.npy"] = npy("<f4", "(4294967296, 4294967296, 4294967296)", f4(3))
    c["mean_negative_shape.npy"] = npy("<f4", "(-3,)", f4(3))
    c["mean_header_not_dict.npy"] = b"\x93NUMPY\x01\x00\x10\x00" + b"[1, 2, 3]      \n" + f4(3)
    c["mean_header_len_past_end.npy"] = b"\x93NUMPY\x01\x00\xff\xff{'descr'"
    c["mean_version_9.npy"] = npy("<f4", "(3,)", f4(3), version=b"\x09\x00")
    c["mean_zero_channels.binaryproto"] = shape([0, 8, 8])
    c["mean_4ch.binaryproto"] = blob([4, 2, 2])
    c["mean_truncated.binaryproto"] = blob([3, 2, 2])[:-5]
    c["mean_count_mismatch.binaryproto"] = shape([3, 8, 8]) + ld(5, f4(10))
    c["mean_huge_dims.binaryproto"] = shape([3, 1 << 40, 1 << 40]) + ld(5, f4(3))
    c["mean_nan.binaryproto"] = blob([3], [1.0, float("nan"), 2.0])
    c["mean_legacy_num2.binaryproto"] = vi(1, 2) + vi(2, 3) + vi(3, 1) + vi(4, 1) + ld(5, f4(6))
    # Templates (given to embed --template as model.h.in): 20,000 nested
    # blocks (deep enough to overflow the parser's stack before the bound
    # of 100), and a few lines of a C header followed by binary bytes.
    c["tpl_nesting_bomb.in"] = (b"{{! error: model.h.in:2:901: blocks nested more than 100 deep }}\n"
                                + b"{{#if 1}}" * 20000 + b"\n")
    junk, x = bytearray(), 12345
    for _ in range(600):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        junk.append((x >> 16) & 0xFF)
    c["tpl_binary_garbage.in"] = b"/* {{name}} */\n#define X {{sym}}\n\x7fELF" + bytes(junk)
    return c


def main():
    for name, data in sorted(cases().items()):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
