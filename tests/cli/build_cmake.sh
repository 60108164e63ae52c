# build_cmake.sh - add_optimized_caffe_model() (cmake/CaffeoptModel.cmake).
# For the Unix Makefiles and Ninja generators: a clean -j4 build runs the
# tool once per model; a second build does nothing; touching the
# caffemodel, the ini or the mean file the ini names reruns the tool; new
# weights or a new ini setting recompile and relink; an unrelated touch
# does nothing; a new tool reruns; a failing run leaves no output and the
# next build retries.  Then the shipped example three ways: inside this
# tree (add_subdirectory), through FetchContent, and with find_package()
# after `cmake --install`.
. "$SRC/tests/cli/lib.sh"
. "$SRC/tests/cli/buildlib.sh"
BUILD_DIR=$(dirname "$CAFFEOPT")   # the caffeopt build tree, for the install

cat >"$M/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.20)
project(t LANGUAGES C ASM)
include($SRC/cmake/CaffeoptModel.cmake)
add_optimized_caffe_model(m1 PROTOTXT model/train_val.prototxt WEIGHTS model/cifar10.caffemodel
	CONFIG config.ini DEPLOY EMBED weights)
add_optimized_caffe_model(m2 PROTOTXT \${CMAKE_CURRENT_SOURCE_DIR}/model/train_val.prototxt
	WEIGHTS model/cifar10.caffemodel DEPLOY INPUT_SHAPE 1 3 32 32 EMBED blob FORMAT incbin)
add_executable(app app.c)
set_target_properties(app PROPERTIES C_STANDARD 11)
target_compile_options(app PRIVATE -Wall -Wextra -Werror)
target_link_libraries(app PRIVATE m1 caffeopt::m2)
get_target_property(p m2 CAFFEOPT_CAFFEMODEL)
file(WRITE \${CMAKE_BINARY_DIR}/m2.path "\${p}")
EOF

gens="Unix Makefiles"
if command -v ninja >/dev/null; then
	gens="$gens|Ninja"
else
	fail "ninja is not installed (Debian: ninja-build): the Ninja generator is untested"
fi

bld() { cmake --build "$B" "$@" >"$SCRATCH/build.log" 2>&1; }
expect_runs() { [ "$(runs)" = "$1" ] || { fail "$G: $2: the tool ran $(runs) times in all, expected $1"; cat "$SCRATCH/build.log" >&2; }; }
expect_build() {  # WHAT COMPILED LINKED
	[ "$(compiled "$SCRATCH/build.log")$(linked "$SCRATCH/build.log")" = "$2$3" ] ||
		{ fail "$G: $1: compiled/linked $(compiled "$SCRATCH/build.log")$(linked "$SCRATCH/build.log"), expected $2$3"; cat "$SCRATCH/build.log" >&2; }
}

