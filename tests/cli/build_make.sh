# build_make.sh - the Make module (make/caffeopt-*.mk) and the example's
# Makefile.  Rebuild semantics: a clean -j4 build runs the tool once per
# model; a second build does nothing; touching the caffemodel, the ini or
# the mean file the ini names reruns the tool; new weights or a new ini
# setting recompile and relink; an unrelated touch does nothing; a new
# tool reruns; a failing run leaves no output and the next build retries.
. "$SRC/tests/cli/lib.sh"
. "$SRC/tests/cli/buildlib.sh"
MAKE=${MAKE:-make}
B="$SCRATCH/b"

cat >"$M/Makefile" <<EOF
CAFFEOPT := $TOOL
CAFFEOPT_OUTDIR := $B/gen
include $SRC/make/caffeopt-config.mk
\$(eval \$(call caffeopt_model,m1,model/train_val.prototxt,model/cifar10.caffemodel,config.ini,--deploy --mode weights))
\$(eval \$(call caffeopt_model,m2,model/train_val.prototxt,model/cifar10.caffemodel,,--deploy --input-shape 1x3x32x32 --mode=blob --format incbin))
include $SRC/make/caffeopt-rules.mk

CFLAGS := -std=c11 -Wall -Wextra -Werror
OBJS := $B/app.o \$(patsubst %,%.o,\$(basename \$(m1_SRCS) \$(m2_SRCS)))
all: $B/app
$B/app: \$(OBJS)
	@echo "  LD \$@"
	@\$(CC) \$(OBJS) -o \$@
$B/app.o: app.c \$(m1_HDRS) \$(m2_HDRS)
	@echo "  CC \$@"
	@\$(CC) \$(CFLAGS) -I\$(m1_INCDIR) -I\$(m2_INCDIR) -c app.c -o \$@
$B/gen/%.o: $B/gen/%.c
	@echo "  CC \$@"
	@\$(CC) \$(CFLAGS) -I\$(dir \$<) -c \$< -o \$@
$B/gen/%.o: $B/gen/%.S
	@echo "  AS \$@"
	@\$(CC) -I\$(dir \$<) -c \$< -o \$@
$B/gen/m2/m2.o: \$(m2_DATA)
EOF

mk() { (cd "$M" && "$MAKE" "$@") >"$SCRATCH/build.log" 2>&1; }
expect_runs() { [ "$(runs)" = "$1" ] || { fail "$2: the tool ran $(runs) times in all, expected $1"; cat "$SCRATCH/build.log" >&2; }; }
expect_build() {  # WHAT COMPILED LINKED
	[ "$(compiled "$SCRATCH/build.log")$(linked "$SCRATCH/build.log")" = "$2$3" ] ||
		{ fail "$1: compiled/linked $(compiled "$SCRATCH/build.log")$(linked "$SCRATCH/build.log"), expected $2$3"; cat "$SCRATCH/build.log" >&2; }
}

# Clean -j4 build: one run per model.
mk -j4 || { fail "clean make -j4"; cat "$SCRATCH/build.log" >&2; }
expect_runs 2 "clean -j4 build"
[ "$(grep -c -- '--name m1 ' "$LOG")" = 1 ] && [ "$(grep -c -- '--name m2 ' "$LOG")" = 1 ] || fail "not one run per model"
"$B/app" >"$SCRATCH/out1" || fail "app"
grep -q '^m2 [0-9]* bytes' "$SCRATCH/out1" || fail "app output"
"$CAFFEOPT" optimize -q -m "$M/model/train_val.prototxt" -w "$M/model/cifar10.caffemodel" --deploy \
	--input-shape 1,3,32,32 -W "$SCRATCH/m2.caffemodel"
same_bytes "$B/gen/m2/m2.caffemodel" "$SCRATCH/m2.caffemodel"

# No-op.
mk || fail "second make"
expect_runs 2 "second build"
expect_build "second build" 0 0
grep -q "Nothing to be done" "$SCRATCH/build.log" || fail "second build did something: $(cat "$SCRATCH/build.log")"

