# embed.sh - caffeopt embed and optimize --emit-c.  The generated sources
# compile with -Wall -Wextra -Werror as C11 (and C++17 in the array format;
# the headers from C++11),
# the linked data equals the optimized files (checked against Google's
# protobuf for the weights), literal, array and incbin link the same data,
# output is deterministic, unchanged files are left untouched, a failing
# run changes nothing, and the depfile lists every file the run read.
. "$SRC/tests/cli/lib.sh"
: "${PYTHON:?}" "${PROTOC:?}"
CC=${CC:-cc}
CXX=${CXX:-c++}
CFLAGS="-std=c11 -Wall -Wextra -Werror"
CXXFLAGS="-std=c++17 -Wall -Wextra -Werror"
O=$SCRATCH
command -v "$CXX" >/dev/null || fail "no C++ compiler ($CXX): install g++"

# The reference: the optimized CIFAR-10 model, and its weights as Google's
# protobuf reads them ("layer type k count dims" lines + the raw floats).
expect_exit 0 "$CAFFEOPT" optimize -q --config "$EX/config.ini" --deploy -o "$O/opt.prototxt" -W "$O/opt.caffemodel"
"$PROTOC" -I/usr/include -I"$SRC/src/proto" --python_out="$O" caffe.proto /usr/include/protobuf-c/protobuf-c.proto
cat >"$O/ref.py" <<'EOF'
import struct, sys
sys.path.insert(0, sys.argv[1])
import caffe_pb2
net = caffe_pb2.NetParameter()
net.ParseFromString(open(sys.argv[2], 'rb').read())
raw = open(sys.argv[3], 'wb')
for l in net.layer:
    for k, b in enumerate(l.blobs):
        dims = list(b.shape.dim) if b.HasField('shape') else [b.num, b.channels, b.height, b.width]
        print(l.name, l.type, k, len(b.data), *dims)
        raw.write(struct.pack('<%df' % len(b.data), *b.data))
EOF
"$PYTHON" "$O/ref.py" "$O" "$O/opt.caffemodel" "$O/ref.weights" >"$O/ref.txt" || fail "reference weights"

# Programs that dump what they link: the blob's bytes, or every weight.
cat >"$O/dump_blob.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include "cifar10.h"
int main(int argc, char **argv)
{
	FILE *f;
	if (argc != 3 || !(f = fopen(argv[1], "wb")))
		return 2;
	fwrite(cifar10_caffemodel, 1, cifar10_caffemodel_size, f);
	fclose(f);
	if (!(f = fopen(argv[2], "wb")))
		return 2;
	fwrite(cifar10_prototxt, 1, cifar10_prototxt_size, f);
	fclose(f);
	/* Aligned, NUL-terminated, sizes that are compile-time size_t constants. */
	{
		static const size_t sizes[2] = {cifar10_caffemodel_size, cifar10_prototxt_size};
		(void)sizes;
	}
	return (size_t)cifar10_caffemodel % CIFAR10_ALIGNMENT != 0 ||
	       (size_t)cifar10_prototxt % CIFAR10_ALIGNMENT != 0 ||
	       strlen(cifar10_prototxt) != cifar10_prototxt_size;
}
EOF
cat >"$O/dump_weights.c" <<'EOF'
#include <stdio.h>
#include "cifar10.h"
int main(int argc, char **argv)
{
	FILE *f;
	size_t i, d;
	if (argc != 2 || !(f = fopen(argv[1], "wb")))
		return 2;
	for (i = 0; i < CIFAR10_WEIGHT_COUNT; i++) {
		const struct cifar10_weight *w = &cifar10_weights[i];
		const struct cifar10_layer *l = &cifar10_layers[w->layer];
		if ((size_t)w->data % CIFAR10_ALIGNMENT != 0)
			return 1;
		printf("%s %s %u %zu", l->name, l->type, (unsigned)(i - l->first_weight), w->count);
		for (d = 0; d < w->ndim; d++)
			printf(" %zu", w->shape[d]);
		printf("\n");
		fwrite(w->data, sizeof(float), w->count, f);
	}
	fclose(f);
	/* The enums name layers and weights. */
	return cifar10_layers[CIFAR10_LAYER_conv1].first_weight != CIFAR10_WEIGHT_conv1_0;
}
EOF

