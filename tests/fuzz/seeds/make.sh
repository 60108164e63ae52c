#!/bin/sh
# make.sh - regenerate the binary seeds (run from the source root with
# Debian's python3): caffemodel/tiny.caffemodel, and optimize/NAME.bin =
# a pass case's prototxt, a NUL byte, its generated weights.  The corpus
# keeps the three smallest cases of each tests/passes/ folder.
set -eu
S=tests/fuzz/seeds
PY=${PYTHON:-/usr/bin/python3}
pb=$(mktemp -d)
trap 'rm -rf "$pb"' EXIT
$PY tests/oracle/genweights.py $S/tiny.prototxt $S/caffemodel/tiny.caffemodel --seed 1 --pb-dir "$pb"
for f in $S/tiny.prototxt tests/passes/*/*.prototxt; do
	case $f in $S/*) n=tiny ;; *) n=$(basename "$(dirname "$f")")_$(basename "$f" .prototxt) ;; esac
	if $PY tests/oracle/genweights.py "$f" "$pb/w" --seed 2 --pb-dir "$pb" >/dev/null 2>&1; then
		{ grep -v '^#' "$f"; printf '\0'; cat "$pb/w"; } >"$S/optimize/$n.bin"
	fi
done
for d in tests/passes/*/; do
	d=$(basename "$d")
	ls -S -r $S/optimize/"${d}"_*.bin 2>/dev/null | tail -n +4 | xargs -r rm
done