# Touching the caffemodel reruns the tool; same bytes, so nothing recompiles.
sleep 1
touch "$M/model/cifar10.caffemodel"
mk || fail "make after touch"
expect_runs 4 "touch caffemodel"
expect_build "touch caffemodel" 0 0
mk && expect_runs 4 "build after touch"

# New weights: regenerated, recompiled, relinked, and the app sees them.
put "$SCRATCH/changed.caffemodel" "$M/model/cifar10.caffemodel"
mk || fail "make after new weights"
expect_runs 6 "new weights"
expect_build "new weights" 1 1
"$B/app" >"$SCRATCH/out2"
[ "$(head -1 "$SCRATCH/out1")" != "$(head -1 "$SCRATCH/out2")" ] || fail "m1 did not change with the weights"
[ "$(sed -n 2p "$SCRATCH/out1")" != "$(sed -n 2p "$SCRATCH/out2")" ] || fail "m2 (incbin) did not change with the weights"

# Editing the ini reruns m1 only (m2 has no ini); a setting that changes
# the net recompiles and relinks.
sleep 1
sed -i 's/^merge_dropout = yes/merge_dropout = no/' "$M/config.ini"
mk || fail "make after ini edit"
expect_runs 7 "ini edit"
expect_build "ini edit" 1 1
"$B/app" >"$SCRATCH/out3"
[ "$(head -1 "$SCRATCH/out2")" != "$(head -1 "$SCRATCH/out3")" ] || fail "ini edit not seen: $(head -1 "$SCRATCH/out3")"
# The mean file the ini names is an input too.
sleep 1
touch "$M/data/mean.npy"
mk || fail "make after mean touch"
expect_runs 8 "mean file touch"
# An unrelated file: nothing.
touch "$M/NOTES" "$M/app.c.orig"
mk || fail "make after unrelated touch"
expect_runs 8 "unrelated touch"
expect_build "unrelated touch" 0 0
# A new tool reruns every model.
sleep 1
touch "$TOOL"
mk || fail "make after tool touch"
expect_runs 10 "tool touch"
# A deleted output is made again.
rm "$B/gen/m1/m1.h"
mk || fail "make after deleting m1.h"
[ -e "$B/gen/m1/m1.h" ] || fail "m1.h not made again"

# A failing run changes nothing and the next build retries.
snapshot "$B/gen/m1/"* >"$SCRATCH/before"
n=$(runs)
put "$SCRATCH/broken.caffemodel" "$M/model/cifar10.caffemodel"
mk -j4 && fail "make with a broken caffemodel succeeded"
grep -q 'cifar10.caffemodel' "$SCRATCH/build.log" || fail "the failure does not name the caffemodel"
snapshot "$B/gen/m1/"* >"$SCRATCH/after"
same_bytes "$SCRATCH/before" "$SCRATCH/after"
mk && fail "second make with a broken caffemodel succeeded"
[ "$(runs)" -gt $((n + 2)) ] || fail "the failed build was not retried"
put "$SCRATCH/good.caffemodel" "$M/model/cifar10.caffemodel"
mk || fail "make after the fix"
"$B/app" >"$SCRATCH/out4"
grep -q '^m2' "$SCRATCH/out4" || fail "app after the fix"

# From a clean tree, a failing run leaves no output at all.
rm -rf "$B"
put "$SCRATCH/broken.caffemodel" "$M/model/cifar10.caffemodel"
mk -j4 && fail "clean make with a broken caffemodel succeeded"
[ -z "$(find "$B" -type f 2>/dev/null)" ] || fail "a failed clean build left: $(find "$B" -type f)"
put "$SCRATCH/good.caffemodel" "$M/model/cifar10.caffemodel"
mk -j4 || { fail "clean make after the fix"; cat "$SCRATCH/build.log" >&2; }

