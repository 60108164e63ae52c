#!/bin/sh
# setup.sh - install the Debian packages caffeopt builds and tests with.
# As root, missing packages are installed with apt-get; otherwise the exact
# command to run is printed and the script fails.
set -eu

pkgs="gcc make cmake pkg-config libprotobuf-c-dev protobuf-c-compiler
libinih-dev libopenblas-dev libcmocka-dev protobuf-compiler
python3-protobuf python3-opencv python3-numpy
libgraphviz-dev chromium clang valgrind
g++ ninja-build strace xxd gcc-arm-none-eabi libnewlib-arm-none-eabi"

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "setup: missing Debian packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	echo "setup: installed:$missing" >&2
else
	echo "setup: run: sudo apt-get install -y$missing" >&2
	exit 1
fi
