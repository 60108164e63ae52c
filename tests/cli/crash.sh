# crash.sh - outputs survive a SIGKILL: `caffeopt optimize` writing a large
# model (ResNet-50 with generated weights, ~100 MB) is killed at many
# points.  Each output must then be the old file or the complete new one
# (never a prefix), a temporary file left by the kill must not look like
# an output (*.prototxt, *.caffemodel), and a following `make` must see
# the outputs as out of date whenever one is old, and rebuild them.
. "$SRC/tests/cli/lib.sh"
PY=${PYTHON:-/usr/bin/python3}
N=${CRASH_POINTS:-10}
cd "$SCRATCH"
cp "$DATA/arch/resnet50_deploy.prototxt" in.prototxt
"$PY" "$SRC/tests/oracle/genweights.py" in.prototxt in.caffemodel --seed 3 --pb-dir pb >/dev/null
cat >Makefile <<MK
o.prototxt o.caffemodel &: in.prototxt in.caffemodel
	"$CAFFEOPT" optimize -q -m in.prototxt -w in.caffemodel -o o.prototxt -W o.caffemodel
MK

# The complete new outputs, and how long writing them takes (a second,
# warm run, timed: the kill points spread over it).
make -s >/dev/null
mkdir ref
mv o.prototxt o.caffemodel ref/
t0=$(date +%s%N)
"$CAFFEOPT" optimize -q -m in.prototxt -w in.caffemodel -o o.prototxt -W o.caffemodel
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[ "$(stat -c %s ref/o.caffemodel)" -gt 50000000 ] || fail "the model is not large: $(stat -c %s ref/o.caffemodel) bytes"

# old_outputs: outputs older than the inputs, as a previous build left them.
echo old >old.ref
old_outputs() {
	echo old >o.prototxt
	echo old >o.caffemodel
	touch -d '2000-01-01 00:00' o.prototxt o.caffemodel
}

# state FILE: "old", "new" or "broken".
state() {
	if cmp -s "$1" old.ref; then echo old
	elif cmp -s "$1" "ref/$1"; then echo new
	else echo broken; fi
}

seen=""
leftover=0
k=0
while [ "$k" -le "$N" ]; do
	# kill points spread over the run, from at once to just past its end
	delay=$(awk -v ms="$ms" -v k="$k" -v n="$N" 'BEGIN { printf "%.3f", ms * 1.5 * k / n / 1000 }')
	old_outputs
	"$CAFFEOPT" optimize -q -m in.prototxt -w in.caffemodel -o o.prototxt -W o.caffemodel &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ -z "${CRASH_VERBOSE:-}" ] || echo "kill at ${delay}s: $(date +%s.%N)" >&2
	p=$(state o.prototxt)
	c=$(state o.caffemodel)
	seen="$seen $p/$c"
	[ "$p" != broken ] || fail "kill at ${delay}s: o.prototxt is neither the old nor the new file"
	[ "$c" != broken ] || fail "kill at ${delay}s: o.caffemodel is neither the old nor the new file"
	for f in *.prototxt *.caffemodel; do
		case $f in in.prototxt|in.caffemodel|o.prototxt|o.caffemodel) ;;
		*) fail "kill at ${delay}s: $f looks like an output" ;;
		esac
	done
	n_tmp=$(ls -A | grep -c '^\..*\.tmp-' || true)
	leftover=$((leftover + n_tmp))
	rm -f ./.*.tmp-*
	if [ "$p" = new ] && [ "$c" = new ]; then
		make -q || fail "kill at ${delay}s: both outputs are new, yet make would rebuild them"
	else
		! make -q || fail "kill at ${delay}s: an output is old ($p/$c), yet make sees it up to date"
		make -s >/dev/null || fail "kill at ${delay}s: make failed"
		[ "$(state o.prototxt)/$(state o.caffemodel)" = new/new ] || fail "kill at ${delay}s: make did not rebuild"
	fi
	k=$((k + 1))
done
echo "run ${ms} ms; outputs (prototxt/caffemodel) after each kill:$seen; temporary files left by kills: $leftover"
case $seen in *old/old*) ;; *) fail "no kill landed before the outputs were renamed" ;; esac
case $seen in *new/new*) ;; *) fail "no run finished: the kill points missed the end" ;; esac
rm -f in.caffemodel ref/o.caffemodel o.caffemodel
finish
