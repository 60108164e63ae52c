# graph.sh - `caffeopt graph` and `optimize --report-html`: pictures that
# parse and name every layer, folded layers inside their absorbers, big nets
# in seconds, and a report page that headless Chromium draws.
. "$SRC/tests/cli/lib.sh"
P="$EX/model/train_val.prototxt"
W="$EX/model/cifar10.caffemodel"
R50="$DATA/arch/resnet50_deploy.prototxt"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
# Under ASan: what Graphviz and the font stack keep for the process's life
# is theirs (see the file); caffeopt's own leaks still fail the run.
LSAN_OPTIONS="suppressions=$SRC/tests/cli/graphviz.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

# check_svg SVG NET.prototxt [no-affine]: SVG parses as XML and names every
# layer `caffeopt info` lists for NET; with no-bn, no node is a BatchNorm
# and some node lists a folded one; no-affine also allows no Scale node.
check_svg() {
	expect_exit 0 "$CAFFEOPT" info -m "$2" || return 0
	cp "$SCRATCH/out" "$SCRATCH/info.txt"
	"$PYTHON" - "$1" "$SCRATCH/info.txt" "${3:-}" <<'EOF' || fail "picture check: $1"
import re, sys
import xml.etree.ElementTree as ET
svg, info, mode = sys.argv[1], sys.argv[2], sys.argv[3]
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(svg).getroot()
texts = {(t.text or "").strip() for t in root.iter(ns + "text")}
layers = [m.group(1) for m in (re.match(r"^\d+\s+(\S+)\s+(\S+)", l) for l in open(info)) if m]
missing = [n for n in layers if n not in texts]
if not layers or missing:
    sys.exit("%s: %d layers, not named: %s" % (svg, len(layers), " ".join(missing[:10])))
nodes = [g for g in root.iter(ns + "g") if g.get("class") == "node"]
types = [[(t.text or "").strip() for t in g.iter(ns + "text")][0] for g in nodes]
if mode in ("no-bn", "no-affine"):
    bad = [t for t in types if t == "BatchNorm" or (t == "Scale" and mode == "no-affine")]
    folded = [t for t in texts if t.startswith("+ ") and t.endswith("(BatchNorm)")]
    if bad or not folded:
        sys.exit("%s: %d BatchNorm/Scale nodes, %d folded BatchNorms listed" % (svg, len(bad), len(folded)))
print("%s: %d nodes, every one of %d layers named" % (svg.rsplit("/", 1)[-1], len(nodes), len(layers)))
EOF
}

# now: seconds since the epoch, with fractions.
now() { "$PYTHON" -c 'import time; print("%.3f" % time.time())'; }

# Usage: exit 2, nothing written.
expect_exit 0 "$CAFFEOPT" graph --help
grep -q "^usage: caffeopt graph" "$SCRATCH/out" || fail "graph --help has no usage line"
expect_exit 2 "$CAFFEOPT" graph -m "$P"
expect_exit 2 "$CAFFEOPT" graph -o "$SCRATCH/u.svg"
expect_exit 2 "$CAFFEOPT" graph -m "$P" -o "$SCRATCH/u.txt"
expect_exit 2 "$CAFFEOPT" graph -m "$P" -o "$SCRATCH/u.svg" --passes no-such-pass
[ ! -e "$SCRATCH/u.svg" ] && [ ! -e "$SCRATCH/u.txt" ] || fail "a usage error wrote an output"
# Errors: one line, no output.
expect_error "no-such.prototxt" "$CAFFEOPT" graph -m "$SCRATCH/no-such.prototxt" -o "$SCRATCH/e.svg"
expect_error "bottom 'nope'" "$CAFFEOPT" graph -m "$SRC/tests/malformed/unknown_bottom.prototxt" -o "$SCRATCH/e.svg"
[ ! -e "$SCRATCH/e.svg" ] || fail "a failed run wrote an output"

# CIFAR-10, TEST phase: every layer named; in-place layers and the data,
# loss and accuracy layers drawn apart.
expect_exit 0 "$CAFFEOPT" graph -m "$P" -w "$W" -o "$SCRATCH/c.svg"
check_svg "$SCRATCH/c.svg" "$P"
grep -q 'in place' "$SCRATCH/c.svg" || fail "no in-place layer marked"
grep -q 'fill="#cfe8cf"' "$SCRATCH/c.svg" || fail "data layer not styled as data"
grep -q 'fill="#f6c0c0"' "$SCRATCH/c.svg" || fail "loss layer not styled as loss"
grep -q 'fill="#fff4c2"' "$SCRATCH/c.svg" || fail "accuracy layer not styled as a metric"
# Deterministic.
expect_exit 0 "$CAFFEOPT" graph -q -m "$P" -w "$W" -o "$SCRATCH/c2.svg"
same_bytes "$SCRATCH/c.svg" "$SCRATCH/c2.svg"
# Deploy with a shape: output shapes in the nodes.
expect_exit 0 "$CAFFEOPT" graph -m "$P" --deploy --input-shape 1,3,32,32 -o "$SCRATCH/d.svg"
grep -q '>1x32x28x28<' "$SCRATCH/d.svg" || fail "conv1's output shape 1x32x28x28 not drawn"
# The other formats: the graph source, and a PNG that is not blank.
expect_exit 0 "$CAFFEOPT" graph -m "$P" -o "$SCRATCH/c.dot"
head -1 "$SCRATCH/c.dot" | grep -q '^digraph' || fail "dot output is not a digraph"
expect_exit 0 "$CAFFEOPT" graph -m "$P" -o "$SCRATCH/c.png"
"$PYTHON" -c 'import cv2, sys; im = cv2.imread(sys.argv[1]); sys.exit(im is None or bool(im.std() < 5))' \
	"$SCRATCH/c.png" || fail "PNG missing or blank"