# build DIR FORMAT MAIN [LANG]: compile MAIN with DIR's sources into DIR/app.
build() {
	srcs="$1/cifar10.c"
	[ "$2" = incbin ] && srcs="$1/cifar10.S" && [ -e "$1/cifar10.c" ] && srcs="$1/cifar10.c $1/cifar10.S"
	if [ "${4:-c}" = c++ ]; then
		# shellcheck disable=SC2086
		"$CXX" $CXXFLAGS -I"$1" -x c++ "$3" -x c++ $srcs -o "$1/app" 2>"$O/cc.err" ||
			{ fail "C++17 build of $1"; sed 's/^/  /' "$O/cc.err" | head -20 >&2; return 1; }
	else
		# shellcheck disable=SC2086
		"$CC" $CFLAGS -I"$1" "$3" $srcs -o "$1/app" 2>"$O/cc.err" ||
			{ fail "C11 build of $1"; sed 's/^/  /' "$O/cc.err" | head -20 >&2; return 1; }
	fi
}

for mode in blob weights; do
	for fmt in literal array incbin; do
		D="$O/$mode-$fmt"
		expect_exit 0 "$CAFFEOPT" embed -q -m "$O/opt.prototxt" -w "$O/opt.caffemodel" --name cifar10 \
			-o "$D" --mode $mode --format $fmt || continue
		same_bytes "$D/cifar10.caffemodel" "$O/opt.caffemodel"
		same_bytes "$D/cifar10.prototxt" "$O/opt.prototxt"
		want="cifar10.caffemodel cifar10.h cifar10.prototxt"
		[ $fmt != incbin ] || [ $mode != blob ] && want="cifar10.c $want"
		[ $fmt = incbin ] && want="cifar10.S $want"
		[ $fmt = incbin ] && [ $mode != blob ] && want="$want cifar10.weights"
		got=$(cd "$D" && ls -A | sort | tr '\n' ' ')
		[ "$got" = "$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')" ] || fail "$mode/$fmt wrote: $got; wanted $want"
		if [ $mode = blob ]; then
			build "$D" $fmt "$O/dump_blob.c" || continue
			"$D/app" "$D/got.caffemodel" "$D/got.prototxt" || fail "$mode/$fmt: misaligned or bad sizes"
			same_bytes "$D/got.caffemodel" "$O/opt.caffemodel"
			same_bytes "$D/got.prototxt" "$O/opt.prototxt"
			if [ $fmt = array ] && build "$D" $fmt "$O/dump_blob.c" c++; then
				"$D/app" "$D/gotxx.caffemodel" "$D/gotxx.prototxt" || fail "$mode/$fmt C++: bad"
				same_bytes "$D/gotxx.caffemodel" "$O/opt.caffemodel"
				same_bytes "$D/gotxx.prototxt" "$O/opt.prototxt"
			fi
		else
			build "$D" $fmt "$O/dump_weights.c" || continue
			"$D/app" "$D/got.weights" >"$D/got.txt" || fail "$mode/$fmt: misaligned weights or bad enums"
			same_bytes "$D/got.txt" "$O/ref.txt"
			same_bytes "$D/got.weights" "$O/ref.weights"
			if [ $fmt = array ] && build "$D" $fmt "$O/dump_weights.c" c++; then
				"$D/app" "$D/gotxx.weights" >"$D/gotxx.txt" || fail "$mode/$fmt C++: bad"
				same_bytes "$D/gotxx.txt" "$O/ref.txt"
				same_bytes "$D/gotxx.weights" "$O/ref.weights"
			fi
		fi
	done
	# incbin and literal link the same data (and so does array).
	same_bytes "$O/$mode-literal/got.$([ $mode = blob ] && echo caffemodel || echo weights)" \
		"$O/$mode-incbin/got.$([ $mode = blob ] && echo caffemodel || echo weights)"
