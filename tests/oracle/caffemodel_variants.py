"""Re-encode a caffemodel in the other ways the protobuf wire format allows,
to check caffeopt's caffemodel reader (src/caffemodel.c) against them.

usage: caffemodel_variants.py IN.caffemodel OUT_DIR

Writes OUT_DIR/same_*.caffemodel, each holding the same NetParameter as IN
(protoc --decode prints the same text for it, up to field order and
unknown fields), and OUT_DIR/bad_*.caffemodel, each of which protobuf-c
refuses (Google's protobuf keeps a known field of the wrong wire type, and
a group, as unknown fields; it refuses the others).  Plain byte work, no protobuf library: what the writers
produce is exactly the encoding named.
"""
import os
import sys


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(num, wt):
    return varint((num << 3) | wt)


def ld(num, payload):
    return tag(num, 2) + varint(len(payload)) + payload


def read_varint(buf, i):
    v = shift = 0
    while True:
        c = buf[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def fields(buf):
    """(number, wire type, whole field bytes, payload or None) of each field."""
    i, out = 0, []
    while i < len(buf):
        s = i
        t, i = read_varint(buf, i)
        num, wt = t >> 3, t & 7
        val = None
        if wt == 0:
            _, i = read_varint(buf, i)
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            n, i = read_varint(buf, i)
            val = buf[i:i + n]
            i += n
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, wt, buf[s:i], val))
    return out


def remap(net, blob=None, layer=None, top=None):
    """net with blob(payload) -> payload for every BlobProto, layer(list of
    field bytes) -> list for every LayerParameter, top(list) -> list."""
    items = []
    for num, wt, raw, val in fields(net):
        if num == 100 and wt == 2:
            parts = [ld(7, blob(v)) if n == 7 and w == 2 and blob else r for n, w, r, v in fields(val)]
            if layer:
                parts = layer(parts)
            items.append(ld(100, b"".join(parts)))
        else:
            items.append(raw)
    if top:
        items = top(items)
    return b"".join(items)


def each_data(fn):
    """A blob rewriter applying fn(payload) -> bytes to the packed data field."""
    return lambda v: b"".join(fn(val) if n == 5 and w == 2 else r for n, w, r, val in fields(v))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: caffemodel_variants.py IN.caffemodel OUT_DIR")
    net = open(sys.argv[1], "rb").read()
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    same = {
        # floats as repeated fixed32 fields instead of one packed field
        "unpacked": remap(net, blob=each_data(
            lambda d: b"".join(tag(5, 5) + d[k:k + 4] for k in range(0, len(d), 4)))),
        # the packed data in two fields (protobuf concatenates them)
        "split_data": remap(net, blob=each_data(
            lambda d: ld(5, d[:len(d) // 8 * 4]) + ld(5, d[len(d) // 8 * 4:]))),
        # a length varint with a redundant continuation byte
        "long_length": remap(net, blob=each_data(
            lambda d: tag(5, 2) + varint(len(d))[:-1] + bytes([varint(len(d))[-1] | 0x80, 0]) + d)),
        # gradients (Caffe's snapshot_diff), which a deploy model ignores
        "with_diff": remap(net, blob=lambda v: v + ld(6, b"\0" * 8) + ld(9, b"\0" * 16)),
        # unknown fields at every level, of every wire type
        "unknown": remap(net,
                         blob=lambda v: tag(999, 0) + varint(300) + v + ld(1000, b"x") + tag(77, 5) + b"abcd",
                         layer=lambda p: [tag(998, 1) + b"12345678"] + p + [ld(2000, b"y")],
                         top=lambda t: [ld(4321, b"q")] + t + [tag(55, 0) + b"\x01"]),
        # an unknown field whose tag takes 5 bytes
        "huge_tag": remap(net, top=lambda t: t + [tag(1 << 26, 0) + b"\x02"]),
        # the blobs' shape message given in two parts (protobuf merges them)
        "split_shape": remap(net, blob=lambda v: b"".join(
            ld(7, fields(val)[0][2]) + ld(7, b"".join(f[2] for f in fields(val)[1:]))
            if n == 7 and w == 2 and val else r for n, w, r, val in fields(v))),
    }
    bad = {
        "data_odd_length": remap(net, blob=each_data(lambda d: ld(5, d[:-1]))),
        "diff_odd_length": remap(net, blob=lambda v: v + ld(6, b"abcde")),
        "group_in_blob": remap(net, blob=lambda v: tag(50, 3) + tag(50, 4) + v),
        "blobs_as_varint": remap(net, layer=lambda p: p + [tag(7, 0) + b"\x01"]),
        "layer_as_varint": remap(net, top=lambda t: t + [tag(100, 0) + b"\x01"]),
        "length_past_end": remap(net, blob=each_data(lambda d: tag(5, 2) + varint(len(d) + 4) + d)),
        "tag_zero": remap(net, blob=lambda v: b"\x00" + v),
    }
    for name, data in same.items():
        open(os.path.join(out, "same_%s.caffemodel" % name), "wb").write(data)
    for name, data in bad.items():
        open(os.path.join(out, "bad_%s.caffemodel" % name), "wb").write(data)


if __name__ == "__main__":
    main()
