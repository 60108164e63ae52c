"""The optimization passes against OpenCV DNN, case by case and on whole nets.

usage: check_passes.py --caffeopt BIN --scratch DIR [--src SRC] [--protoc P]
                       [--no-whole] [--whole-only] [--self-test]
                       [--ignore-unknown-passes] [CASE.prototxt ...]

For every case (tests/passes/*/*.prototxt, or the files named), with the
directives of its '#' comments (the vocabulary is in tests/passes/README.md):
  1. random seeded weights (genweights.py: Google's protobuf, our schema);
  2. caffeopt optimize -q -m case -w gen.caffemodel -o opt.prototxt
     -W opt.caffemodel --report opt.json --disable all --enable PASSES [args];
  3. the expectations, on opt.prototxt (read with text_format) and on the
     report's fired/refused notes;
  4. both nets in OpenCV DNN (backend OPENCV, target CPU, fusion off) on 3
     seeded inputs: the same network outputs (blob names, shapes), each
     within tol (1e-5) x max|reference output|.  Fold-input cases feed the
     reference (x - mean) * scale and the optimized net x.  Layers OpenCV
     cannot run are first rewritten, in both nets alike, into equivalent ones
     it can (see opencv_form).
Then the whole nets, default passes: ResNet-50 and MobileNet v1 with random
weights, the bundled CIFAR-10 model in deploy and train_val form.

--self-test proves the check can fail: one bias of an optimized caffemodel
1% off must be reported, and so must expectations the result does not meet.

Exit 0 when every case passes, 1 otherwise.  One line per case, e.g.
  ok   fold_affine/conv_bn_scale     rel 2.1e-07 (3 samples; outputs relu1)
"""
import argparse
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import zlib

import cv2
import numpy as np
from google.protobuf import text_format

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import genweights  # noqa: E402

TOL = 1e-5
SAMPLES = 3
DIRECTIVES = ("expect", "passes", "run", "args", "keep", "keep-blob", "error", "gen", "extra", "seed",
              "tol", "input-shape", "weights", "compare", "numbers", "oracle")
DIRECTIVE_RE = re.compile(r"^\s*#\s*(%s)\s*:\s*(.*?)\s*$" % "|".join(DIRECTIVES))
# Options whose value belongs to a pass: left out of the reference run.
PASS_OPTS = {"--enable", "--disable", "--mean", "--input-scale", "--keep-blob"}
# Spellings case authors used for caffeopt's flags.
FLAG_ALIASES = {"--scale": "--input-scale", "--keep": "--keep-blob"}
STRUCT_RE = re.compile(r"^\s*([^\s(]+)\s+([^\s(]+)\(([^)]*)\)\s*(?:\[(.*)\])?\s*$")


class CaseError(Exception):
    pass


class Case:
    def __init__(self, name, prototxt):
        self.name = name
        self.prototxt = prototxt
        self.weights = None        # a real caffemodel; None: generate
        self.args = []
        self.passes = None         # list of pass names, or "default"
        self.items = []            # simple expectations ("no BatchNorm", ...)
        self.layers = None         # the full expected layer list, or None
        self.fired = []            # layers some pass must report as fired
        self.refused = []          # ... as refused
        self.error = None
        self.gen = {}              # genweights overrides
        self.seed = zlib.crc32(name.encode()) & 0x7fffffff
        self.tol = TOL
        self.input_shape = None
        self.compare = True        # True, False, or "runs": the optimized net only
        self.pinned = []           # --keep-blob names: network outputs too
        self.retype = {}           # layer -> type, given to caffeopt changed
        self.extra = []            # (name, with weights) added to the caffemodel


# ---------------------------------------------------------------- cases

def parse_expect(c, val):
    """One `# expect:` value: sections split by '|'."""
    for sec in val.split("|"):
        sec = sec.strip()
        m = re.match(r"^(error|fired|refused)\s*:\s*(.*)$", sec)
        if m and m.group(1) == "error":
            c.error = m.group(2)
        elif m:
            getattr(c, m.group(1)).extend(n.strip() for n in m.group(2).split(",") if n.strip())
        elif "->" in sec and "(" in sec:
            c.layers = (c.layers or []) + [parse_layer_spec(e) for e in sec.split(";") if e.strip()]
        elif sec:
            c.items += [e.strip() for e in sec.split(",") if e.strip()]


def parse_layer_spec(text):
    """'name Type(b1,b2->t1)[path=value,...]' -> (name, type, bottoms, tops, checks)."""
    m = STRUCT_RE.match(text)
    if not m or "->" not in m.group(3):
        raise CaseError("bad layer in # expect: '%s' (want: name Type(bottoms->tops)[field=value,...])"
                        % text.strip())
    bots, tops = m.group(3).split("->", 1)
    checks = []
    if m.group(4):
        for f in re.split(r",(?=\s*[\w.]+\s*=)", m.group(4)):
            path, _, value = f.partition("=")
            checks.append((path.strip(), value.strip()))
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    return m.group(1), m.group(2), split(bots), split(tops), checks