done
# net mode: the runtime's tables.  The embedded net, run by the runtime
# compiled from source, computes what `caffeopt run` computes on the
# optimized files.
mkdir -p "$O/rt"
(cd "$O/rt" && "$CC" $CFLAGS -O2 -I"$SRC/include" -c "$SRC"/src/runtime/*.c && ar rcs librt.a ./*.o) ||
	fail "the runtime does not compile with $CFLAGS"
"$PYTHON" -c 'import numpy as np, sys
x = np.random.default_rng(5).uniform(0, 255, (1, 3, 32, 32)).astype(np.float32)
np.save(sys.argv[1] + "/x.npy", x)
x.astype("<f4").tofile(sys.argv[1] + "/x.raw")' "$O"
expect_exit 0 "$CAFFEOPT" run -q -m "$O/opt.prototxt" -w "$O/opt.caffemodel" -i "$O/x.npy" -o "$O/run.npy"
cat >"$O/run_net.c" <<'EOF'
#include <stdio.h>
#include "cifar10.h"
static _Alignas(64) float arena[CIFAR10_ARENA_BYTES / sizeof(float)];
int main(int argc, char **argv)
{
	const cr_blob *in = &cifar10_net.blob[CIFAR10_INPUT], *out = &cifar10_net.blob[CIFAR10_OUTPUT];
	FILE *f;
	if (argc != 3 || !(f = fopen(argv[1], "rb")))
		return 2;
	if (fread(cr_blob_data(&cifar10_net, arena, CIFAR10_INPUT), sizeof(float), in->count, f) != in->count)
		return 2;
	fclose(f);
	if (cr_forward(&cifar10_net, arena) != 0 || !(f = fopen(argv[2], "wb")))
		return 1;
	fwrite(cr_blob_data(&cifar10_net, arena, CIFAR10_OUTPUT), sizeof(float), out->count, f);
	fclose(f);
	return CIFAR10_ARENA_BYTES != cr_arena_bytes(&cifar10_net);
}
EOF
close() {  # A.npy B.raw: within 1e-5 of the largest |A|
	"$PYTHON" -c 'import numpy as np, sys
a = np.load(sys.argv[1]).ravel(); b = np.fromfile(sys.argv[2], "<f4")
sys.exit(not (a.shape == b.shape and np.abs(a - b).max() <= 1e-5 * np.abs(a).max()))' "$1" "$2"
}
for fmt in literal array incbin; do
	D="$O/net-$fmt"
	expect_exit 0 "$CAFFEOPT" embed -q -m "$O/opt.prototxt" -w "$O/opt.caffemodel" --name cifar10 \
		-o "$D" --mode net --format $fmt || continue
	srcs="$D/cifar10.c"
	[ $fmt = incbin ] && srcs="$D/cifar10.c $D/cifar10.S"
	# shellcheck disable=SC2086
	"$CC" $CFLAGS -I"$D" -I"$SRC/include" "$O/run_net.c" $srcs "$O/rt/librt.a" -lm -o "$D/app" 2>"$O/cc.err" ||
		{ fail "net/$fmt: C11 build"; head -20 "$O/cc.err" >&2; continue; }
	"$D/app" "$O/x.raw" "$D/y.raw" || fail "net/$fmt: run"
	close "$O/run.npy" "$D/y.raw" || fail "net/$fmt: the embedded net differs from caffeopt run"
done
# In C++ (array format; designated initializers: C++20, or C++17 with GNU extensions).
"$CXX" -std=c++20 -Wall -Wextra -Werror -I"$O/net-array" -I"$SRC/include" -x c++ -c "$O/net-array/cifar10.c" \
	-o "$O/net-array/net.o" 2>"$O/cc.err" || { fail "net/array: C++20 build"; head -20 "$O/cc.err" >&2; }
"$CC" $CFLAGS -I"$O/net-array" -I"$SRC/include" "$O/run_net.c" "$O/net-array/net.o" "$O/rt/librt.a" -lm \
	-o "$O/net-array/appxx" && "$O/net-array/appxx" "$O/x.raw" "$O/net-array/yxx.raw" &&
	close "$O/run.npy" "$O/net-array/yxx.raw" || fail "net/array: the C++-compiled net differs from caffeopt run"
# The header from C++: a C++11 program calls the C-compiled net and runtime
# (extern "C" in the generated header and in caffeopt/runtime.h).
sed -e 's/static _Alignas(64) float/alignas(64) static float/' "$O/run_net.c" >"$O/run_net.cpp"
"$CC" $CFLAGS -I"$O/net-literal" -I"$SRC/include" -c "$O/net-literal/cifar10.c" -o "$O/net-literal/net.o" &&
	"$CXX" -std=c++11 -Wall -Wextra -Werror -I"$O/net-literal" -I"$SRC/include" "$O/run_net.cpp" \
		"$O/net-literal/net.o" "$O/rt/librt.a" -lm -o "$O/net-literal/appcc" 2>"$O/cc.err" &&
	"$O/net-literal/appcc" "$O/x.raw" "$O/net-literal/ycc.raw" &&
	close "$O/run.npy" "$O/net-literal/ycc.raw" ||
	{ fail "net/literal: a C++11 caller of the C-compiled net"; head -20 "$O/cc.err" >&2; }

# The literal format refuses C++ with a message that says what to do.
"$CXX" $CXXFLAGS -x c++ -I"$O/blob-literal" -c "$O/blob-literal/cifar10.c" -o "$O/x.o" 2>"$O/cc.err" &&
	fail "the literal format compiled as C++"
grep -q -- '--format array' "$O/cc.err" || fail "literal-as-C++ error does not name --format array"

# Deterministic: the same input gives the same bytes, wherever it is written.
mkdir -p "$O/elsewhere"
expect_exit 0 "$CAFFEOPT" embed -q -m "$O/opt.prototxt" -w "$O/opt.caffemodel" --name cifar10 \
	-o "$O/elsewhere/w2" --mode weights --format incbin
for f in cifar10.c cifar10.h cifar10.S cifar10.weights cifar10.caffemodel cifar10.prototxt; do
	same_bytes "$O/weights-incbin/$f" "$O/elsewhere/w2/$f"
done
grep -l "$O" "$O/weights-incbin/cifar10".[chS] && fail "a host path in the generated sources"

# Unchanged outputs are left untouched; the stamp is always rewritten.
D="$O/blob-literal"
snap() { for f in "$1"/cifar10.* "$O/s.stamp"; do [ -e "$f" ] && stat -c '%n %i %y' "$f"; done; }
emb() { "$CAFFEOPT" embed -q -m "$O/opt.prototxt" -w "$O/opt.caffemodel" --name cifar10 -o "$D" --stamp "$O/s.stamp" "$@"; }
emb || fail "embed with --stamp"
snap "$D" >"$O/before"
sleep 1
emb || fail "embed again"
snap "$D" >"$O/after"
grep -v s.stamp "$O/before" >"$O/b1"
grep -v s.stamp "$O/after" >"$O/a1"
same_bytes "$O/b1" "$O/a1"
[ "$(grep s.stamp "$O/before")" != "$(grep s.stamp "$O/after")" ] || fail "the stamp was not rewritten"
expect_exit 0 "$CAFFEOPT" embed -m "$O/opt.prototxt" -w "$O/opt.caffemodel" --name cifar10 -o "$D" --stamp "$O/s.stamp"
grep -q '1 written, 4 unchanged' "$SCRATCH/out" || { fail "report of unchanged files (only the stamp is written)"; cat "$SCRATCH/out" >&2; }
# A change of alignment rewrites the sources only.
emb --align 64 || fail "embed --align 64"
snap "$D" >"$O/after64"
for f in cifar10.caffemodel cifar10.prototxt; do
	[ "$(grep "/$f " "$O/after")" = "$(grep "/$f " "$O/after64")" ] || fail "$f was rewritten though unchanged"
done
[ "$(grep '/cifar10.c ' "$O/after")" != "$(grep '/cifar10.c ' "$O/after64")" ] || fail "cifar10.c not rewritten for --align 64"
grep -q '_Alignas(64)' "$D/cifar10.c" || fail "--align 64 not in the source"
build "$D" literal "$O/dump_blob.c" && { "$D/app" "$D/a.bin" "$D/a.txt" || fail "--align 64: misaligned"; }

# --section puts the data in that section (literal and incbin).
for fmt in literal incbin; do
	D="$O/sect-$fmt"
	expect_exit 0 "$CAFFEOPT" embed -q -m "$O/opt.prototxt" -w "$O/opt.caffemodel" --name cifar10 -o "$D" \
		--format $fmt --section .rodata.models || continue
	src="$D/cifar10.c"
	[ $fmt = incbin ] && src="$D/cifar10.S"
	"$CC" $CFLAGS -I"$D" -c "$src" -o "$D/x.o" || { fail "--section $fmt does not compile"; continue; }
	objdump -t "$D/x.o" | grep -q '\.rodata\.models.*cifar10_caffemodel$' || fail "--section $fmt: caffemodel not in .rodata.models"
done

# --template: the user's templates are used and listed in the depfile.
mkdir -p "$O/tpl"
cp "$SRC/templates/"*.in "$O/tpl/"
sed -i '1i /* my own template */' "$O/tpl/model.h.in"
expect_exit 0 "$CAFFEOPT" embed -q -m "$O/opt.prototxt" -w "$O/opt.caffemodel" --name cifar10 -o "$O/mine" \
	--template "$O/tpl" --depfile "$O/mine.d"
grep -q 'my own template' "$O/mine/cifar10.h" || fail "--template not used"
grep -q "$O/tpl/model.h.in" "$O/mine.d" || fail "depfile does not list the user's template"
# A template error names the template's file:line:col, and nothing is written.
printf 'line one\n  {{sym|shout}}\n' >"$O/tpl/model.h.in"
expect_error "$O/tpl/model.h.in:2:9: unknown filter 'shout'" "$CAFFEOPT" embed -m "$O/opt.prototxt" \
	-w "$O/opt.caffemodel" --name cifar10 -o "$O/broken" --template "$O/tpl"
[ ! -e "$O/broken" ] || fail "a failing run left $O/broken"
printf '{{#each sym}}x{{/each}}\n' >"$O/tpl/model.h.in"
snap "$O/blob-literal" >"$O/b2"
expect_error "model.h.in:1:1: #each wants a list" "$CAFFEOPT" embed -m "$O/opt.prototxt" \
	-w "$O/opt.caffemodel" --name cifar10 -o "$O/blob-literal" --template "$O/tpl" --mode blob --align 32
snap "$O/blob-literal" >"$O/a2"
same_bytes "$O/b2" "$O/a2"
ls -A "$O/blob-literal" | grep -q tmp && fail "a failing run left a temporary file"

# Names: sanitized, never from the path; a leading digit is an error;
# layer names that become the same C name are an error naming both.
expect_exit 0 "$CAFFEOPT" embed -q -m "$O/opt.prototxt" -w "$O/opt.caffemodel" --name 'my-net.v2' -o "$O/named"
[ -e "$O/named/my_net_v2.h" ] && grep -q 'my_net_v2_caffemodel\[' "$O/named/my_net_v2.h" || fail "--name not sanitized"
expect_exit 2 "$CAFFEOPT" embed -m "$O/opt.prototxt" -w "$O/opt.caffemodel" --name 3d -o "$O/bad"
expect_exit 2 "$CAFFEOPT" embed -m "$O/opt.prototxt" -w "$O/opt.caffemodel" -o "$O/bad"
expect_exit 2 "$CAFFEOPT" embed -m "$O/opt.prototxt" -w "$O/opt.caffemodel" --name x -o "$O/bad" --align 3
expect_exit 2 "$CAFFEOPT" embed -m "$O/opt.prototxt" -w "$O/opt.caffemodel" --name x -o "$O/bad" --format hex
cat >"$O/clash.prototxt" <<'EOF'
name: "clash"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 } } }
layer { name: "fc-1" type: "InnerProduct" bottom: "data" top: "a" inner_product_param { num_output: 1 bias_term: false } }
layer { name: "fc_1" type: "InnerProduct" bottom: "a" top: "b" inner_product_param { num_output: 1 bias_term: false } }
EOF
cat >"$O/clash.weights.prototxt" <<'EOF'
name: "clash"
layer { name: "fc-1" type: "InnerProduct" blobs { shape { dim: 1 dim: 2 } data: 1 data: 2 } }
layer { name: "fc_1" type: "InnerProduct" blobs { shape { dim: 1 dim: 1 } data: 3 } }
EOF
expect_exit 0 "$CAFFEOPT" convert "$O/clash.weights.prototxt" "$O/clash.caffemodel"
expect_error "layers 'fc-1' and 'fc_1' both become the C name 'fc_1'" "$CAFFEOPT" embed -m "$O/clash.prototxt" \
	-w "$O/clash.caffemodel" --name clash -o "$O/clash" --mode weights
