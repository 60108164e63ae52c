# usage.sh - help, version and usage errors: exit 0 for help, 2 for misuse.
. "$SRC/tests/cli/lib.sh"

expect_exit 0 "$CAFFEOPT" --help
grep -q "optimize" "$SCRATCH/out" || fail "--help does not list optimize"
expect_exit 0 "$CAFFEOPT" --version
grep -q "^caffeopt [0-9]" "$SCRATCH/out" || fail "--version prints no version"
for cmd in optimize convert info; do
	expect_exit 0 "$CAFFEOPT" $cmd --help
	grep -q "^usage: caffeopt $cmd" "$SCRATCH/out" || fail "$cmd --help has no usage line"
done
expect_exit 2 "$CAFFEOPT"
expect_exit 2 "$CAFFEOPT" frobnicate
expect_exit 2 "$CAFFEOPT" optimize --no-such-option
expect_exit 2 "$CAFFEOPT" optimize -o "$SCRATCH/x.prototxt"
expect_exit 2 "$CAFFEOPT" optimize -m "$EX/model/train_val.prototxt"
expect_exit 2 "$CAFFEOPT" optimize -m a -o b --phase deploy
expect_exit 2 "$CAFFEOPT" optimize -m a -o b --input-shape 1,3,32
expect_exit 2 "$CAFFEOPT" optimize -m a -o b --disable no-such-pass
expect_exit 2 "$CAFFEOPT" convert onlyone
expect_exit 2 "$CAFFEOPT" convert a b --to yaml
expect_exit 2 "$CAFFEOPT" info
[ ! -e "$SCRATCH/x.prototxt" ] || fail "a usage error wrote an output"
finish