def split_passes(s):
    return [p for p in re.split(r"[,\s]+", s.strip()) if p]


def parse_run(c, val):
    """`# run:` / `# args:` words: -p PASSES and --retype LAYER:TYPE are the
    harness's; the rest are caffeopt flags (--keep, --scale as aliases)."""
    words = shlex.split(val)
    i = 0
    while i < len(words):
        w = FLAG_ALIASES.get(words[i], words[i])
        arg = words[i + 1] if i + 1 < len(words) else None
        if w in ("-p", "--passes") and arg is not None:
            c.passes = (c.passes if isinstance(c.passes, list) else []) + split_passes(arg)
        elif w == "--retype" and arg is not None and ":" in arg:
            layer, _, typ = arg.partition(":")
            c.retype[layer] = typ
        elif w == "--keep-blob" and arg is not None:
            c.args += [w, arg]
            c.pinned.append(arg)
        else:
            c.args.append(w)
            i += 1
            continue
        i += 2


def read_case(path, root):
    rel = os.path.relpath(path, root)
    c = Case(os.path.splitext(rel)[0].replace(os.sep, "/"), path)
    with open(path) as f:
        for line in f:
            m = DIRECTIVE_RE.match(line)
            if not m:
                continue
            key, val = m.group(1), m.group(2)
            if key == "expect":
                parse_expect(c, val)
            elif key == "passes":
                c.passes = "default" if val == "default" else split_passes(val)
            elif key in ("run", "args"):
                parse_run(c, val)
            elif key in ("keep", "keep-blob"):
                for b in re.split(r"[,\s]+", val):
                    if b:
                        c.args += ["--keep-blob", b]
                        c.pinned.append(b)
            elif key == "extra":
                c.extra += [(n, not no) for n, no in re.findall(r"'([^']+)'\s*\((no\s+)?weights", val)]
            elif key == "error":
                c.error = val
            elif key == "gen":
                for kv in re.split(r"[,\s]+", val):
                    if kv:
                        k, _, v = kv.partition("=")
                        c.gen[k] = float(v)
            elif key == "seed":
                c.seed = int(val)
            elif key == "tol":
                c.tol = float(val)
            elif key == "input-shape":
                c.input_shape = genweights.parse_shape(val)
            elif key == "weights":
                c.weights = os.path.join(os.path.dirname(path), val)
            elif key in ("compare", "numbers", "oracle"):
                word = (val.split() or ["yes"])[0].lower()
                c.compare = "runs" if word == "runs" else word not in ("no", "none", "false", "0", "off")
    if c.passes is None:
        c.passes = [os.path.basename(os.path.dirname(path)).replace("_", "-")]
    return c


def whole_net_cases(src):
    arch = os.path.join(src, "tests", "data", "arch")
    model = os.path.join(src, "example-project", "model")
    out = []
    for net in ("resnet50", "mobilenet_v1"):
        c = Case("whole/" + net, os.path.join(arch, net + "_deploy.prototxt"))
        c.passes = "default"
        c.seed = 1
        c.items = ["no BatchNorm", "no Scale", "output prob"]
        out.append(c)
    c = Case("whole/cifar10_deploy", os.path.join(model, "train_val.prototxt"))
    c.weights = os.path.join(model, "cifar10.caffemodel")
    c.passes = "default"
    c.args = ["--deploy", "--input-shape", "1,3,32,32"]
    c.items = ["no Dropout"]
    out.append(c)
    c = Case("whole/cifar10_train_val", os.path.join(model, "train_val.prototxt"))
    c.weights = os.path.join(model, "cifar10.caffemodel")
    c.passes = "default"
    c.compare = False
    c.items = ["no Dropout", "1 Data", "1 Accuracy", "1 SoftmaxWithLoss"]
    out.append(c)
    return out