IFS='|'
for G in $gens; do
	unset IFS
	B="$SCRATCH/b-$(echo "$G" | tr -d ' ')"
	: >"$LOG"
	put "$SCRATCH/good.caffemodel" "$M/model/cifar10.caffemodel"
	cp "$EX/config.ini" "$M/config.ini"
	cmake -G "$G" -S "$M" -B "$B" -DCAFFEOPT_EXECUTABLE="$TOOL" >"$SCRATCH/build.log" 2>&1 ||
		{ fail "$G: configure"; cat "$SCRATCH/build.log" >&2; continue; }

	bld -j4 || { fail "$G: clean build"; cat "$SCRATCH/build.log" >&2; continue; }
	expect_runs 2 "clean -j4 build"
	[ "$(grep -c -- '--name m1 ' "$LOG")" = 1 ] && [ "$(grep -c -- '--name m2 ' "$LOG")" = 1 ] || fail "$G: not one run per model"
	"$B/app" >"$SCRATCH/out1" || fail "$G: app"
	grep -q '^m1 [0-9]* layers' "$SCRATCH/out1" || fail "$G: app output $(cat "$SCRATCH/out1")"
	[ "$(cat "$B/m2.path")" = "$B/caffeopt/m2/m2.caffemodel" ] || fail "$G: CAFFEOPT_CAFFEMODEL property"

	bld || fail "$G: second build"
	expect_runs 2 "second build"
	expect_build "second build" 0 0

	sleep 1
	touch "$M/model/cifar10.caffemodel"
	bld || fail "$G: build after touch"
	expect_runs 4 "touch caffemodel"
	expect_build "touch caffemodel" 0 0
	bld && expect_runs 4 "build after touch"

	put "$SCRATCH/changed.caffemodel" "$M/model/cifar10.caffemodel"
	bld || fail "$G: build after new weights"
	expect_runs 6 "new weights"
	expect_build "new weights" 1 1
	"$B/app" >"$SCRATCH/out2"
	[ "$(head -1 "$SCRATCH/out1")" != "$(head -1 "$SCRATCH/out2")" ] || fail "$G: m1 did not change with the weights"
	[ "$(sed -n 2p "$SCRATCH/out1")" != "$(sed -n 2p "$SCRATCH/out2")" ] || fail "$G: m2 (incbin) did not change with the weights"

	sleep 1
	sed -i 's/^merge_dropout = yes/merge_dropout = no/' "$M/config.ini"
	bld || fail "$G: build after ini edit"
	expect_runs 7 "ini edit"
	expect_build "ini edit" 1 1
	"$B/app" >"$SCRATCH/out3"
	[ "$(head -1 "$SCRATCH/out2")" != "$(head -1 "$SCRATCH/out3")" ] || fail "$G: ini edit not seen"
	sleep 1
	touch "$M/data/mean.npy"
	bld || fail "$G: build after mean touch"
	expect_runs 8 "mean file touch"
	touch "$M/NOTES"
	bld || fail "$G: build after unrelated touch"
	expect_runs 8 "unrelated touch"
	expect_build "unrelated touch" 0 0
	sleep 1
	touch "$TOOL"
	bld || fail "$G: build after tool touch"
	expect_runs 10 "tool touch"

	snapshot "$B/caffeopt/m1/"* >"$SCRATCH/before"
	n=$(runs)
	put "$SCRATCH/broken.caffemodel" "$M/model/cifar10.caffemodel"
	bld -j4 && fail "$G: build with a broken caffemodel succeeded"
	grep -q 'cifar10.caffemodel' "$SCRATCH/build.log" || fail "$G: the failure does not name the caffemodel"
	snapshot "$B/caffeopt/m1/"* >"$SCRATCH/after"
	same_bytes "$SCRATCH/before" "$SCRATCH/after"
	bld && fail "$G: second build with a broken caffemodel succeeded"
	[ "$(runs)" -gt $((n + 2)) ] || fail "$G: the failed build was not retried"
	put "$SCRATCH/good.caffemodel" "$M/model/cifar10.caffemodel"
	bld || fail "$G: build after the fix"
	"$B/app" >/dev/null || fail "$G: app after the fix"

	# From a clean tree, a failing run leaves no output.
	rm -rf "$B"
	put "$SCRATCH/broken.caffemodel" "$M/model/cifar10.caffemodel"
	cmake -G "$G" -S "$M" -B "$B" -DCAFFEOPT_EXECUTABLE="$TOOL" >/dev/null 2>&1
	bld -j4 && fail "$G: clean build with a broken caffemodel succeeded"
	[ -z "$(find "$B/caffeopt" -type f)" ] || fail "$G: a failed clean build left: $(find "$B/caffeopt" -type f)"
	put "$SCRATCH/good.caffemodel" "$M/model/cifar10.caffemodel"
	bld -j4 || { fail "$G: clean build after the fix"; cat "$SCRATCH/build.log" >&2; }
	IFS='|'
done
unset IFS