# Optimized: the passes ran, folded layers listed inside their absorbers.
expect_exit 0 "$CAFFEOPT" graph -m "$P" -w "$W" -o "$SCRATCH/co.svg" --optimized
expect_exit 0 "$CAFFEOPT" optimize -q -m "$P" -w "$W" -o "$SCRATCH/co.prototxt"
has_fold=0
"$CAFFEOPT" optimize --help | grep -q ' fold-affine ' && has_fold=1
if [ "$has_fold" = 1 ]; then
	# scale5 multiplies two blobs: a Scale that stays.
	check_svg "$SCRATCH/co.svg" "$SCRATCH/co.prototxt" no-bn
	grep -q '>+ bn4 (BatchNorm)<' "$SCRATCH/co.svg" || fail "bn4 not listed inside conv4"
else
	echo "note: fold-affine is not in this build: structure only"
	check_svg "$SCRATCH/co.svg" "$SCRATCH/co.prototxt"
fi
expect_exit 0 "$CAFFEOPT" graph -q -m "$P" -w "$W" -o "$SCRATCH/cd.svg" --passes remove-dropout
grep -q '>Dropout<' "$SCRATCH/cd.svg" && fail "--passes remove-dropout left the Dropout"
grep -q '>BatchNorm<' "$SCRATCH/cd.svg" || fail "--passes remove-dropout ran other passes"

# ResNet-50: renders in seconds, and optimized (random weights, so the
# BatchNorms fold) without a BatchNorm or Scale node.
t0=$(now)
expect_exit 0 "$CAFFEOPT" graph -m "$R50" -o "$SCRATCH/r50.svg"
t1=$(now)
check_svg "$SCRATCH/r50.svg" "$R50"
"$PYTHON" -c 'import sys; t = float(sys.argv[2]) - float(sys.argv[1]); print("resnet50: 228 layers drawn in %.2f s" % t); sys.exit(t > 30)' \
	"$t0" "$t1" || fail "ResNet-50 took more than 30 s to draw"
if [ "$has_fold" = 1 ]; then
	"$PYTHON" "$SRC/tests/oracle/genweights.py" "$R50" "$SCRATCH/r50.caffemodel" --pb-dir "$SCRATCH/pb" \
		>/dev/null || fail "genweights for ResNet-50"
	expect_exit 0 "$CAFFEOPT" graph -m "$R50" -w "$SCRATCH/r50.caffemodel" -o "$SCRATCH/r50o.svg" --optimized
	expect_exit 0 "$CAFFEOPT" optimize -q -m "$R50" -w "$SCRATCH/r50.caffemodel" -o "$SCRATCH/r50o.prototxt"
	check_svg "$SCRATCH/r50o.svg" "$SCRATCH/r50o.prototxt" no-affine
	rm -f "$SCRATCH/r50.caffemodel"
fi

# A ResNet-152 (670 layers, generated): still seconds.
"$PYTHON" - >"$SCRATCH/r152.prototxt" <<'EOF'
out = ['name: "ResNet-152"\ninput: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 224\ninput_dim: 224\n']
def layer(name, typ, bottoms, top, body=""):
    b = "".join('  bottom: "%s"\n' % x for x in bottoms)
    out.append('layer {\n  name: "%s"\n  type: "%s"\n%s  top: "%s"\n%s}\n' % (name, typ, b, top, body))
def conv(name, bottom, n, k, s, p):
    layer(name, "Convolution", [bottom], name, "  convolution_param { num_output: %d kernel_size: %d "
          "stride: %d pad: %d bias_term: false }\n" % (n, k, s, p))
    layer("bn_" + name, "BatchNorm", [name], name, "  batch_norm_param { use_global_stats: true }\n")
    layer("scale_" + name, "Scale", [name], name, "  scale_param { bias_term: true }\n")