[ ! -e "$O/clash" ] || fail "a refused run left $O/clash"
expect_exit 0 "$CAFFEOPT" embed -q -m "$O/clash.prototxt" -w "$O/clash.caffemodel" --name clash -o "$O/clash" --mode blob

# optimize --emit-c: one run optimizes, writes -o/-W and emits; the
# embedded bytes are the optimized files.
expect_exit 0 "$CAFFEOPT" optimize --config "$EX/config.ini" --deploy -o "$O/e.prototxt" -W "$O/e.caffemodel" \
	--emit-c "$O/emit" --name cifar10 --mode weights --depfile "$O/emit.d" --stamp "$O/emit.stamp"
grep -q "emitted   $O/emit/cifar10.h" "$SCRATCH/out" || fail "optimize --emit-c report line"
same_bytes "$O/e.caffemodel" "$O/opt.caffemodel"
same_bytes "$O/emit/cifar10.caffemodel" "$O/e.caffemodel"
same_bytes "$O/emit/cifar10.prototxt" "$O/e.prototxt"
same_bytes "$O/emit/cifar10.c" "$O/weights-literal/cifar10.c"
[ -e "$O/emit.stamp" ] || fail "no stamp"
head -1 "$O/emit.d" | grep -q "^$O/emit.stamp:" || fail "the depfile's target is not the stamp"
for f in "$EX/model/train_val.prototxt" "$EX/model/cifar10.caffemodel" "$EX/config.ini" "$EX/data/mean.npy" \
	"$SRC/templates/model.h.in" "$SRC/templates/model.c.in"; do
	grep -q "^ $f"'\( \\\)\?$' "$O/emit.d" || fail "depfile misses $f"
