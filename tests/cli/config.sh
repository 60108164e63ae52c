# config.sh - the original project's config.ini drives optimize unchanged.
. "$SRC/tests/cli/lib.sh"
cp -r "$EX" "$SCRATCH/proj"
rm -f "$SCRATCH/proj/model/opt_"*

# Paths are relative to the ini's folder, whatever the working folder.
(cd / && expect_exit 0 "$CAFFEOPT" optimize --config "$SCRATCH/proj/config.ini")
[ -s "$SCRATCH/proj/model/opt_train_val.prototxt" ] || fail "no optimized prototxt where the ini says"
[ -s "$SCRATCH/proj/model/opt_cifar10.caffemodel" ] || fail "no optimized caffemodel where the ini says"
grep -q "pycaffe_path is ignored" "$SCRATCH/err" || fail "no note about pycaffe_path"

# Flags override the ini.
expect_exit 0 "$CAFFEOPT" optimize -q --config "$SCRATCH/proj/config.ini" -o "$SCRATCH/o.prototxt" -W "$SCRATCH/o.caffemodel"
[ -s "$SCRATCH/o.prototxt" ] && [ -s "$SCRATCH/o.caffemodel" ] || fail "-o/-W did not override the ini"
# H, W and C of the ini give the deploy shape (batch 1).
expect_exit 0 "$CAFFEOPT" optimize -q --config "$SCRATCH/proj/config.ini" --deploy -o "$SCRATCH/d.prototxt" -W "$SCRATCH/d.caffemodel"
grep -A8 'type: "Input"' "$SCRATCH/d.prototxt" | tr -d ' \n' | grep -q 'dim:1dim:3dim:32dim:32' || fail "deploy shape from H, W, C"

# A bad value is an error at file:line, and nothing is written.
sed 's/^merge_bn_scale = yes/merge_bn_scale = maybe/' "$SCRATCH/proj/config.ini" >"$SCRATCH/proj/bad.ini"
expect_error "bad.ini:10:" "$CAFFEOPT" optimize --config "$SCRATCH/proj/bad.ini" -o "$SCRATCH/bad.prototxt"
[ ! -e "$SCRATCH/bad.prototxt" ] || fail "bad ini wrote an output"
# An unknown key warns, and the run goes on.
{ cat "$SCRATCH/proj/config.ini"; echo "merge_everything = yes"; } >"$SCRATCH/proj/unknown.ini"
expect_exit 0 "$CAFFEOPT" optimize --config "$SCRATCH/proj/unknown.ini" -o "$SCRATCH/u.prototxt"
grep -q "merge_everything" "$SCRATCH/err" || fail "no warning for an unknown key"
# A line longer than Debian's inih reads is an error, not a cut value.
long=$(printf 'x%.0s' $(seq 1 220))
sed "s|^original_prototxt_path = .*|original_prototxt_path = ./$long/train_val.prototxt|" \
	"$SCRATCH/proj/config.ini" >"$SCRATCH/proj/long.ini"
expect_error "which Debian's inih cuts" "$CAFFEOPT" optimize --config "$SCRATCH/proj/long.ini" -o "$SCRATCH/l.prototxt"
# A missing ini names the file.
expect_error "nope.ini" "$CAFFEOPT" optimize --config "$SCRATCH/nope.ini" -o "$SCRATCH/l.prototxt"
finish
