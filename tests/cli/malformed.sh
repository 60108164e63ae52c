# malformed.sh - every file in tests/malformed/ is a case: it states the
# error it must produce in a '# error:' line (and optionally '# weights:
# cifar10' and '# args: ...').  Each must exit 1 with one error line naming
# the file (or the weights file) and containing the stated text, and must
# leave existing outputs as they were and create none.
. "$SRC/tests/cli/lib.sh"
W="$EX/model/cifar10.caffemodel"
n=0
for f in "$SRC"/tests/malformed/*.prototxt; do
	n=$((n + 1))
	want=$(sed -n 's/^# error: //p' "$f" | head -1)
	args=$(sed -n 's/^# args: //p' "$f" | head -1)
	[ -n "$want" ] || { fail "$f states no error"; continue; }
	set -- -m "$f" -o "$SCRATCH/out.prototxt"
	if grep -q '^# weights: cifar10' "$f"; then
		set -- "$@" -w "$W" -W "$SCRATCH/out.caffemodel"
	fi
	echo "old" >"$SCRATCH/out.prototxt"
	rm -f "$SCRATCH/out.caffemodel"
	# shellcheck disable=SC2086
	expect_error "$want" "$CAFFEOPT" optimize "$@" $args
	grep -qF "$(basename "$f")" "$SCRATCH/err" || grep -qF "cifar10.caffemodel" "$SCRATCH/err" ||
		fail "$f: the error names no file"
	[ "$(cat "$SCRATCH/out.prototxt")" = old ] || fail "$f: the existing output was modified"
	[ ! -e "$SCRATCH/out.caffemodel" ] || fail "$f: an output was created"
	ls -A "$SCRATCH" | grep -q 'tmp-' && fail "$f: a temporary file was left behind"
done
[ "$n" -ge 10 ] || fail "only $n malformed cases"

# Binary cases, made from the real model.
P="$EX/model/train_val.prototxt"
head -c 100000 "$W" >"$SCRATCH/truncated.caffemodel"
expect_error "truncated.caffemodel: not a caffemodel" "$CAFFEOPT" optimize -m "$P" -w "$SCRATCH/truncated.caffemodel" -o "$SCRATCH/o.prototxt"
# field 1 (name) claiming a length far past the end of the file
printf '\012\377\377\377\377\017garbage' >"$SCRATCH/garbage.caffemodel"
expect_error "garbage.caffemodel" "$CAFFEOPT" optimize -m "$P" -w "$SCRATCH/garbage.caffemodel" -o "$SCRATCH/o.prototxt"
: >"$SCRATCH/empty.caffemodel"
expect_error "layer 'conv1' (Convolution) has no weights" "$CAFFEOPT" optimize -m "$P" -w "$SCRATCH/empty.caffemodel" -o "$SCRATCH/o.prototxt"
expect_error "no-such.prototxt: cannot open" "$CAFFEOPT" optimize -m "$SCRATCH/no-such.prototxt" -o "$SCRATCH/o.prototxt"
expect_error "not a regular file" "$CAFFEOPT" optimize -m "$SCRATCH" -o "$SCRATCH/o.prototxt"
expect_error "cannot create temporary file" "$CAFFEOPT" optimize -m "$P" -o "$SCRATCH/no/such/dir/o.prototxt"
[ ! -e "$SCRATCH/o.prototxt" ] || fail "a failed run wrote o.prototxt"
finish