# Wrong calls are configure errors that name the problem.
cfg_error() {  # WANT ARGS...
	want=$1
	shift
	mkdir -p "$SCRATCH/bad"
	printf 'cmake_minimum_required(VERSION 3.20)\nproject(bad LANGUAGES C)\ninclude(%s/cmake/CaffeoptModel.cmake)\nadd_optimized_caffe_model(%s)\n' \
		"$SRC" "$*" >"$SCRATCH/bad/CMakeLists.txt"
	rm -rf "$SCRATCH/bad/b"
	cmake -S "$SCRATCH/bad" -B "$SCRATCH/bad/b" -DCAFFEOPT_EXECUTABLE="$TOOL" >"$SCRATCH/build.log" 2>&1 &&
		fail "configure accepted: $*"
	tr '\n' ' ' <"$SCRATCH/build.log" | tr -s ' ' | grep -q -- "$want" || { fail "no '$want' for: $*"; cat "$SCRATCH/build.log" >&2; }
}
cfg_error "unknown arguments: FORMATT" "x PROTOTXT a WEIGHTS b FORMATT literal"
cfg_error "missing WEIGHTS" "x PROTOTXT a EMBED blob"
cfg_error "no value for: NAME" "x PROTOTXT a WEIGHTS b NAME"
cfg_error "EMBED wants blob, weights or net" "x PROTOTXT a WEIGHTS b EMBED all"
cfg_error "INPUT_SHAPE wants 4 numbers" "x PROTOTXT a WEIGHTS b INPUT_SHAPE 1 3 32"
cfg_error "must start with a letter" "x PROTOTXT a WEIGHTS b NAME 2net"
cfg_error "add ASM to the project" "x PROTOTXT a WEIGHTS b EMBED weights FORMAT incbin"
# No tool at all, and a cross build without a host tool: say what to do.
printf 'cmake_minimum_required(VERSION 3.20)\nproject(bad LANGUAGES NONE)\ninclude(%s/cmake/CaffeoptModel.cmake)\nadd_optimized_caffe_model(x PROTOTXT a WEIGHTS b)\n' \
	"$SRC" >"$SCRATCH/bad/CMakeLists.txt"
rm -rf "$SCRATCH/bad/b"
cmake -S "$SCRATCH/bad" -B "$SCRATCH/bad/b" >"$SCRATCH/build.log" 2>&1 && fail "configure without a tool succeeded"
grep -q "CAFFEOPT_EXECUTABLE" "$SCRATCH/build.log" || fail "no-tool error does not say what to do"
rm -rf "$SCRATCH/bad/b"
cmake -S "$SCRATCH/bad" -B "$SCRATCH/bad/b" -DCMAKE_SYSTEM_NAME=Generic >"$SCRATCH/build.log" 2>&1 &&
	fail "cross configure without a tool succeeded"
grep -q "cross-compiling" "$SCRATCH/build.log" || fail "cross error: $(cat "$SCRATCH/build.log")"

# The shipped example, three ways.
# 1. Inside this tree: add_subdirectory(..) builds the tool too.
cmake -S "$EX" -B "$SCRATCH/ex-tree" >"$SCRATCH/build.log" 2>&1 && cmake --build "$SCRATCH/ex-tree" -j4 >>"$SCRATCH/build.log" 2>&1 ||
	{ fail "example inside the tree"; tail -30 "$SCRATCH/build.log" >&2; }
"$SCRATCH/ex-tree/cifar10_app" >"$SCRATCH/out-tree" || fail "example app (tree)"
example_check "$SCRATCH/out-tree"
# 2. FetchContent, with a prebuilt host tool.
mkdir -p "$SCRATCH/fc"
cp "$EX/src/"*.[ch] "$SCRATCH/fc/"
cat >"$SCRATCH/fc/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.20)
project(fc LANGUAGES C)
include(FetchContent)
set(CAFFEOPT_TESTS OFF CACHE BOOL "")
FetchContent_Declare(caffeopt SOURCE_DIR $SRC)
FetchContent_MakeAvailable(caffeopt)
add_optimized_caffe_model(cifar10 PROTOTXT $EX/model/train_val.prototxt WEIGHTS $EX/model/cifar10.caffemodel
	CONFIG $EX/config.ini DEPLOY EMBED net)
