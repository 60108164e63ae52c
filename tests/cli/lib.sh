# lib.sh - helpers for the CLI test scripts (sourced).
# Environment from ctest: CAFFEOPT (the binary), SRC (source tree),
# SCRATCH (a folder of the test's own), PROTOC, PYTHON.
set -eu
: "${CAFFEOPT:?}" "${SRC:?}" "${SCRATCH:?}"
rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
EX="$SRC/example-project"
DATA="$SRC/tests/data"
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# expect_exit CODE CMD...: run CMD, check its exit code; stdout/stderr kept
# in $SCRATCH/out and $SCRATCH/err.
expect_exit() {
	want=$1
	shift
	set +e
	"$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	got=$?
	set -e
	if [ "$got" != "$want" ]; then
		fail "exit $got, expected $want: $*"
		sed 's/^/  stderr: /' "$SCRATCH/err" >&2
		return 1
	fi
	return 0
}

# expect_error SUBSTRING CMD...: CMD exits 1 with exactly one stderr line
# that contains SUBSTRING.
expect_error() {
	sub=$1
	shift
	expect_exit 1 "$@" || return 0
	lines=$(grep -cv ': warning: \|: note: ' "$SCRATCH/err" || true)
	if [ "$lines" != 1 ]; then
		fail "expected one error line, got $lines: $*"
		sed 's/^/  stderr: /' "$SCRATCH/err" >&2
	fi
	if ! grep -qF -- "$sub" "$SCRATCH/err"; then
		fail "error does not contain '$sub': $*"
		sed 's/^/  stderr: /' "$SCRATCH/err" >&2
	fi
}

# same_bytes A B: the two files are byte-identical.
same_bytes() {
	cmp -s "$1" "$2" || fail "files differ: $1 $2"
}

finish() {
	if [ "$failures" -gt 0 ]; then
		echo "$failures failure(s)" >&2
		exit 1
	fi
	echo ok
}
