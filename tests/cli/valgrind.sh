# valgrind.sh - the CLI's library paths under valgrind memcheck: optimize
# (CIFAR-10 with every pass, the input fold, a report), convert both ways,
# info, and a failing run.  Any invalid read or write, use of an
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
# errors free what they built
checked 1 "$CAFFEOPT" optimize -m "$M" -w "$SRC/tests/hostile/trunc_517.caffemodel" -o "$SCRATCH/x.prototxt"
checked 1 "$CAFFEOPT" optimize -m "$SRC/tests/hostile/conv_group_not_dividing.prototxt" -o "$SCRATCH/x.prototxt"
finish