add_executable(app main.c test_image.c)
set_target_properties(app PROPERTIES C_STANDARD 11)
target_link_libraries(app PRIVATE cifar10)
EOF
cmake -S "$SCRATCH/fc" -B "$SCRATCH/fc/b" -DCAFFEOPT_EXECUTABLE="$CAFFEOPT" >"$SCRATCH/build.log" 2>&1 &&
	cmake --build "$SCRATCH/fc/b" --target app >>"$SCRATCH/build.log" 2>&1 || { fail "FetchContent"; tail -30 "$SCRATCH/build.log" >&2; }
"$SCRATCH/fc/b/app" | cmp -s - "$SCRATCH/out-tree" || fail "FetchContent app differs from the in-tree one"
# 3. find_package after cmake --install: the installed tool, templates, module.
cmake --install "$BUILD_DIR" --prefix "$SCRATCH/prefix" >"$SCRATCH/build.log" 2>&1 || { fail "cmake --install"; cat "$SCRATCH/build.log" >&2; }
for f in bin/caffeopt share/caffeopt/templates/model.h.in share/caffeopt/make/caffeopt-rules.mk \
	share/caffeopt/runtime/forward.c include/caffeopt/runtime.h lib/cmake/caffeopt/caffeoptConfigVersion.cmake; do
	[ -e "$SCRATCH/prefix/$f" ] || fail "not installed: $f"
done
cmake -S "$EX" -B "$SCRATCH/ex-pkg" -DCMAKE_PREFIX_PATH="$SCRATCH/prefix" >"$SCRATCH/build.log" 2>&1 &&
	cmake --build "$SCRATCH/ex-pkg" -j4 >>"$SCRATCH/build.log" 2>&1 || { fail "example with find_package"; tail -30 "$SCRATCH/build.log" >&2; }
grep -q "caffeopt_DIR:PATH=$SCRATCH/prefix" "$SCRATCH/ex-pkg/CMakeCache.txt" || fail "find_package did not find the install"
grep -q "$SCRATCH/prefix/share/caffeopt/templates/model.h.in" "$SCRATCH/ex-pkg/caffeopt/cifar10/cifar10.d" ||
	fail "the installed tool did not use the installed templates"
"$SCRATCH/ex-pkg/cifar10_app" | cmp -s - "$SCRATCH/out-tree" || fail "find_package app differs from the in-tree one"

# Cross-compiling with find_package: the host tool from the install, the
# runtime compiled from the installed sources for the Cortex-M4.
if command -v arm-none-eabi-gcc >/dev/null; then
	{
		echo 'set(CMAKE_SYSTEM_NAME Generic)'
		echo 'set(CMAKE_SYSTEM_PROCESSOR arm)'
		echo 'set(CMAKE_C_COMPILER arm-none-eabi-gcc)'
		echo 'set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)'
		echo 'set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")'
		echo 'set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nosys.specs")'
	} >"$SCRATCH/arm.cmake"
	cmake -S "$EX" -B "$SCRATCH/ex-arm" -DCMAKE_TOOLCHAIN_FILE="$SCRATCH/arm.cmake" \
		-DCMAKE_PREFIX_PATH="$SCRATCH/prefix" >"$SCRATCH/build.log" 2>&1 &&
		cmake --build "$SCRATCH/ex-arm" -j4 >>"$SCRATCH/build.log" 2>&1 || { fail "cross build with CMake"; tail -30 "$SCRATCH/build.log" >&2; }
	arm-none-eabi-readelf -h "$SCRATCH/ex-arm/cifar10_app" | grep -q 'Machine:.*ARM' || fail "CMake cross build: not an ARM ELF"
	arm-none-eabi-objdump -t "$SCRATCH/ex-arm/cifar10_app" | grep -q '\.rodata.* cifar10_net$' || fail "CMake cross build: the net is not in .rodata"
else
	echo "note: no arm-none-eabi-gcc: the CMake cross build is not tested"
fi
finish
