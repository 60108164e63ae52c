# valgrind.sh - the CLI's library paths under valgrind memcheck: optimize
# (CIFAR-10 with every pass, the input fold, a report), convert both ways,
# info, the engine (optimize --verify, run, verify), embed in every mode and
# format and optimize --emit-c, and failing runs.  Any invalid read or write, use of an
# uninitialised value, or definitely or indirectly lost block fails.
# Skipped (exit 0, said so) when valgrind is not installed.
. "$SRC/tests/cli/lib.sh"
if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind not installed: skipped"
	exit 0
fi
M="$EX/model/train_val.prototxt"
W="$EX/model/cifar10.caffemodel"
# OpenBLAS keeps its thread pool for the life of the process; one thread
# keeps that out of the picture.
export OPENBLAS_NUM_THREADS=1
vg() {
	valgrind -q --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		--log-file="$SCRATCH/vg.%p" "$@"
}
# checked RC CMD...: CMD exits RC under valgrind with an empty log.
checked() {
	want=$1
	shift
	rm -f "$SCRATCH"/vg.*
	expect_exit "$want" vg "$@" || true
	for f in "$SCRATCH"/vg.*; do
		[ -s "$f" ] || continue
		fail "valgrind: $*"
		sed 's/^/  /' "$f" | head -40 >&2
	done
}
checked 0 "$CAFFEOPT" optimize -m "$M" -w "$W" -o "$SCRATCH/o.prototxt" -W "$SCRATCH/o.caffemodel" \
	--deploy --input-shape 1,3,32,32 --enable fold-input --mean 104,117,123 --input-scale 0.5 \
	--report "$SCRATCH/r.json"
checked 0 "$CAFFEOPT" optimize --config "$EX/config.ini" -o "$SCRATCH/i.prototxt" -W "$SCRATCH/i.caffemodel" --deploy
checked 0 "$CAFFEOPT" convert "$W" "$SCRATCH/c.prototxt"
checked 0 "$CAFFEOPT" convert "$SCRATCH/c.prototxt" "$SCRATCH/c.caffemodel"
checked 0 "$CAFFEOPT" info -m "$M" -w "$W"
checked 0 "$CAFFEOPT" info -m "$SCRATCH/o.prototxt" -w "$SCRATCH/o.caffemodel"
# the engine: optimize --verify, run, verify
checked 0 "$CAFFEOPT" optimize -q --config "$EX/config.ini" -o "$SCRATCH/v.prototxt" -W "$SCRATCH/v.caffemodel" \
	--deploy --verify
/usr/bin/python3 -c 'import numpy as np, sys
np.save(sys.argv[1], np.random.default_rng(1).uniform(0, 255, (1, 3, 32, 32)).astype(np.float32))' "$SCRATCH/x.npy" ||
	fail "no numpy for the engine input"
checked 0 "$CAFFEOPT" run -q -m "$SCRATCH/o.prototxt" -w "$SCRATCH/o.caffemodel" -i "$SCRATCH/x.npy" -o "$SCRATCH/y.npy"
checked 0 "$CAFFEOPT" verify -q -m "$SCRATCH/i.prototxt" -w "$SCRATCH/i.caffemodel" -M "$SCRATCH/v.prototxt" \
	-W "$SCRATCH/v.caffemodel" --samples 1
# embedding: every mode, the three formats, optimize --emit-c
checked 0 "$CAFFEOPT" embed -q -m "$SCRATCH/v.prototxt" -w "$SCRATCH/v.caffemodel" --name m -o "$SCRATCH/e1" \
	--mode net --format literal --depfile "$SCRATCH/e1.d"
checked 0 "$CAFFEOPT" embed -q -m "$SCRATCH/v.prototxt" -w "$SCRATCH/v.caffemodel" --name m -o "$SCRATCH/e2" \
	--mode weights --format incbin
checked 0 "$CAFFEOPT" embed -q -m "$SCRATCH/v.prototxt" -w "$SCRATCH/v.caffemodel" --name m -o "$SCRATCH/e3" \
	--mode blob --format array
checked 0 "$CAFFEOPT" optimize -q --config "$EX/config.ini" --deploy --emit-c "$SCRATCH/e4" --name m --mode net
# errors free what they built
mkdir -p "$SCRATCH/badtpl"
cp "$SRC/templates/"*.in "$SCRATCH/badtpl/"
printf '{{#each layers}}\n' >>"$SCRATCH/badtpl/model.c.in"
checked 1 "$CAFFEOPT" embed -q -m "$SCRATCH/v.prototxt" -w "$SCRATCH/v.caffemodel" --name m -o "$SCRATCH/e5" \
	--mode net --template "$SCRATCH/badtpl"
checked 1 "$CAFFEOPT" optimize -m "$M" -w "$SRC/tests/hostile/trunc_517.caffemodel" -o "$SCRATCH/x.prototxt"
checked 1 "$CAFFEOPT" optimize -m "$SRC/tests/hostile/conv_group_not_dividing.prototxt" -o "$SCRATCH/x.prototxt"
finish
