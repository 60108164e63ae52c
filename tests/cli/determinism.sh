# determinism.sh - the same inputs give byte-identical outputs, whatever
# the working folder, the paths' spelling and the environment (locale,
# time zone, umask, thread count, malloc filling fresh and freed memory).
. "$SRC/tests/cli/lib.sh"
M="$EX/model/train_val.prototxt"
W="$EX/model/cifar10.caffemodel"
mkdir -p "$SCRATCH/a" "$SCRATCH/b/deeper/still"
cp -R "$EX" "$SCRATCH/in"

# First: absolute paths, C locale, UTC, one thread.
(cd "$SCRATCH/a" && env -i PATH=/usr/bin:/bin LC_ALL=C TZ=UTC OPENBLAS_NUM_THREADS=1 \
	"$CAFFEOPT" optimize -q -m "$M" -w "$W" -o "$SCRATCH/a/o.prototxt" -W "$SCRATCH/a/o.caffemodel" \
	--deploy --input-shape 1,3,32,32 --enable fold-input --mean 104,117,123 --input-scale 0.5 \
	--report "$SCRATCH/a/r.json") || fail "first run failed"
# Second: relative paths through other folders, another locale and zone,
# a strict umask, more threads, and glibc's malloc perturbation.
(cd "$SCRATCH/b/deeper/still" && umask 077 && env LC_ALL=de_DE.UTF-8 LANG=de_DE.UTF-8 TZ=Asia/Kolkata \
	OPENBLAS_NUM_THREADS=2 MALLOC_PERTURB_=165 HOME=/nonexistent \
	"$CAFFEOPT" optimize -q -m ../../../in/model/train_val.prototxt -w ../../../in/model/cifar10.caffemodel \
	-o ../o.prototxt -W ./../o.caffemodel --deploy --input-shape 1,3,32,32 --enable fold-input \
	--mean 104,117,123 --input-scale 0.5 --report ../r.json) || fail "second run failed"
same_bytes "$SCRATCH/a/o.prototxt" "$SCRATCH/b/deeper/o.prototxt"
same_bytes "$SCRATCH/a/o.caffemodel" "$SCRATCH/b/deeper/o.caffemodel"
# The report names the files as given; the rest of it is the same.
paths='/^"\(prototxt\|caffemodel\|output_prototxt\|output_caffemodel\)":/d'
sed "$paths" "$SCRATCH/a/r.json" >"$SCRATCH/a/r.norm"
sed "$paths" "$SCRATCH/b/deeper/r.json" >"$SCRATCH/b/r.norm"
same_bytes "$SCRATCH/a/r.norm" "$SCRATCH/b/r.norm"

# The ini route gives what the flags give.
(cd "$SCRATCH/b" && env MALLOC_PERTURB_=90 "$CAFFEOPT" optimize -q --config ../in/config.ini \
	-o ini.prototxt -W ini.caffemodel --deploy) || fail "ini run failed"
(cd "$SCRATCH/a" && "$CAFFEOPT" optimize -q --config "$SCRATCH/in/config.ini" \
	-o ini.prototxt -W ini.caffemodel --deploy) || fail "ini run failed"
same_bytes "$SCRATCH/a/ini.prototxt" "$SCRATCH/b/ini.prototxt"
same_bytes "$SCRATCH/a/ini.caffemodel" "$SCRATCH/b/ini.caffemodel"

# convert both ways, twice.
for d in a b; do
	(cd "$SCRATCH/$d" && env MALLOC_PERTURB_=33 "$CAFFEOPT" convert "$W" c.prototxt &&
		"$CAFFEOPT" convert c.prototxt c.caffemodel) >/dev/null || fail "convert failed in $d"
done
same_bytes "$SCRATCH/a/c.prototxt" "$SCRATCH/b/c.prototxt"
same_bytes "$SCRATCH/a/c.caffemodel" "$SCRATCH/b/c.caffemodel"
# the outputs' mode follows the umask, never mkstemp's 0600
[ "$(stat -c %a "$SCRATCH/a/o.prototxt")" != 600 ] || fail "output kept mkstemp's mode 0600"
finish