done
# The ini's own output paths are not written with --emit-c.
[ ! -e "$EX/model/opt_train_val.prototxt" ] || fail "optimize --emit-c wrote the ini's output path"
expect_exit 2 "$CAFFEOPT" optimize --config "$EX/config.ini" --deploy --emit-c "$O/emit2"
expect_exit 2 "$CAFFEOPT" optimize --config "$EX/config.ini" --deploy -o "$O/x.prototxt" --mode weights
# --depfile and --stamp describe a plain optimize run too: its targets are
# the outputs, and unchanged outputs are left untouched.
expect_exit 0 "$CAFFEOPT" optimize -q --config "$EX/config.ini" --deploy -o "$O/p.prototxt" -W "$O/p.caffemodel" \
	--depfile "$O/p.d"
head -1 "$O/p.d" | grep -q "^$O/p.prototxt"' \\$' || fail "plain optimize: depfile target: $(head -1 "$O/p.d")"
grep -q "^ $EX/config.ini"' \\$' "$O/p.d" || fail "plain optimize: depfile misses the ini"
same_bytes "$O/p.caffemodel" "$O/opt.caffemodel"
i1=$(stat -c '%i %Y' "$O/p.caffemodel")
expect_exit 0 "$CAFFEOPT" optimize -q --config "$EX/config.ini" --deploy -o "$O/p.prototxt" -W "$O/p.caffemodel" \
	--depfile "$O/p.d"
