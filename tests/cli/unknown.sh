# unknown.sh - fields our schema does not know survive as text, warn once
# per name, freeze their layer, and never reach a binary file.
. "$SRC/tests/cli/lib.sh"
F="$DATA/unknown/fork_params.prototxt"

expect_exit 0 "$CAFFEOPT" optimize -m "$F" -o "$SCRATCH/o.prototxt"
[ "$(grep -c "unknown field 'interp_param'" "$SCRATCH/err")" = 1 ] || fail "interp_param not warned exactly once"
grep -q "fork_params.prototxt:12:52:.*unknown field 'engine_hint'" "$SCRATCH/err" || fail "no located warning for engine_hint"
grep -q 'engine_hint: "fast"' "$SCRATCH/o.prototxt" || fail "engine_hint lost"
grep -q 'zoom_factor: 2' "$SCRATCH/o.prototxt" || fail "interp_param lost"
grep -q 'name: "drop"' "$SCRATCH/o.prototxt" || fail "a Dropout carrying unknown fields was rewritten"
grep -q "refused drop: carries fields unknown" "$SCRATCH/out" || fail "no refusal reported for the frozen Dropout"
# What we print, protoc reads: the kept text is valid text format again.
# (protoc would reject the unknown names, so compare our own re-read.)
expect_exit 0 "$CAFFEOPT" convert "$SCRATCH/o.prototxt" "$SCRATCH/o2.prototxt"
same_bytes "$SCRATCH/o.prototxt" "$SCRATCH/o2.prototxt"
# To binary: the unknown text is dropped, protoc decodes the rest cleanly.
expect_exit 0 "$CAFFEOPT" convert "$F" "$SCRATCH/o.caffemodel"
"$PROTOC" -I/usr/include -I"$SRC/src/proto" --decode=caffe.NetParameter caffe.proto \
	<"$SCRATCH/o.caffemodel" >"$SCRATCH/o.decoded"
grep -q '^ *[0-9]\+:' "$SCRATCH/o.decoded" && fail "unknown-field text leaked into the binary"
grep -q 'num_output: 4' "$SCRATCH/o.decoded" || fail "known fields lost in the binary"
finish