conv("conv1", "data", 64, 7, 2, 3)
layer("conv1_relu", "ReLU", ["conv1"], "conv1")
layer("pool1", "Pooling", ["conv1"], "pool1", "  pooling_param { pool: MAX kernel_size: 3 stride: 2 }\n")
prev, width = "pool1", 64
for stage, blocks in zip((2, 3, 4, 5), (3, 8, 36, 3)):
    for b in range(blocks):
        r, stride = "res%d_%d" % (stage, b), 2 if b == 0 and stage > 2 else 1
        short = prev
        if b == 0:
            conv(r + "_branch1", prev, width * 4, 1, stride, 0)
            short = r + "_branch1"
        conv(r + "_branch2a", prev, width, 1, stride, 0)
        layer(r + "_branch2a_relu", "ReLU", [r + "_branch2a"], r + "_branch2a")
        conv(r + "_branch2b", r + "_branch2a", width, 3, 1, 1)
        layer(r + "_branch2b_relu", "ReLU", [r + "_branch2b"], r + "_branch2b")
        conv(r + "_branch2c", r + "_branch2b", width * 4, 1, 1, 0)
        layer(r, "Eltwise", [short, r + "_branch2c"], r)
        layer(r + "_relu", "ReLU", [r], r)
        prev = r
    width *= 2
layer("pool5", "Pooling", [prev], "pool5", "  pooling_param { pool: AVE kernel_size: 7 stride: 1 }\n")
layer("fc1000", "InnerProduct", ["pool5"], "fc1000", "  inner_product_param { num_output: 1000 }\n")
layer("prob", "Softmax", ["fc1000"], "prob")
print("".join(out), end="")
EOF
t0=$(now)
expect_exit 0 "$CAFFEOPT" graph -m "$SCRATCH/r152.prototxt" -o "$SCRATCH/r152.svg"
t1=$(now)
check_svg "$SCRATCH/r152.svg" "$SCRATCH/r152.prototxt"
"$PYTHON" -c 'import sys; t = float(sys.argv[2]) - float(sys.argv[1]); print("resnet152: 670 layers drawn in %.2f s" % t); sys.exit(t > 60)' \
	"$t0" "$t1" || fail "ResNet-152 took more than 60 s to draw"

# The HTML report: self-contained, both pictures XML, the pass table, the
# --verify figures, and headless Chromium draws a page that is not blank.
expect_exit 0 "$CAFFEOPT" optimize -m "$P" -w "$W" -o "$SCRATCH/h.prototxt" -W "$SCRATCH/h.caffemodel" \
	--deploy --input-shape 1,3,32,32 --report-html "$SCRATCH/report.html" --verify
grep -q "wrote     $SCRATCH/report.html" "$SCRATCH/out" || fail "optimize does not say it wrote the report"
"$PYTHON" - "$SCRATCH/report.html" "$has_fold" <<'EOF' || fail "report.html content"
import re, sys
import xml.etree.ElementTree as ET
page = open(sys.argv[1], encoding="utf-8").read()
for bad in ("<script", " src=", " href=", "url(", "@import"):
    if bad in page:
        sys.exit("report is not self-contained: has %r" % bad)
svgs = re.findall(r"<svg.*?</svg>", page, re.S)
if len(svgs) != 2:
    sys.exit("%d inline SVGs, want 2" % len(svgs))
for s in svgs:
    ET.fromstring(s)
ids = re.findall(r' id="([^"]*)"', page)
if len(ids) != len(set(ids)):
    sys.exit("duplicate ids in the page")
for want in ("activation memory", "weight bytes", "parameters", "remove-dropout", "Verification"):
    if want not in page:
        sys.exit("report lacks %r" % want)
# --verify's figures: the verdict and one row per network output.
if not re.search(r'<span class="pass">passed</span>', page):
    sys.exit("report lacks the --verify verdict")
if not re.search(r'<tr><th>[^<]+</th><td class="n">[^<]*max relative error [0-9.e+-]+ \(ok\)</td>', page):
    sys.exit("report lacks the --verify figures")
if sys.argv[2] == "1" and "folded bn4, scale4 into conv4" not in page:
    sys.exit("report lacks fold-affine's note on conv4")
print("report.html: %d bytes, 2 inline SVGs" % len(page))
EOF
rm -rf "$SCRATCH/chr"
"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
	--disable-sync --no-first-run --user-data-dir="$SCRATCH/chr" --screenshot="$SCRATCH/shot.png" \
	--window-size=1200,900 "file://$SCRATCH/report.html" >"$SCRATCH/chromium.log" 2>&1 ||
	{ fail "chromium failed"; tail -5 "$SCRATCH/chromium.log" >&2; }
"$PYTHON" - "$SCRATCH/shot.png" <<'EOF' || fail "the report's screenshot is blank"
import sys
import cv2
im = cv2.imread(sys.argv[1])
if im is None:
    sys.exit("no screenshot")
ink = (im.min(axis=2) < 200).mean()
print("screenshot: %dx%d, pixel std %.1f, %.1f%% ink" % (im.shape[1], im.shape[0], im.std(), 100 * ink))
sys.exit(bool(im.std() < 10 or ink < 0.01))
EOF
finish
