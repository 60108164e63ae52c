#!/bin/sh
# regen.sh - rebuild the goldens of tests/unit/test_textfmt.c with Google's
# protoc (3.21): each *.decoded.pbtxt is protoc --decode of protoc --encode
# of its source.  Review the diff before committing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
proto="$here/../../unit"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

pc() { protoc -I"$proto" textfmt_test.proto "$@"; }

for name in all_forms floats; do
	pc --encode=t.All <"$here/$name.pbtxt" >"$tmp"
	pc --decode=t.All <"$tmp" >"$here/$name.decoded.pbtxt"
done
pc --encode=t.All <"$here/few_source.pbtxt" >"$here/few.bin"
pc --decode=t.Few <"$here/few.bin" >"$here/few.decoded.pbtxt"
