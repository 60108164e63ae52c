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
# template/every_construct_data.bin: every_construct.in, a NUL, then the
# bytes fuzz_template.c builds its values from (NaN and infinity floats,
# odd integers, a name with "*/", five layers).
$PY - <<'PYEOF'
t = open("tests/fuzz/seeds/template/every_construct.in", "rb").read()
d = (bytes([4]) + b"n*/x" + bytes([2, 1, 20, 0, 3]) + b"net" + bytes([12]) + b'a\nb\n"\\\\??=\n\xff'
     + bytes([9]) + b"\x08\x96\x01\x12\x03abc\x00\x01" + bytes([12])
     + b"\x00\x00\xc0\x7f\x00\x00\x80\x7f\x00\x00\x80\x3f" + bytes([250, 251, 1, 3]) + b"c/1"
     + bytes([3, 1, 2, 3, 4, 5, 6, 5, 0, 9, 1, 4, 0, 0, 0x80, 0x3f, 2, 252, 253, 3, 8, 0, 0, 0, 0x40,
              0, 0, 0xc0, 0x41, 4, 255]))
open("tests/fuzz/seeds/template/every_construct_data.bin", "wb").write(t + b"\x00" + d)
PYEOF
