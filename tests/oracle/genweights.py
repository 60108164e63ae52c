"""Random, seeded weights for a Caffe deploy prototxt.

usage: genweights.py PROTOTXT OUT.caffemodel [--seed N] [--input-shape N,C,H,W]
                     [--set LAYER.KEY=V ...] [--pb-dir DIR] [--protoc PROTOC]
                     [--phase test|train]

The caffemodel is encoded by Google's Python protobuf from caffeopt's own
schema (src/proto/caffe.proto, compiled by protoc into --pb-dir), so it does
not depend on caffeopt's C code.  The prototxt is read with
google.protobuf.text_format and the blob shapes come from a shape inference
written here, following Caffe's layer code.  Blobs use the modern `shape`.

Values keep activations O(1) (see "weights" below): convolution and
InnerProduct weights N(0, 1/(fan_in * E[x^2])), biases N(0, 0.1^2),
BatchNorm with a moving-average factor in [0.5, 2], never 1 (the stored mean
and variance are pre-multiplied by it: Caffe divides them by it), Scale
multipliers of either sign, PReLU slopes of either sign.  Same seed, same
file.
"""
import argparse
import importlib
import os
import subprocess
import sys
import tempfile

import numpy as np

from caffemodel_variants import varint  # the wire format by hand, one place

HERE = os.path.dirname(os.path.abspath(__file__))


class GenError(Exception):
    pass


# ---------------------------------------------------------------- schema

