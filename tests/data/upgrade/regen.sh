#!/bin/sh
# regen.sh - encode every *.prototxt here to *.bin with Google's protoc, so
# test_upgrade.c compares our upgrade with protoc's own encoding of the
# expected net, never with our text parser.  Run after editing a fixture
# or src/proto/caffe.proto; commit the .bin files with the text.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
proto=$here/../../../src/proto
for txt in "$here"/*.prototxt; do
	protoc --encode=caffe.NetParameter -I/usr/include -I"$proto" "$proto/caffe.proto" \
		<"$txt" >"${txt%.prototxt}.bin"
done
