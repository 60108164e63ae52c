# hostile.sh - the hostile-input corpus (tests/hostile/, README.md there):
# every case must exit 1 with one error line that names the file (the case
# or the file it feeds) and holds the stated text, and must leave the
# existing outputs as they were and leave no other file (no temporary) in
# the outputs' folder.
. "$SRC/tests/cli/lib.sh"
HD="$SRC/tests/hostile"
TINY="$SRC/tests/fuzz/seeds/tiny.prototxt"
TINYW="$SRC/tests/fuzz/seeds/caffemodel/tiny.caffemodel"
CIFARW="$EX/model/cifar10.caffemodel"
O="$SCRATCH/o"
n=0

# run_case CASE WANT NAMES ARGS...: one case; NAMES is a '|' list of file
# names of which the error must hold one.
run_case() {
	case_file=$1 want=$2 names=$3
	shift 3
	n=$((n + 1))
	mkdir -p "$O"
	echo old >"$O/out.prototxt"
	echo old >"$O/out.caffemodel"
	expect_error "$want" "$CAFFEOPT" optimize "$@" || true
	echo "$names" | tr '|' '\n' | while read -r nm; do
		grep -qF -- "$nm" "$SCRATCH/err" && echo yes
	done | grep -q yes || fail "$case_file: the error names none of: $names"
	[ "$(cat "$O/out.prototxt")" = old ] || fail "$case_file: out.prototxt was modified"
	[ "$(cat "$O/out.caffemodel")" = old ] || fail "$case_file: out.caffemodel was modified"
	[ "$(ls -A "$O" | wc -l)" = 2 ] || fail "$case_file: left behind: $(ls -A "$O" | tr '\n' ' ')"
}

# Text cases state what they want: '# error: TEXT', and optionally
# '# weights: tiny|cifar10|FILE.caffemodel' (FILE beside the case) and
# '# args: ...'.  A '# ok: LAYER...' case must succeed and keep those
# layers.
for f in "$HD"/*.prototxt; do
	want=$(sed -n 's/^# error: //p' "$f" | head -1)
	args=$(sed -n 's/^# args: //p' "$f" | head -1)
	weights=$(sed -n 's/^# weights: //p' "$f" | head -1)
	keeps=$(sed -n 's/^# ok: //p' "$f" | head -1)
	names=$(basename "$f")
	set -- -m "$f" -o "$O/out.prototxt"
	case $weights in
	tiny) set -- "$@" -w "$TINYW" -W "$O/out.caffemodel"; names="$names|tiny.caffemodel" ;;
	cifar10) set -- "$@" -w "$CIFARW" -W "$O/out.caffemodel"; names="$names|cifar10.caffemodel" ;;
	?*) set -- "$@" -w "$HD/$weights" -W "$O/out.caffemodel"; names="$names|$weights" ;;
	esac
	if [ -n "$keeps" ]; then
		n=$((n + 1))
		# shellcheck disable=SC2086
		expect_exit 0 "$CAFFEOPT" optimize "$@" $args || continue
		for l in $keeps; do
			grep -q "name: \"$l\"" "$O/out.prototxt" || fail "$f: layer $l was not kept"
		done
		continue
	fi
	[ -n "$want" ] || { fail "$f states no error"; continue; }
	# shellcheck disable=SC2086
	run_case "$f" "$want" "$names" "$@" $args
done

# ini cases: '# error: TEXT', and optionally '# names: A|B', files the
# error may name instead of the ini; the net, its weights and the outputs
# come from the command line.
for f in "$HD"/*.ini; do
	want=$(sed -n 's/^# error: //p' "$f" | head -1)
	names=$(sed -n 's/^# names: //p' "$f" | head -1)
	[ -n "$want" ] || { fail "$f states no error"; continue; }
	run_case "$f" "$want" "$(basename "$f")${names:+|$names}" --config "$f" -m "$TINY" -w "$TINYW" \
		-o "$O/out.prototxt" -W "$O/out.caffemodel"
done

# Template cases (*.in): embed of the tiny model with --template, a copy
# of templates/ in which the case replaces model.h.in (or the template
# '{{! slot: model.c.in }}' names; '{{! args: ...}}' adds embed options).
# The one error line must name that template with a line and a column
# and hold '{{! error: TEXT }}' (a binary case: its line in binary.txt;
# in TEXT, '{ {' and '} }' stand for '{{' and '}}', which would end the
# comment).
# Twice: into the folder of an earlier good run, whose outputs, depfile
# and stamp must stay as they were (same bytes, inode and mtime), and into
# a folder that does not exist yet, which must not be created.
E="$SCRATCH/emb"
SIDE="$SCRATCH/side"
T="$SCRATCH/tpl"
mkdir -p "$SIDE"
expect_exit 0 "$CAFFEOPT" embed -q -m "$TINY" -w "$TINYW" --name tiny -o "$E" --mode weights \
	--depfile "$SIDE/emb.d" --stamp "$SIDE/emb.stamp" || true
snap_embed() {
	ls -A "$E" "$SIDE"
	for f in "$E"/* "$SIDE"/*; do
		stat -c '%n %i %s %.9Y' "$f"
		cksum <"$f"
	done
}
snap_embed >"$SCRATCH/emb.before"
# run_tpl_case CASE WANT SLOT ARGS...
run_tpl_case() {
	case_file=$1 tpl_want=$2 slot=$3  # not $want: expect_exit sets that
	shift 3
	n=$((n + 1))
	rm -rf "$T"
	mkdir -p "$T"
	cp "$SRC/templates/"*.in "$T/"
	cp "$case_file" "$T/$slot"
	for out in "$E" "$SCRATCH/new/out"; do
		expect_error "$tpl_want" "$CAFFEOPT" embed -m "$TINY" -w "$TINYW" --name tiny -o "$out" \
			--template "$T" --depfile "$SIDE/emb.d" --stamp "$SIDE/emb.stamp" "$@"
		grep -q "$T/$slot:[0-9][0-9]*:[0-9][0-9]*: " "$SCRATCH/err" ||
			fail "$case_file: the error does not name $T/$slot:LINE:COL"
	done
	[ ! -e "$SCRATCH/new" ] || fail "$case_file: a failing run created $(find "$SCRATCH/new" | tr '\n' ' ')"
	rm -rf "$SCRATCH/new"
	snap_embed >"$SCRATCH/emb.after"
	cmp -s "$SCRATCH/emb.before" "$SCRATCH/emb.after" ||
		fail "$case_file: the outputs changed: $(diff "$SCRATCH/emb.before" "$SCRATCH/emb.after" | tr '\n' ' ')"
}
for f in "$HD"/*.in; do
	want=$(sed -n 's/^{{! error: \(.*\) }}$/\1/p' "$f" | head -1 | sed 's/{ {/{{/g; s/} }/}}/g')
	slot=$(sed -n 's/^{{! slot: \(.*\) }}$/\1/p' "$f" | head -1)
	args=$(sed -n 's/^{{! args: \(.*\) }}$/\1/p' "$f" | head -1)
	if [ -z "$want" ]; then
		grep -q "^$(basename "$f") " "$HD/binary.txt" || fail "$f states no error and has no line in binary.txt"
		continue
	fi
	# shellcheck disable=SC2086
	run_tpl_case "$f" "$want" "${slot:-model.h.in}" $args
done

# Binary cases: binary.txt says 'NAME | TEXT' for each.  A caffemodel is
# bound to the tiny net; a .npy or .binaryproto is its mean for fold-input;
# a .in is a template, as above.
while IFS='|' read -r name want; do
	name=$(echo "$name" | sed 's/ *$//')
	want=$(echo "$want" | sed 's/^ *//')
	case $name in ''|\#*) continue ;; esac
	f="$HD/$name"
	[ -f "$f" ] || { fail "binary.txt names a missing $name"; continue; }
	case $name in
	*.caffemodel)
		run_case "$f" "$want" "$name" -m "$TINY" -w "$f" -o "$O/out.prototxt" -W "$O/out.caffemodel" ;;
	*.in)
		run_tpl_case "$f" "$want" model.h.in ;;
	*)
		run_case "$f" "$want" "$name|tiny.prototxt" -m "$TINY" -w "$TINYW" -o "$O/out.prototxt" \
			-W "$O/out.caffemodel" --enable fold-input --mean "$f" ;;
	esac