def known_passes(caffeopt):
    r = subprocess.run([caffeopt, "optimize", "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    names, on = [], False
    for line in r.stdout.splitlines():
        if line.startswith("passes"):
            on = True
        elif on:
            m = re.match(r"^\s*\*?\s*([a-z][a-z0-9-]*)\s", line)
            if m:
                names.append(m.group(1))
    return names


def pass_flags(c, env):
    if c.passes == "default":
        return []
    names = list(c.passes)
    unknown = [p for p in names if p not in env["known"]]
    if unknown and env["ignore_unknown"]:
        names = [p for p in names if p in env["known"]]
    elif unknown:
        raise CaseError("this caffeopt has no pass %s (it has: %s)"
                        % (", ".join(unknown), ", ".join(env["known"])))
    return ["--disable", "all"] + (["--enable", ",".join(names)] if names else [])


def option_value(args, flag):
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a[len(flag) + 1:]
    return None


def without_pass_opts(args):
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in PASS_OPTS:
            skip = True
        elif a.split("=")[0] not in PASS_OPTS:
            out.append(a)
    return out


# ---------------------------------------------------------------- nets

def read_weights(pb, path):
    w = pb.NetParameter()
    with open(path, "rb") as f:
        w.ParseFromString(f.read())
    return w


def net_outputs(pb, net, pinned=()):
    """{blob: ((last producer layer, its first top), top index)} of the blobs whose last
    version nobody reads (TEST phase), Caffe's network outputs, and of the
    pinned (--keep-blob) blobs."""
    latest = {}
    for l in genweights.active_layers(pb, net, pb.TEST):
        for b in l.bottom:
            if b in latest:
                latest[b] = (latest[b][0], latest[b][1], True)
        for k, t in enumerate(l.top):
            latest[t] = ((l.name, l.top[0]), k, False)
    return dict((b, (v[0], v[1])) for b, v in latest.items() if not v[2] or b in pinned)


def net_inputs(pb, net):
    return genweights.net_inputs(net, genweights.active_layers(pb, net, pb.TEST), None)


def blob_dims(b):
    if b.HasField("shape"):
        return list(b.shape.dim)
    legacy = [b.num, b.channels, b.height, b.width]
    return legacy if any(b.HasField(f) for f in ("num", "channels", "height", "width")) else []


def set_blob(b, arr):
    b.Clear()
    genweights.fill_blob(b, arr)


def blob_array(b):
    return np.array(b.data, dtype=np.float64).reshape(blob_dims(b) or [])


def opencv_form(pb, prototxt, caffemodel, input_shape, outdir, tag):
    """(prototxt, caffemodel) for OpenCV 4.6: the files themselves, or an
    equivalent rewrite when they hold what OpenCV cannot run:
      DepthwiseConvolution          -> Convolution, group = channels
      InnerProduct transpose: true  -> the weight transposed (OpenCV
                                       ignores the flag)
      Bias (one bottom)             -> Scale with multipliers 1 and the bias
      Scale num_axes: 0             -> one multiplier per channel
      Clip (no clip_param in OpenCV's schema)
                                    -> Power, ReLU, Power, ReLU, Power:
                                       b - relu((b - a) - relu(x - a))
      a 0-axis blob (shared PReLU)  -> shape [1]"""
    net = genweights.read_prototxt(pb, prototxt)
    w = read_weights(pb, caffemodel)
    wl = dict((l.name, l) for l in w.layer)
    changed = []
    per = None

    def bottom_shape(l):
        nonlocal per
        if per is None:
            per = dict((x.name, bs) for x, bs, _ in genweights.infer_shapes(pb, net, input_shape)[1])
        return per[l.name][0]

    new_layers = []
    for l in net.layer:
        t = l.type
        if t == "DepthwiseConvolution":
            if not l.convolution_param.HasField("group"):
                l.convolution_param.group = bottom_shape(l)[1]
            l.type = "Convolution"
            changed.append(l.name)
        elif t == "InnerProduct" and l.inner_product_param.transpose and l.name in wl:
            b = wl[l.name].blobs[0]
            d = blob_dims(b)
            K, N = d[-2], d[-1]
            set_blob(b, np.array(b.data, dtype=np.float64).reshape(K, N).T)
            l.inner_product_param.ClearField("transpose")
            changed.append(l.name)
        elif t == "Bias" and len(l.bottom) == 1:
            axis, num_axes = l.bias_param.axis, l.bias_param.num_axes
            l.ClearField("bias_param")
            l.type = "Scale"
            l.scale_param.axis = axis
            l.scale_param.num_axes = num_axes
            l.scale_param.bias_term = True
            if l.name in wl:
                bias = blob_array(wl[l.name].blobs[0])
                del wl[l.name].blobs[:]
                genweights.fill_blob(wl[l.name].blobs.add(), np.ones_like(bias))
                genweights.fill_blob(wl[l.name].blobs.add(), bias)
                wl[l.name].type = "Scale"
            changed.append(l.name)
        if l.type == "Scale" and len(l.bottom) == 1 and l.scale_param.num_axes == 0:
            C = bottom_shape(l)[1]
            l.scale_param.axis = 1
            l.scale_param.num_axes = 1
            if l.name in wl:
                for b in wl[l.name].blobs:
                    set_blob(b, np.full([C], float(b.data[0])))
            changed.append(l.name)
        if t == "Clip":
            a, b = l.clip_param.min, l.clip_param.max
            chain = [("Power", (1.0, -a)), ("ReLU", None), ("Power", (-1.0, b - a)), ("ReLU", None),
                     ("Power", (-1.0, b))]
            for i, (typ, ps) in enumerate(chain):
                x = pb.LayerParameter()
                x.name = l.name if i == len(chain) - 1 else "%s/opencv%d" % (l.name, i)
                x.type = typ
                x.bottom.append(l.bottom[0] if i == 0 else l.top[0])
                x.top.append(l.top[0])
                x.include.extend(l.include)
                x.exclude.extend(l.exclude)
                if ps:
                    x.power_param.scale, x.power_param.shift = ps
                new_layers.append(x)
            changed.append(l.name)
            continue
        new_layers.append(l)
    for l in w.layer:
        for b in l.blobs:
            if not blob_dims(b) and len(b.data) == 1:
                b.shape.dim.append(1)
                changed.append(l.name)
    if not changed:
        return prototxt, caffemodel
    del net.layer[:]
    net.layer.extend(new_layers)
    p = os.path.join(outdir, tag + ".opencv.prototxt")
    m = os.path.join(outdir, tag + ".opencv.caffemodel")
    with open(p, "w") as f:
        f.write(text_format.MessageToString(net))
    with open(m, "wb") as f:
        f.write(w.SerializeToString())
    return p, m


def load_cv(prototxt, caffemodel):
    net = cv2.dnn.readNetFromCaffe(prototxt, caffemodel)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    # Layer by layer: OpenCV's own BatchNorm/Scale fusion would fold the
    # reference just as our passes do.
    net.enableFusion(False)
    return net


def run_cv(net, producers, feeds, types=None):
    """{blob: array} of the network outputs for the given input feeds;
    types: {OpenCV layer name: Caffe type}."""
    types = types or {}
    for name, x in feeds.items():
        net.setInput(x, name)
    known = set(net.getLayerNames())

    def cv_name(layer, top0):
        # OpenCV's Caffe importer names a Convolution after its top.
        if layer in known:
            return layer
        if top0 in known:
            return top0
        raise CaseError("OpenCV has no layer '%s' (nor '%s')" % (layer, top0))

    names = dict((b, cv_name(*p)) for b, (p, _) in producers.items())
    types = dict((names[b], types.get(p[0])) for b, (p, _) in producers.items())
    seen = set(net.getUnconnectedOutLayersNames())
    wanted = set(names.values())
    if seen - wanted:
        raise CaseError("OpenCV sees output layers %s that produce no network output" % sorted(seen - wanted))
    layers = sorted(wanted | seen)
    by_layer = dict(zip(layers, net.forwardAndRetrieve(layers)))
    out = {}
    for b, (_, k) in producers.items():
        got = by_layer[names[b]]
        if k >= len(got) and types.get(names[b]) == "Split":
            k = 0  # OpenCV's Split has one output for all its copies
        if k >= len(got):
            raise CaseError("OpenCV layer '%s' has %d outputs, no output %d ('%s')" % (names[b], len(got), k, b))
        out[b] = np.array(got[k])
    return out


def fold_of(args):
    mean, scale = option_value(args, "--mean"), option_value(args, "--input-scale")
    if mean is None and scale is None:
        return None
    return ([float(v) for v in mean.split(",")] if mean else [],
            float(scale) if scale is not None else 1.0)


def folded_input(inputs, fold, report):
    """Which input the mean and scale belong to: the 4-D input whose channels
    fit the mean; among several, the one fold-input names in its notes."""
    mean = fold[0]
    cands = [n for n, s in inputs if len(s) == 4 and (len(mean) <= 1 or s[1] == len(mean))]
    if len(cands) > 1:
        named = set()
        for e in report.get("optimize", {}).get("passes", []):
            if e.get("name") == "fold-input":
                named |= set(n.get("fired") for n in e.get("notes", []))
        cands = [n for n in cands if n in named] or cands
    return cands[0] if cands else inputs[0][0]


def make_feeds(inputs, rng, fold, folded):
    """(reference feeds, optimized feeds): uniform in [-2, 2], except the
    folded input: the optimized net gets pixels x in [0, 255] (with a mean)
    or x = [-2, 2] / scale, and the reference (x - mean) * scale."""
    ref, opt = {}, {}
    for name, shape in inputs:
        if fold is None or name != folded:
            x = rng.uniform(-2, 2, size=shape).astype(np.float32)
            ref[name] = opt[name] = x
            continue
        mean, scale = fold
        C = shape[1]
        if len(mean) not in (0, 1, C):
            raise CaseError("--mean has %d values for %d channels" % (len(mean), C))
        m = (np.zeros(C) + (np.array(mean) if mean else 0.0)).reshape([1, C] + [1] * (len(shape) - 2))
        if mean:
            x = rng.uniform(0, 255, size=shape).astype(np.float32)
        else:
            x = (rng.uniform(-2, 2, size=shape) / scale).astype(np.float32)
        opt[name] = x
        ref[name] = ((x.astype(np.float64) - m) * scale).astype(np.float32)
    return ref, opt


def compare(c, pb, ref, opt, report, samples=SAMPLES):
    """{output: (rel, max abs diff, max|ref|)} over every output and sample;
    a CaseError when names or shapes disagree."""
    ref_outs, opt_outs = net_outputs(pb, ref["net"], c.pinned), net_outputs(pb, opt["net"], c.pinned)
    if sorted(ref_outs) != sorted(opt_outs):
        raise CaseError("network outputs differ: %s -> %s" % (sorted(ref_outs), sorted(opt_outs)))
    ref_in, opt_in = net_inputs(pb, ref["net"]), net_inputs(pb, opt["net"])
    if sorted(ref_in) != sorted(opt_in):
        raise CaseError("network inputs differ: %s -> %s" % (ref_in, opt_in))
    net_a = load_cv(*ref["cv"])
    net_b = load_cv(*opt["cv"])
    cv_a = genweights.read_prototxt(pb, ref["cv"][0])
    cv_b = genweights.read_prototxt(pb, opt["cv"][0])
    prod_a, prod_b = net_outputs(pb, cv_a, c.pinned), net_outputs(pb, cv_b, c.pinned)
    types_a = dict((l.name, l.type) for l in cv_a.layer)
    types_b = dict((l.name, l.type) for l in cv_b.layer)
    rng = np.random.default_rng(c.seed)
    fold = fold_of(c.args)
    folded = folded_input(ref_in, fold, report) if fold else None
    ys_a, ys_b = [], []
    for _ in range(samples):
        fa, fb = make_feeds(ref_in, rng, fold, folded)
        ys_a.append(run_cv(net_a, prod_a, fa, types_a))
        ys_b.append(run_cv(net_b, prod_b, fb, types_b))
    worst = {}
    for name in sorted(ref_outs):
        scale = max(float(np.max(np.abs(y[name]))) for y in ys_a)
        if not all(np.all(np.isfinite(y[name])) for y in ys_a) or scale == 0:
            raise CaseError("%s: the reference output is not finite or all zero" % name)
        diff = 0.0
        for ya, yb in zip(ys_a, ys_b):
            if ya[name].shape != yb[name].shape:
                raise CaseError("%s: shape %s -> %s" % (name, ya[name].shape, yb[name].shape))
            d = np.abs(ya[name].astype(np.float64) - yb[name])
            diff = max(diff, float(np.max(d)) if np.all(np.isfinite(d)) else float("inf"))
        worst[name] = (diff / scale, diff, scale)
    return worst


# ---------------------------------------------------------------- expect

def field_value(msg, path):
    """The value at a dotted field path, or None when a field on it is unset."""
    for part in path.split("."):
        fd = msg.DESCRIPTOR.fields_by_name.get(part)
        if fd is None:
            raise CaseError("no field '%s' in %s" % (part, msg.DESCRIPTOR.name))
        if fd.label == fd.LABEL_REPEATED:
            v = list(getattr(msg, part))
            return v or None
        if not msg.HasField(part):
            return None
        msg = getattr(msg, part)
        if fd.type == fd.TYPE_ENUM:
            return fd.enum_type.values_by_number[msg].name
    return msg


def value_matches(got, want):
    if want == "*":
        return got is not None
    if want == "absent":
        return got is None
    if got is None:
        return False
    if isinstance(got, list):
        return ",".join(str(v) for v in got) == want or (len(got) == 1 and value_matches(got[0], want))
    if isinstance(got, bool):
        return want.lower() == str(got).lower()
    if isinstance(got, (int, float)):
        try:
            return abs(float(want) - got) <= 1e-6 * max(1.0, abs(got))
        except ValueError:
            return False
    if isinstance(got, str):
        return got == want.strip('"')
    return False


def notes_of(report, kind):
    out = set()
    for e in report.get("optimize", {}).get("passes", []):
        for n in e.get("notes", []):
            if kind in n:
                out.add(n[kind])
    return out


def layer_sig(l):
    return "%s %s(%s->%s)" % (l.name, l.type, ",".join(l.bottom), ",".join(l.top))


def check_expect(pb, c, net, weights, report, ref_net):
    """The expectations the optimized net does not meet, as messages."""
    layers = genweights.active_layers(pb, net, pb.TEST)
    types = [l.type for l in layers]
    byname = dict((l.name, l) for l in layers)
    bad = []
    for item in c.items:
        w = item.split()
        neg = w[0] == "no"
        if neg:
            w = w[1:]
        if not w:
            bad.append("'%s': not an expectation (tests/passes/README.md)" % item)
        elif w[0] == "layers" and len(w) == 2 and w[1].isdigit() and not neg:
            if len(layers) != int(w[1]):
                bad.append("%s: %d layers" % (item, len(layers)))
        elif w[0] in ("layer", "keeps") and len(w) == 2:
            if (w[1] in byname) == neg:
                bad.append(item)
        elif w[0] == "inplace" and len(w) == 2:
            l = byname.get(w[1])
            if l is None:
                bad.append("%s: no layer %s" % (item, w[1]))
            elif (bool(l.top) and bool(l.bottom) and l.top[0] == l.bottom[0]) == neg:
                bad.append("%s: %s" % (item, layer_sig(l)))
        elif w[0] == "reads" and len(w) == 3:
            l = byname.get(w[1])
            if l is None:
                bad.append("%s: no layer %s" % (item, w[1]))
            elif (w[2] in l.bottom) == neg:
                bad.append("%s: %s" % (item, layer_sig(l)))
        elif w[0] == "output" and len(w) == 2:
            outs = net_outputs(pb, net, c.pinned)
            if (w[1] in outs) == neg:
                bad.append("%s: outputs are %s" % (item, sorted(outs)))
        elif w[0] == "unchanged" and len(w) == 1 and not neg:
            a = [layer_sig(l) for l in layers]
            b = [layer_sig(l) for l in genweights.active_layers(pb, ref_net, pb.TEST)]
            if a != b:
                bad.append("unchanged: %s -> %s" % ("; ".join(b), "; ".join(a)))
        elif w[0] == "pruned" and len(w) == 1 and not neg:
            extra = [l.name for l in weights.layer if l.name not in byname]
            if extra:
                bad.append("pruned: the caffemodel keeps %s" % extra)
        elif w[0] in ("fired", "refused") and len(w) == 2 and not neg:
            if w[1] not in notes_of(report, w[0]):
                bad.append("%s: %s notes are for %s" % (item, w[0], sorted(notes_of(report, w[0]))))
        elif len(w) == 1 and neg:
            if w[0] in types:
                bad.append("%s: %d left" % (item, types.count(w[0])))
        elif len(w) == 2 and not neg and (w[0].isdigit() or w[1].isdigit()):
            n, t = (int(w[0]), w[1]) if w[0].isdigit() else (int(w[1]), w[0])
            if types.count(t) != n:
                bad.append("%s: %d" % (item, types.count(t)))
        else:
            bad.append("'%s': not an expectation (tests/passes/README.md)" % item)
    for kind in ("fired", "refused"):
        missing = [n for n in getattr(c, kind) if n not in notes_of(report, kind)]
        if missing:
            bad.append("%s: %s not reported (%s notes: %s)"
                       % (kind, ", ".join(missing), kind, ", ".join(sorted(notes_of(report, kind))) or "none"))
    if c.layers is not None:
        got = ["%s %s(%s->%s)" % (l.name, l.type, ",".join(l.bottom), ",".join(l.top)) for l in layers]
        want = ["%s %s(%s->%s)" % (n, t, ",".join(b), ",".join(tp)) for n, t, b, tp, _ in c.layers]
        if got != want:
            bad.append("layers: want %s\n    got  %s" % ("; ".join(want), "; ".join(got)))
        else:
            for (n, _, _, _, checks), l in zip(c.layers, layers):
                for path, value in checks:
                    v = field_value(l, path)
                    if not value_matches(v, value):
                        bad.append("layer %s: %s=%s, want %s" % (n, path, "absent" if v is None else v, value))
    return bad


# ---------------------------------------------------------------- one case

def data_layer_shape(pb, net):
    """An input shape for a net that reads a data layer and says no other:
    1 x (mean_value channels, else 3) x crop_size^2 (else 8 x 8)."""
    for l in genweights.active_layers(pb, net, pb.TEST):
        if l.type in genweights.DATA_TYPES:
            tp = l.transform_param
            C = len(tp.mean_value) if len(tp.mean_value) > 1 else 3
            S = tp.crop_size or 8
            return [1, C, S, S]
    return None


def caffeopt_run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)


def same_weights(pb, net, wa, wb):
    """Names of the layers of net whose blobs differ between two caffemodels."""
    a = dict((l.name, l) for l in wa.layer)
    b = dict((l.name, l) for l in wb.layer)
    out = []
    for l in genweights.active_layers(pb, net, pb.TEST):
        la, lb = a.get(l.name), b.get(l.name)
        da = [list(x.data) for x in la.blobs] if la else []
        db = [list(x.data) for x in lb.blobs] if lb else []
        if da != db:
            out.append(l.name)
    return out


def run_case(c, env):
    """(figure, state, problems) of one case: state is what --self-test
    reuses; a CaseError when the case cannot be checked at all."""
    pb, caffeopt = env["pb"], env["caffeopt"]
    d = os.path.join(env["scratch"], c.name.replace("/", "__"))
    os.makedirs(d, exist_ok=True)
    flags = pass_flags(c, env)
    net = genweights.read_prototxt(pb, c.prototxt)
    arg_shape = option_value(c.args, "--input-shape")
    shape = c.input_shape or (genweights.parse_shape(arg_shape) if arg_shape else None) \
        or data_layer_shape(pb, net)

    weights = c.weights
    if weights is None:
        weights = os.path.join(d, "gen.caffemodel")
        try:
            w = genweights.make_weights(pb, net, shape, c.seed, overrides=c.gen)
            for name, with_weights in c.extra:
                x = w.layer.add()
                x.name = name
                x.type = "InnerProduct" if with_weights else "Silence"
                if with_weights:
                    genweights.fill_blob(x.blobs.add(), np.random.default_rng(c.seed).normal(size=[4, 8]))
                    genweights.fill_blob(x.blobs.add(), np.zeros([4]))
            with open(weights, "wb") as f:
                f.write(w.SerializeToString())
        except genweights.GenError as e:
            if c.error is None:
                raise CaseError("genweights: %s" % e)
            weights = None  # an error case may be beyond shape inference

    # --retype: the weights fit the case; caffeopt gets the layer retyped.
    case_p = c.prototxt
    if c.retype:
        left = dict(c.retype)
        for l in net.layer:
            if l.name in left:
                l.type = left.pop(l.name)
        if left:
            raise CaseError("--retype names no layer: %s" % ", ".join(left))
        case_p = os.path.join(d, "case.prototxt")
        with open(case_p, "w") as f:
            f.write(text_format.MessageToString(net))

    out_p, out_w, rep = (os.path.join(d, n) for n in ("opt.prototxt", "opt.caffemodel", "opt.json"))
    for p in (out_p, out_w, rep):
        if os.path.exists(p):
            os.remove(p)
    cmd = [caffeopt, "optimize", "-q", "-m", case_p] + (["-w", weights] if weights else []) + \
        ["-o", out_p] + (["-W", out_w] if weights else []) + ["--report", rep] + flags + c.args
    r = caffeopt_run(cmd)
    if c.error is not None:
        if r.returncode != 1:
            return "", None, ["exit %d, expected 1 with error '%s'%s"
                              % (r.returncode, c.error, ("\n  " + r.stderr.strip()) if r.stderr else "")]
        if c.error not in r.stderr:
            return "", None, ["error does not contain '%s': %s" % (c.error, r.stderr.strip())]
        if os.path.exists(out_p) or os.path.exists(out_w):
            return "", None, ["a failed run wrote an output"]
        return "error as expected", None, []
    if r.returncode != 0:
        raise CaseError("caffeopt exit %d: %s\n  %s" % (r.returncode, " ".join(cmd), r.stderr.strip()))

    with open(rep) as f:
        report = json.load(f)
    opt_net = genweights.read_prototxt(pb, out_p)
    opt_w = read_weights(pb, out_w)

    # The reference: the case itself; for --deploy its deploy form written
    # with every pass off.
    if "--deploy" in c.args:
        ref_p, ref_w = os.path.join(d, "ref.prototxt"), os.path.join(d, "ref.caffemodel")
        rr = caffeopt_run([caffeopt, "optimize", "-q", "-m", case_p, "-w", weights, "-o", ref_p,
                           "-W", ref_w, "--disable", "all"] + without_pass_opts(c.args))
        if rr.returncode != 0:
            raise CaseError("reference run failed: %s" % rr.stderr.strip())
        ref_net = genweights.read_prototxt(pb, ref_p)
    else:
        ref_p, ref_w, ref_net = case_p, weights, net

    bad = check_expect(pb, c, opt_net, opt_w, report, ref_net)
    if not c.compare:
        return "not compared", None, bad
    if c.compare == "runs":
        opt_cv = opencv_form(pb, out_p, out_w, shape, d, "opt")
        net_b = load_cv(*opt_cv)
        cv_net = genweights.read_prototxt(pb, opt_cv[0])
        prod = net_outputs(pb, cv_net, c.pinned)
        rng = np.random.default_rng(c.seed)
        feeds = dict((n, rng.uniform(-2, 2, size=s).astype(np.float32)) for n, s in net_inputs(pb, opt_net))
        ys = run_cv(net_b, prod, feeds, dict((l.name, l.type) for l in cv_net.layer))
        if not all(np.all(np.isfinite(y)) for y in ys.values()):
            bad.append("the optimized net's outputs are not finite")
        return "optimized net runs in OpenCV (outputs %s)" % " ".join(sorted(ys)), None, bad
    ref = {"net": ref_net, "weights": ref_w}
    opt = {"net": opt_net, "weights": out_w}
    try:
        ref["cv"] = opencv_form(pb, ref_p, ref_w, shape, d, "ref")
        opt["cv"] = opencv_form(pb, out_p, out_w, shape, d, "opt")
        worst = compare(c, pb, ref, opt, report)
    except cv2.error as e:
        # A net OpenCV cannot run (BatchNorm on batch statistics, ...): a
        # case the pass must leave alone is then checked bit for bit.
        msg = [s for s in str(e).splitlines() if "error:" in s] or [str(e)]
        if "unchanged" not in c.items:
            raise CaseError("OpenCV: %s" % msg[0].strip())
        diff = same_weights(pb, opt_net, read_weights(pb, ref_w), opt_w)
        if diff:
            bad.append("unchanged: the weights of %s differ" % ", ".join(diff))
        return "weights identical (OpenCV cannot run it: %s)" % msg[0].split("error:")[-1].strip(), None, bad
    rel = max(v[0] for v in worst.values())
    figure = "rel %.2g (%d samples; outputs %s)" % (rel, SAMPLES, " ".join(sorted(worst)))
    off = ["%s rel %.3g (max abs diff %.3g, max|ref| %.4g)" % (n, v[0], v[1], v[2])
           for n, v in sorted(worst.items()) if not v[0] <= c.tol]
    if off:
        bad.append("outputs differ beyond %g: %s" % (c.tol, "; ".join(off)))
    state = {"ref": ref, "opt": opt, "report": report, "opt_w": opt_w, "dir": d, "shape": shape}
    return figure, state, bad


# ---------------------------------------------------------------- self-test

def self_test(c, state, env):
    """The harness must notice a wrong weight and unmet expectations.  The
    wrong weight is the largest bias of the last layer that has one, 1% off:
    a bias always reaches the output, where one weight of a random net may
    feed a channel no input ever activates."""
    pb = env["pb"]
    msgs = []
    opt_w = pb.NetParameter()
    opt_w.CopyFrom(state["opt_w"])
    target = None
    for l in opt_w.layer:
        if len(l.blobs) > 1 and len(l.blobs[1].data):
            target = l
    if target is None:
        return ["self-test: no bias to perturb in %s" % c.name]
    data = np.array(target.blobs[1].data, dtype=np.float32)
    i = int(np.argmax(np.abs(data)))
    target.blobs[1].data[i] = float(data[i] * np.float32(1.01))
    bad_w = os.path.join(state["dir"], "perturbed.caffemodel")
    with open(bad_w, "wb") as f:
        f.write(opt_w.SerializeToString())
    opt = dict(state["opt"], weights=bad_w)
    opt["cv"] = opencv_form(pb, opt["cv"][0], bad_w, state["shape"], state["dir"], "perturbed")
    line = "self-test: %s: bias %d of layer '%s' (%.4g) x 1.01" % (c.name, i, target.name, data[i])
    try:
        worst = compare(c, pb, state["ref"], opt, state["report"])
        rel = max(v[0] for v in worst.values())
        line += " gives rel %.3g" % rel
        if rel > c.tol:
            line += " > %g: detected" % c.tol
        else:
            msgs.append(line + ": NOT detected")
    except CaseError as e:
        line += ": model rejected: %s" % e
    print(line)
    fake = Case(c.name, c.prototxt)
    last = state["opt"]["net"].layer[-1]
    fake.items = ["layers 0", "no %s" % last.type, "output no-such-blob"]
    fake.fired = ["no-such-layer"]
    fake.layers = [("x", "Input", [], ["x"], [])]
    unmet = check_expect(pb, fake, state["opt"]["net"], state["opt_w"], state["report"], state["ref"]["net"])
    print("self-test: %s: %d of 5 unmet expectations reported" % (c.name, len(unmet)))
    if len(unmet) != 5:
        msgs.append("self-test: unmet expectations not reported: %s" % unmet)
    return msgs


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--caffeopt", default=os.environ.get("CAFFEOPT"))
    ap.add_argument("--src", default=os.environ.get("SRC") or os.path.normpath(os.path.join(HERE, "..", "..")))
    ap.add_argument("--scratch", default=os.environ.get("SCRATCH"))
    ap.add_argument("--protoc", default=os.environ.get("PROTOC") or "protoc")
    ap.add_argument("--no-whole", action="store_true", help="skip the whole-net checks")
    ap.add_argument("--whole-only", action="store_true", help="only the whole-net checks")
    ap.add_argument("--self-test", action="store_true", help="prove that a wrong model fails")
    ap.add_argument("--ignore-unknown-passes", action="store_true",
                    help="drop passes this caffeopt lacks instead of failing the case (development)")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    if not a.caffeopt or not a.scratch:
        ap.error("--caffeopt and --scratch (or CAFFEOPT and SCRATCH) are required")
    os.makedirs(a.scratch, exist_ok=True)
    pb = genweights.load_caffe_pb2(os.path.join(a.scratch, "pb"), a.src, a.protoc)
    env = {"pb": pb, "caffeopt": a.caffeopt, "scratch": a.scratch, "known": known_passes(a.caffeopt),
           "ignore_unknown": a.ignore_unknown_passes}

    root = os.path.join(a.src, "tests", "passes")
    paths = a.cases or ([] if a.whole_only else sorted(glob.glob(os.path.join(root, "*", "*.prototxt"))))
    failed, cases = [], []
    for p in paths:
        try:
            cases.append(read_case(os.path.abspath(p), root))
        except (CaseError, ValueError) as e:
            print("FAIL %-40s %s" % (p, e))
            failed.append(p)
    if not a.cases and not a.no_whole:
        cases += whole_net_cases(a.src)

    tested = None
    for c in cases:
        try:
            figure, state, bad = run_case(c, env)
        except (CaseError, genweights.GenError, cv2.error, OSError) as e:
            figure, state, bad = "", None, [str(e).strip()]
        except Exception as e:  # a harness bug: report it, go on
            import traceback
            figure, state, bad = "", None, ["harness error: %r\n%s" % (e, traceback.format_exc())]
        if bad:
            print("FAIL %-40s %s\n  %s" % (c.name, figure, "\n  ".join(bad)))
            failed.append(c.name)
        else:
            print("ok   %-40s %s" % (c.name, figure))
        if state and (tested is None or c.name == "whole/mobilenet_v1"):
            tested = (c, state)
    if a.self_test:
        msgs = self_test(tested[0], tested[1], env) if tested else ["self-test: no case was compared"]
        for m in msgs:
            print("FAIL " + m)
        if msgs:
            failed.append("self-test")
    print("%d case(s), %d failed%s" % (len(cases), len(failed), (": " + " ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