# Bad declarations are errors that say what is wrong.
printf 'include %s/make/caffeopt-config.mk\n$(eval $(call caffeopt_model,3d,a,b))\n' "$SRC" >"$SCRATCH/bad.mk"
"$MAKE" -f "$SCRATCH/bad.mk" >"$SCRATCH/build.log" 2>&1 && fail "NAME 3d accepted"
grep -q "must be a C identifier" "$SCRATCH/build.log" || fail "bad NAME message: $(cat "$SCRATCH/build.log")"

# The shipped example's Makefile, in a copy: builds quietly, runs, and
# its class agrees with caffeopt run and OpenCV.
cp -r "$EX" "$SCRATCH/example"
chmod -R u+w "$SCRATCH/example"
rm -rf "$SCRATCH/example/build-make" "$SCRATCH/example/build-arm"
(cd "$SCRATCH/example" && "$MAKE" -j4 CAFFEOPT="$CAFFEOPT" CAFFEOPT_MAKE="$SRC/make") >"$SCRATCH/build.log" 2>&1 ||
	{ fail "example Makefile"; cat "$SCRATCH/build.log" >&2; }
grep -q '^  CAFFEOPT cifar10 (net, literal)' "$SCRATCH/build.log" || fail "example build is not quiet or ran no tool"
"$SCRATCH/example/build-make/cifar10_app" >"$SCRATCH/app.out" || fail "example app"
example_check "$SCRATCH/app.out"
(cd "$SCRATCH/example" && "$MAKE" V=1 CAFFEOPT="$CAFFEOPT" CAFFEOPT_MAKE="$SRC/make") >"$SCRATCH/build.log" 2>&1
grep -q "Nothing to be done" "$SCRATCH/build.log" || fail "example: second build did something"

# Standalone, against an installed caffeopt: the Make module, templates
# and runtime sources come from the prefix.
BUILD_DIR=$(dirname "$CAFFEOPT")
cmake --install "$BUILD_DIR" --prefix "$SCRATCH/prefix" >"$SCRATCH/build.log" 2>&1 || { fail "cmake --install"; cat "$SCRATCH/build.log" >&2; }
rm -rf "$SCRATCH/example/build-make"
(cd "$SCRATCH/example" && "$MAKE" -j4 CAFFEOPT="$SCRATCH/prefix/bin/caffeopt") >"$SCRATCH/build.log" 2>&1 ||
	{ fail "example Makefile against the install"; cat "$SCRATCH/build.log" >&2; }
grep -q "$SCRATCH/prefix/share/caffeopt/templates/model.c.in" "$SCRATCH/example/build-make/gen/cifar10/cifar10.d" ||
	fail "the installed tool did not use the installed templates"
"$SCRATCH/example/build-make/cifar10_app" >"$SCRATCH/app2.out" && example_check "$SCRATCH/app2.out"

# The Cortex-M4 cross build, when the toolchain is here: it links, and the
# weights and tables are in .rodata, nothing of ours in .data.
if command -v arm-none-eabi-gcc >/dev/null; then
	(cd "$SCRATCH/example" && "$MAKE" -j4 CROSS=arm-none-eabi- CAFFEOPT="$SCRATCH/prefix/bin/caffeopt") \
		>"$SCRATCH/build.log" 2>&1 || { fail "example cross build"; cat "$SCRATCH/build.log" >&2; }
	elf="$SCRATCH/example/build-arm/cifar10.elf"
	arm-none-eabi-readelf -h "$elf" | grep -q 'Machine:.*ARM' || fail "not an ARM ELF"
	for sym in cifar10_weight_store cifar10_net cifar10_layers cifar10_blobs; do
		arm-none-eabi-objdump -t "$elf" | grep -q "\.rodata.* $sym\$" || fail "$sym is not in .rodata"
	done
	for o in "$SCRATCH/example/build-arm/gen/cifar10/cifar10.o" "$SCRATCH/example/build-arm/runtime/"*.o; do
		arm-none-eabi-size -A "$o" | awk '$1 ~ /^\.data/ && $2 > 0 { bad = 1 } END { exit bad }' ||
			fail "$(basename "$o") has a .data section"
	done
	arm-none-eabi-size "$elf"
else
	echo "note: no arm-none-eabi-gcc (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi): cross build not tested"
fi
finish