[ "$i1" = "$(stat -c '%i %Y' "$O/p.caffemodel")" ] || fail "plain optimize with --depfile rewrote an unchanged caffemodel"
# Every file the run opened for reading is in the depfile (its own
# outputs and the system's files aside).
if command -v strace >/dev/null; then
	# (LeakSanitizer cannot run under ptrace: no leak check in this run.)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace=open,openat -o "$O/trace" "$CAFFEOPT" optimize -q --config "$EX/config.ini" --deploy \
		--emit-c "$O/emit" --name cifar10 --mode weights --format incbin --depfile "$O/emit.d" \
		--stamp "$O/emit.stamp" || fail "optimize --emit-c under strace"
	grep -v 'O_WRONLY\|O_RDWR\|ENOENT\|O_DIRECTORY' "$O/trace" | sed -n 's/.*open[at]*([^"]*"\([^"]*\)".*/\1/p' |
		grep -v '^/etc/\|^/lib\|^/usr/lib\|^/proc/\|^/sys/\|^/dev/' | grep -v "^$O/emit" | sort -u >"$O/opened"
	[ -s "$O/opened" ] || fail "strace saw no reads"
	while read -r f; do
		grep -q "^ $f"'\( \\\)\?$' "$O/emit.d" || fail "read $f but the depfile does not list it"
	done <"$O/opened"
	grep -q "model.S.in" "$O/emit.d" || fail "depfile misses model.S.in"
