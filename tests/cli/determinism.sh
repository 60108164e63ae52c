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
# embed, every mode and format, and optimize --emit-c: the same C sources
# and data files from both folders and environments.  The sources name
# their data files (incbin) relative to the output folder, so no path of
# the run shows in them; the depfile names the files as they were given,
# so it is compared with those spellings replaced.
cp "$SCRATCH/a/o.prototxt" "$SCRATCH/in/opt.prototxt"
cp "$SCRATCH/a/o.caffemodel" "$SCRATCH/in/opt.caffemodel"
# dep_norm FILE IN OUT: FILE with the spelling IN of $SCRATCH/in/ and OUT of
# the output folders' parent (sed patterns) replaced.
dep_norm() {
	sed "s#$2#IN/#g; s#$3#OUT/#g" "$1"
}
# same_dir A B: the same file names (hidden ones too) and the same bytes.
same_dir() {
	[ "$(ls -A "$1")" = "$(ls -A "$2")" ] ||
		fail "$1 and $2 hold different files: $(ls -A "$1" | tr '\n' ' ')/ $(ls -A "$2" | tr '\n' ' ')"
	for f in "$1"/*; do
		same_bytes "$f" "$2/$(basename "$f")"
	done
}
for mode in blob weights net; do
	for fmt in literal array incbin; do
		e=e-$mode-$fmt
		(cd "$SCRATCH/a" && env -i PATH=/usr/bin:/bin LC_ALL=C TZ=UTC OPENBLAS_NUM_THREADS=1 \
			"$CAFFEOPT" embed -q -m "$SCRATCH/in/opt.prototxt" -w "$SCRATCH/in/opt.caffemodel" \
			--name cifar10 -o "$SCRATCH/a/$e" --mode $mode --format $fmt --depfile "$SCRATCH/a/$e.d") ||
			fail "embed $mode $fmt failed in a"
		(cd "$SCRATCH/b/deeper/still" && umask 077 && env LC_ALL=de_DE.UTF-8 LANG=de_DE.UTF-8 \
			TZ=Asia/Kolkata OPENBLAS_NUM_THREADS=2 MALLOC_PERTURB_=165 HOME=/nonexistent \
			"$CAFFEOPT" embed -q -m ../../../in/opt.prototxt -w ./../../../in/opt.caffemodel \
			--name cifar10 -o ../$e --mode $mode --format $fmt --depfile ../$e.d) ||
			fail "embed $mode $fmt failed in b"
		same_dir "$SCRATCH/a/$e" "$SCRATCH/b/deeper/$e"
		dep_norm "$SCRATCH/a/$e.d" "$SCRATCH/in/" "$SCRATCH/a/" >"$SCRATCH/a/$e.d.norm"
		dep_norm "$SCRATCH/b/deeper/$e.d" '\./\.\./\.\./\.\./in/\|\.\./\.\./\.\./in/' '\.\./' \
			>"$SCRATCH/b/$e.d.norm"
		same_bytes "$SCRATCH/a/$e.d.norm" "$SCRATCH/b/$e.d.norm"
		if grep -q "$SCRATCH" "$SCRATCH/a/$e"/*; then fail "embed $mode $fmt: an output names its folder"; fi
	done
done
(cd "$SCRATCH/a" && env -i PATH=/usr/bin:/bin LC_ALL=C TZ=UTC OPENBLAS_NUM_THREADS=1 \
	"$CAFFEOPT" optimize -q -m "$M" -w "$W" -o "$SCRATCH/a/emit.prototxt" -W "$SCRATCH/a/emit.caffemodel" \
	--deploy --input-shape 1,3,32,32 --emit-c "$SCRATCH/a/emit" --name cifar10 --mode net \
	--format array --stamp "$SCRATCH/a/emit.stamp") || fail "optimize --emit-c failed in a"
(cd "$SCRATCH/b/deeper/still" && umask 077 && env LC_ALL=de_DE.UTF-8 LANG=de_DE.UTF-8 TZ=Asia/Kolkata \
	OPENBLAS_NUM_THREADS=2 MALLOC_PERTURB_=165 HOME=/nonexistent \
	"$CAFFEOPT" optimize -q -m ../../../in/model/train_val.prototxt -w ../../../in/model/cifar10.caffemodel \
	-o ../emit.prototxt -W ../emit.caffemodel --deploy --input-shape 1,3,32,32 --emit-c ../emit \
	--name cifar10 --mode net --format array --stamp ../emit.stamp) || fail "optimize --emit-c failed in b"
same_dir "$SCRATCH/a/emit" "$SCRATCH/b/deeper/emit"
for f in emit.prototxt emit.caffemodel emit.stamp; do
	same_bytes "$SCRATCH/a/$f" "$SCRATCH/b/deeper/$f"
done
same_bytes "$SCRATCH/a/emit/cifar10.caffemodel" "$SCRATCH/a/emit.caffemodel"

# the outputs' mode follows the umask, never mkstemp's 0600
[ "$(stat -c %a "$SCRATCH/a/o.prototxt")" != 600 ] || fail "output kept mkstemp's mode 0600"
finish