done <"$HD/binary.txt"
for f in "$HD"/*.caffemodel "$HD"/*.npy "$HD"/*.binaryproto; do
	grep -q "^$(basename "$f") " "$HD/binary.txt" || fail "$f has no line in binary.txt"
done

# .pbtxt cases are odd but valid text: what caffeopt prints of them must
# read back to the same text.
for f in "$HD"/*.pbtxt; do
	n=$((n + 1))
	expect_exit 0 "$CAFFEOPT" convert "$f" "$O/rt1.prototxt" || continue
	expect_exit 0 "$CAFFEOPT" convert "$O/rt1.prototxt" "$O/rt2.prototxt" || continue
	same_bytes "$O/rt1.prototxt" "$O/rt2.prototxt"
done

# An empty template is a valid one: it gives an empty file.
n=$((n + 1))
rm -rf "$T" "$SCRATCH/empty"
mkdir -p "$T"
cp "$SRC/templates/"*.in "$T/"
: >"$T/model.h.in"
if expect_exit 0 "$CAFFEOPT" embed -q -m "$TINY" -w "$TINYW" --name tiny -o "$SCRATCH/empty" --template "$T"; then
	[ -f "$SCRATCH/empty/tiny.h" ] && [ ! -s "$SCRATCH/empty/tiny.h" ] ||
		fail "an empty model.h.in did not give an empty tiny.h"
fi
rm -rf "$SCRATCH/empty"

# The good inputs the cases are made from pass, so each case fails for its
# own fault.
expect_exit 0 "$CAFFEOPT" optimize -m "$TINY" -w "$TINYW" -o "$O/good.prototxt" -W "$O/good.caffemodel" \
	--enable fold-input --mean 104,117,123
rm -rf "$T"
mkdir -p "$T"
cp "$SRC/templates/"*.in "$T/"
for a in "" "--mode net" "--mode weights --format array" "--format incbin"; do
	# shellcheck disable=SC2086
	expect_exit 0 "$CAFFEOPT" embed -q -m "$TINY" -w "$TINYW" --name tiny -o "$SCRATCH/good" --template "$T" $a
done
[ "$n" -ge 60 ] || fail "only $n hostile cases"
echo "$n hostile cases"
finish