def load_caffe_pb2(pb_dir=None, src=None, protoc=None):
    """Compile src/proto/caffe.proto into pb_dir (once) and import it."""
    src = src or os.environ.get("SRC") or os.path.normpath(os.path.join(HERE, "..", ".."))
    protoc = protoc or os.environ.get("PROTOC") or "protoc"
    if pb_dir is None:
        pb_dir = tempfile.mkdtemp(prefix="caffeopt-pb-")
    os.makedirs(pb_dir, exist_ok=True)
    if not os.path.exists(os.path.join(pb_dir, "caffe_pb2.py")):
        proto_dir = os.path.join(src, "src", "proto")
        cmd = [protoc, "--python_out=" + pb_dir, "-I/usr/include", "-I" + proto_dir,
               os.path.join(proto_dir, "caffe.proto"), "/usr/include/protobuf-c/protobuf-c.proto"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        if r.returncode != 0:
            raise GenError("protoc failed: %s\n%s" % (" ".join(cmd), r.stderr))
    if pb_dir not in sys.path:
        sys.path.insert(0, pb_dir)
    return importlib.import_module("caffe_pb2")


def read_prototxt(pb, path):
    from google.protobuf import text_format
    net = pb.NetParameter()
    with open(path) as f:
        text_format.Merge(f.read(), net)
    return net


def parse_shape(s):
    dims = [int(v) for v in s.replace("x", ",").split(",")]
    if len(dims) < 1 or any(d <= 0 for d in dims):
        raise GenError("bad shape '%s'" % s)
    return dims


# ---------------------------------------------------------------- layers

DATA_TYPES = {"Data", "ImageData", "HDF5Data", "MemoryData", "WindowData",
              "DummyData", "AnnotatedData"}

SAME_SHAPE = {"BatchNorm", "ReLU", "PReLU", "ELU", "Sigmoid", "TanH", "AbsVal",
              "Power", "Exp", "Log", "BNLL", "Clip", "Swish", "Threshold",
              "Dropout", "Softmax", "LogSoftmax", "LRN", "MVN", "Normalize",
              "Bias", "Scale", "Eltwise"}

CONV_TYPES = {"Convolution", "ConvolutionDepthwise", "DepthwiseConvolution"}

WEIGHTED = CONV_TYPES | {"Deconvolution", "InnerProduct", "BatchNorm", "Scale", "Bias", "PReLU",
                         "Normalize", "Embed", "RNN", "LSTM"}


def active_layers(pb, net, phase):
    """Layers of `phase` by the include/exclude phase rules (levels and
    stages are ignored: our test nets do not use them)."""
    out = []
    for l in net.layer:
        if l.include:
            keep = any(not r.HasField("phase") or r.phase == phase for r in l.include)
        else:
            keep = not any(r.HasField("phase") and r.phase == phase for r in l.exclude)
        if keep:
            out.append(l)
    return out


def net_inputs(net, layers, input_shape):
    """[(name, shape or None)] of the declared inputs; input_shape replaces
    the first."""
    ins = []
    if net.input:
        for i, name in enumerate(net.input):
            if i < len(net.input_shape):
                shape = list(net.input_shape[i].dim)
            elif len(net.input_dim) >= 4 * (i + 1):
                shape = list(net.input_dim[4 * i:4 * i + 4])
            else:
                shape = None
            ins.append((name, shape))
    for l in layers:
        if l.type == "Input":
            shapes = list(l.input_param.shape)
            for j, top in enumerate(l.top):
                s = shapes[j] if j < len(shapes) else (shapes[0] if len(shapes) == 1 else None)
                ins.append((top, list(s.dim) if s is not None else None))
    if input_shape is not None and ins:
        ins[0] = (ins[0][0], list(input_shape))
    return ins


def _axis(axis, n):
    a = axis + n if axis < 0 else axis
    if not 0 <= a < n:
        raise GenError("axis %d out of range for %d dims" % (axis, n))
    return a


def conv_geometry(p):
    """(kh, kw, sh, sw, ph, pw, dh, dw) of a ConvolutionParameter: the _h/_w
    fields win, else the repeated field (one value for both, or h then w)."""
    def two(rep, hf, wf, default):
        if hf and p.HasField(hf):
            return getattr(p, hf), getattr(p, wf)
        v = list(rep) or [default]
        return v[0], v[1] if len(v) > 1 else v[0]

    k = two(p.kernel_size, "kernel_h", "kernel_w", None)
    if k[0] is None:
        raise GenError("convolution without a kernel size")
    return (k + two(p.stride, "stride_h", "stride_w", 1) + two(p.pad, "pad_h", "pad_w", 0)
            + two(p.dilation, None, None, 1))


def conv_out(n, k, s, p, d):
    return (n + 2 * p - (d * (k - 1) + 1)) // s + 1


def pool_shape(pb, l, b):
    p = l.pooling_param
    N, C, H, W = b
    if p.global_pooling:
        return [N, C, 1, 1]
    if p.HasField("kernel_size"):
        kh = kw = p.kernel_size
    elif p.HasField("kernel_h"):
        kh, kw = p.kernel_h, p.kernel_w
    else:
        raise GenError("layer '%s': pooling without a kernel" % l.name)
    sh, sw = (p.stride_h, p.stride_w) if p.HasField("stride_h") else (p.stride, p.stride)
    ph, pw = (p.pad_h, p.pad_w) if p.HasField("pad_h") else (p.pad, p.pad)
    floor = p.HasField("round_mode") and p.round_mode == pb.PoolingParameter.FLOOR
    rnd = (lambda a, c: a // c) if floor else (lambda a, c: -(-a // c))
    oh = rnd(H + 2 * ph - kh, sh) + 1
    ow = rnd(W + 2 * pw - kw, sw) + 1
    if ph or pw:
        # Caffe: the last pooling window must start inside the image.
        if (oh - 1) * sh >= H + ph:
            oh -= 1
        if (ow - 1) * sw >= W + pw:
            ow -= 1
    return [N, C, oh, ow]


def reshape_shape(l, b):
    p = l.reshape_param
    n = len(b)
    start = p.axis + n + 1 if p.axis < 0 else p.axis
    end = n if p.num_axes == -1 else start + p.num_axes
    replaced = b[start:end]
    new = []
    infer = None
    for i, d in enumerate(p.shape.dim):
        if d == 0:
            new.append(replaced[i])
        elif d == -1:
            infer = i
            new.append(1)
        else:
            new.append(d)
    if infer is not None:
        known = int(np.prod(new))
        new[infer] = int(np.prod(replaced)) // known
    out = b[:start] + new + b[end:]
    if int(np.prod(out)) != int(np.prod(b)):
        raise GenError("layer '%s': reshape %s -> %s changes the count" % (l.name, b, out))
    return out


def top_shapes(pb, l, bs):
    """Shapes of l's tops given its bottoms' shapes bs."""
    t = l.type
    ntop = len(l.top)
    if t in SAME_SHAPE:
        return [list(bs[0])] * ntop
    if t in CONV_TYPES or t == "Deconvolution":
        p = l.convolution_param
        kh, kw, sh, sw, ph, pw, dh, dw = conv_geometry(p)
        N, C, H, W = bs[0]
        if t == "Deconvolution":
            oh = sh * (H - 1) + dh * (kh - 1) + 1 - 2 * ph
            ow = sw * (W - 1) + dw * (kw - 1) + 1 - 2 * pw
        else:
            oh, ow = conv_out(H, kh, sh, ph, dh), conv_out(W, kw, sw, pw, dw)
        return [[N, p.num_output, oh, ow]] * ntop
    if t == "InnerProduct":
        a = _axis(l.inner_product_param.axis, len(bs[0]))
        return [bs[0][:a] + [l.inner_product_param.num_output]]
    if t == "Pooling":
        return [pool_shape(pb, l, bs[0])] * ntop
    if t == "Concat":
        p = l.concat_param
        a = _axis(p.concat_dim if p.HasField("concat_dim") else p.axis, len(bs[0]))
        out = list(bs[0])
        out[a] = sum(b[a] for b in bs)
        return [out]
    if t == "Slice":
        p = l.slice_param
        b = bs[0]
        a = _axis(p.slice_dim if p.HasField("slice_dim") else p.axis, len(b))
        pts = [0] + list(p.slice_point) + [b[a]] if p.slice_point else \
            [i * (b[a] // ntop) for i in range(ntop + 1)]
        return [b[:a] + [pts[i + 1] - pts[i]] + b[a + 1:] for i in range(ntop)]
    if t == "Split":
        return [list(bs[0])] * ntop
    if t == "Flatten":
        p = l.flatten_param
        b = bs[0]
        a, e = _axis(p.axis, len(b)), _axis(p.end_axis, len(b))
        return [b[:a] + [int(np.prod(b[a:e + 1]))] + b[e + 1:]]
    if t == "Reshape":
        return [reshape_shape(l, bs[0])]
    if t == "Crop":
        p = l.crop_param
        a = _axis(p.axis, len(bs[0]))
        return [bs[0][:a] + bs[1][a:]]
    if t == "Permute":
        order = list(l.permute_param.order)
        order += [i for i in range(len(bs[0])) if i not in order]
        return [[bs[0][i] for i in order]]
    if t == "Tile":
        p = l.tile_param
        out = list(bs[0])
        out[_axis(p.axis, len(out))] *= p.tiles
        return [out]
    if t == "Reduction":
        return [bs[0][:_axis(l.reduction_param.axis, len(bs[0]))]]
    if t == "Silence":
        return []
    raise GenError("layer '%s': shape inference does not know type '%s'" % (l.name, t))


def infer_shapes(pb, net, input_shape=None, phase=None):
    """{blob name: shape} after the whole net (in-place tops keep their
    shape), [(layer, bottom shapes, top shapes)] in order, and the inputs."""
    phase = pb.TEST if phase is None else phase
    layers = active_layers(pb, net, phase)
    shapes = {}
    inputs = []
    data_layer = any(l.type in DATA_TYPES for l in layers)
    if not (data_layer and input_shape is not None and not net.input
            and not any(l.type == "Input" for l in layers)):
        inputs = net_inputs(net, layers, input_shape)
        for name, shape in inputs:
            shapes[name] = shape
    per_layer = []
    for l in layers:
        if l.type == "Input":
            tops = [shapes[t] for t in l.top]
        elif l.type in DATA_TYPES:
            if input_shape is None:
                raise GenError("layer '%s' (%s) needs --input-shape" % (l.name, l.type))
            tops = [list(input_shape)] + [[input_shape[0]]] * (len(l.top) - 1)
            inputs.append((l.top[0], list(input_shape)))
        else:
            for b in l.bottom:
                if b not in shapes:
                    raise GenError("layer '%s': unknown bottom '%s'" % (l.name, b))
            bs = [shapes[b] for b in l.bottom]
            if any(b is None for b in bs):
                # Downstream of an input without a shape: unknown, which is
                # only an error for a layer that needs weights.
                tops = [None] * len(l.top)
            elif l.type.endswith("Loss") or l.type == "Accuracy":
                tops = [[]] * len(l.top)
            else:
                tops = top_shapes(pb, l, bs)
            per_layer.append((l, bs, tops))
            for name, s in zip(l.top, tops):
                shapes[name] = None if s is None else list(s)
            continue
        for name, s in zip(l.top, tops):
            shapes[name] = None if s is None else list(s)
    return shapes, per_layer, inputs


# ---------------------------------------------------------------- weights
#
# Activations stay O(1) in any net because the generator follows an estimate
# q of each blob's second moment E[x^2] (inputs: 1) through the layers:
# a linear layer's weights get std sqrt(1 / (fan_in * q_in)) (He-style: the
# halving by a ReLU shows in q_in instead of a gain of 2), and a BatchNorm's
# stored variance is q_in times a random factor in [0.5, 2] (one channel in
# eight: [0.005, 0.02]), so it normalizes roughly as a trained one would.  Residual sums and deep plain
# stacks then neither explode nor vanish, and a final Softmax is not
# saturated, so its output still shows small errors.

def _normal(rng, shape, std):
    return rng.normal(0.0, std, size=shape)


def _signed(rng, shape, lo, hi):
    mag = rng.uniform(lo, hi, size=shape)
    return mag * np.where(rng.random(size=shape) < 0.5, -1.0, 1.0)


def _affine_shape(b, axis, num_axes):
    a = _axis(axis, len(b))
    return b[a:] if num_axes == -1 else b[a:a + num_axes]


def _ms(arr):
    return float(np.mean(np.square(arr))) if np.size(arr) else 0.0


def layer_blobs(pb, l, bs, qs, rng, ov=None):
    """(weight arrays as float64 numpy arrays, q of the tops) of one layer,
    given its bottoms' shapes bs and second moments qs; ov: the layer's
    overrides ({"factor": 0.5} sets a BatchNorm's factor)."""
    ov = ov or {}
    t = l.type
    q = qs[0] if qs else 1.0
    if t in CONV_TYPES or t == "Deconvolution":
        p = l.convolution_param
        kh, kw, sh, sw, _, _, _, _ = conv_geometry(p)
        C = bs[0][1]
        group = p.group
        if t not in ("Convolution", "Deconvolution") and not p.HasField("group"):
            group = C
        if C % group or p.num_output % group:
            raise GenError("layer '%s': group %d does not divide %d inputs and %d outputs"
                           % (l.name, group, C, p.num_output))
        if t == "Deconvolution":
            shape = [C, p.num_output // group, kh, kw]
            fan_in = max(1.0, (C // group) * kh * kw / float(sh * sw))
        else:
            shape = [p.num_output, C // group, kh, kw]
            fan_in = (C // group) * kh * kw
        blobs = [_normal(rng, shape, np.sqrt(1.0 / (fan_in * q)))]
        if p.bias_term:
            blobs.append(_normal(rng, [p.num_output], 0.1))
        return blobs, 1.0 + (_ms(blobs[1]) if p.bias_term else 0.0)
    if t == "InnerProduct":
        p = l.inner_product_param
        a = _axis(p.axis, len(bs[0]))
        K = int(np.prod(bs[0][a:]))
        shape = [K, p.num_output] if p.transpose else [p.num_output, K]
        blobs = [_normal(rng, shape, np.sqrt(1.0 / (K * q)))]
        if p.bias_term:
            blobs.append(_normal(rng, [p.num_output], 0.1))
        return blobs, 1.0 + (_ms(blobs[1]) if p.bias_term else 0.0)
    if t == "BatchNorm":
        C = bs[0][1]
        factor = rng.uniform(0.5, 2.0)
        factor = ov.get("factor", factor)
        mean = rng.normal(0.0, 0.5 * np.sqrt(q), size=[C])
        # One channel in eight has a small variance, so that eps (1e-5 by
        # default) moves the result by ~1e-3 and a fold that drops it shows.
        var = q * np.where(rng.random(size=[C]) < 0.125, rng.uniform(0.005, 0.02, size=[C]),
                           rng.uniform(0.5, 2.0, size=[C]))
        if factor == 0:
            # Caffe then uses mean 0 and variance 0, whatever is stored.
            eps = l.batch_norm_param.eps
            return [mean, var, np.array([0.0])], q / eps
        return [mean * factor, var * factor, np.array([factor])], \
            float(np.mean((q + mean ** 2) / var))
    if t == "Scale":
        p = l.scale_param
        if len(l.bottom) > 1:
            blobs = [_normal(rng, bs[1], 0.3)] if p.bias_term else []
            return blobs, q * qs[1] + (_ms(blobs[0]) if blobs else 0.0)
        shape = _affine_shape(bs[0], p.axis, p.num_axes)
        blobs = [_signed(rng, shape, 0.5, 1.5)]
        if p.bias_term:
            blobs.append(_normal(rng, shape, 0.3))
        return blobs, q * _ms(blobs[0]) + (_ms(blobs[1]) if p.bias_term else 0.0)
    if t == "Bias":
        if len(l.bottom) > 1:
            return [], q + qs[1]
        p = l.bias_param
        blobs = [_normal(rng, _affine_shape(bs[0], p.axis, p.num_axes), 0.3)]
        return blobs, q + _ms(blobs[0])
    if t == "PReLU":
        # A shared slope is a 0-axis blob in Caffe (written with no shape).
        shape = [] if l.prelu_param.channel_shared else [bs[0][1]]
        blobs = [rng.uniform(-0.3, 0.6, size=shape)]
        return blobs, q * (1.0 + _ms(blobs[0])) / 2
    if t == "Normalize":
        shape = [1] if l.norm_param.channel_shared else [bs[0][1]]
        blobs = [rng.uniform(0.5, 2.0, size=shape)]
        return blobs, _ms(blobs[0]) / bs[0][1]
    if t in ("Embed", "RNN", "LSTM"):
        raise GenError("layer '%s': no weights generator for type '%s'" % (l.name, t))
    return [], moment_through(l, bs, qs)


def moment_through(l, bs, qs):
    """q of the tops of a layer without weights."""
    t = l.type
    q = qs[0] if qs else 1.0
    if t == "ReLU":
        ns = l.relu_param.negative_slope
        return q * (1.0 + ns * ns) / 2
    if t == "Eltwise":
        p = l.eltwise_param
        if p.operation == pb_eltwise_prod:
            return float(np.prod(qs))
        if p.operation == pb_eltwise_max:
            return max(qs)
        coeff = list(p.coeff) or [1.0] * len(qs)
        return float(sum(c * c * v for c, v in zip(coeff, qs)))
    if t == "Concat":
        return float(np.mean(qs))
    if t == "Power":
        p = l.power_param
        return (p.scale ** 2 * q + p.shift ** 2) if p.power == 1 else q
    if t in ("Sigmoid", "Softmax"):
        return 0.3
    if t in ("TanH", "Clip"):
        return min(q, 1.0)
    return q


pb_eltwise_prod, pb_eltwise_max = 0, 2   # EltwiseParameter.EltwiseOp PROD, MAX


def fill_blob(blob, arr):
    """Set the modern shape and the data of a BlobProto (a 0-axis blob gets
    no shape field at all, as Caffe's Blob::ToProto writes it).  The data goes in as
    the packed wire form of field 5 (`repeated float data [packed]`) merged
    by protobuf's own parser: the same message as data.extend(), 10x faster."""
    blob.shape.dim.extend(int(d) for d in np.shape(arr))
    raw = np.asarray(arr, dtype="<f4").ravel().tobytes()
    if raw:
        blob.MergeFromString(b"\x2a" + varint(len(raw)) + raw)


def make_weights(pb, net, input_shape=None, seed=0, phase=None, overrides=None):
    """A NetParameter holding name, type and blobs of every layer with weights.
    overrides: {"LAYER.factor": v} a BatchNorm's moving-average factor (0
    allowed), {"LAYER.blobK": v} blob K filled with v.  A layer whose name
    starts with "ones" gets weights 1 and biases 0 (identity Scales)."""
    overrides = dict(overrides or {})
    unused = set(overrides)
    _, per_layer, inputs = infer_shapes(pb, net, input_shape, phase)
    rng = np.random.default_rng(seed)
    moment = dict((name, 1.0) for name, _ in inputs)
    out = pb.NetParameter()
    out.name = net.name
    for l, bs, _ in per_layer:
        qs = [moment.get(b, 1.0) for b in l.bottom]
        if any(b is None for b in bs) and (l.type in WEIGHTED or l.name in [k.rpartition(".")[0] for k in overrides]):
            raise GenError("layer '%s' (%s) needs weights but its input has no shape (use --input-shape)"
                           % (l.name, l.type))
        ov = {}
        for key, v in overrides.items():
            name, _, what = key.rpartition(".")
            if name == l.name:
                ov[what] = v
                unused.discard(key)
        blobs, q = layer_blobs(pb, l, bs, qs, rng, ov)
        if l.name.startswith("ones") and blobs:
            # Layers named ones*: weights 1, any further blob (bias) 0.
            blobs = [np.ones(np.shape(blobs[0]))] + [np.zeros(np.shape(b)) for b in blobs[1:]]
        for what, v in ov.items():
            if what.startswith("blob") and what[4:].isdigit() and int(what[4:]) < len(blobs):
                blobs[int(what[4:])] = np.full(np.shape(blobs[int(what[4:])]), v)
            elif what != "factor" or l.type != "BatchNorm":
                raise GenError("layer '%s' (%s): no override '%s'" % (l.name, l.type, what))
        for top in l.top:
            moment[top] = max(q, 1e-6)
        if not blobs:
            continue
        w = out.layer.add()
        w.name = l.name
        w.type = l.type
        for arr in blobs:
            fill_blob(w.blobs.add(), arr)
    if unused:
        raise GenError("overrides for no layer: %s" % ", ".join(sorted(unused)))
    return out


def write_weights(pb, prototxt, out_path, seed=0, input_shape=None, phase=None, overrides=None):
    net = read_prototxt(pb, prototxt)
    w = make_weights(pb, net, input_shape, seed, phase, overrides)
    with open(out_path, "wb") as f:
        f.write(w.SerializeToString())
    return w


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("prototxt")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--input-shape", type=parse_shape)
    ap.add_argument("--phase", choices=["test", "train"], default="test")
    ap.add_argument("--set", action="append", default=[], metavar="LAYER.KEY=V",
                    help="bn1.factor=0.5: a BatchNorm's factor; conv1.blob1=0: a blob filled with V")
    ap.add_argument("--pb-dir", help="where caffe_pb2.py is, or is compiled to")
    ap.add_argument("--protoc")
    a = ap.parse_args(argv)
    try:
        pb = load_caffe_pb2(a.pb_dir, protoc=a.protoc)
        phase = pb.TRAIN if a.phase == "train" else pb.TEST
        overrides = {}
        for kv in a.set:
            k, eq, v = kv.partition("=")
            if not eq or "." not in k:
                raise GenError("--set wants LAYER.KEY=VALUE, not '%s'" % kv)
            overrides[k] = float(v)
        w = write_weights(pb, a.prototxt, a.out, a.seed, a.input_shape, phase, overrides)
    except (GenError, OSError) as e:
        print("genweights: %s: %s" % (a.prototxt, e), file=sys.stderr)
        return 1
    n = sum(int(np.prod(b.shape.dim)) for l in w.layer for b in l.blobs)
    print("%s: %d layers with weights, %d values" % (a.out, len(w.layer), n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