else
	echo "note: no strace; the depfile's completeness is checked by name only"
fi

# A model over 4 MiB: embed writes its data files on a second thread while
# the templates render.  MobileNet v1 with seeded weights (17 MB).
"$PYTHON" "$SRC/tests/oracle/genweights.py" "$DATA/arch/mobilenet_v1_deploy.prototxt" "$O/mb.caffemodel" \
	--seed 2 --pb-dir "$O/mbpb" >/dev/null || fail "genweights for MobileNet v1"
expect_exit 0 "$CAFFEOPT" optimize -q -m "$DATA/arch/mobilenet_v1_deploy.prototxt" -w "$O/mb.caffemodel" \
	-o "$O/mbopt.prototxt" -W "$O/mbopt.caffemodel"
for mode in blob weights; do
	D="$O/mb-$mode"
	expect_exit 0 "$CAFFEOPT" embed -q -m "$O/mbopt.prototxt" -w "$O/mbopt.caffemodel" --name cifar10 \
		-o "$D" --mode $mode --format incbin || continue
	same_bytes "$D/cifar10.caffemodel" "$O/mbopt.caffemodel"
	same_bytes "$D/cifar10.prototxt" "$O/mbopt.prototxt"
	(cd "$O" && "$CAFFEOPT" embed -q -m mbopt.prototxt -w mbopt.caffemodel --name cifar10 -o "mb2-$mode" \
		--mode $mode --format incbin) || fail "large $mode: second run"
	for f in "$D"/*; do same_bytes "$f" "$O/mb2-$mode/$(basename "$f")"; done
done
if build "$O/mb-blob" incbin "$O/dump_blob.c"; then
	"$O/mb-blob/app" "$O/mb-blob/got.caffemodel" "$O/mb-blob/got.prototxt" || fail "large blob: misaligned or bad sizes"
	same_bytes "$O/mb-blob/got.caffemodel" "$O/mbopt.caffemodel"
fi
# ... and a failing render (a broken template) stops that thread and leaves
# nothing: no folder, no temporary file.
mkdir -p "$O/badtpl"
cp "$SRC/templates/"*.in "$O/badtpl/"
printf '{{#if mode}}\n' >>"$O/badtpl/model.c.in"
expect_error "model.c.in:" "$CAFFEOPT" embed -m "$O/mbopt.prototxt" -w "$O/mbopt.caffemodel" --name cifar10 \
	-o "$O/mb-fail/deeper/out" --mode weights --format literal --template "$O/badtpl"
[ ! -e "$O/mb-fail" ] || fail "a failing large embed left $(find "$O/mb-fail" | tr '\n' ' ')"
finish
