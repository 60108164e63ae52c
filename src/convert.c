/* convert.c - `caffeopt convert`: a NetParameter (or a .binaryproto
 * BlobProto) from text to binary or back, upgraded on the way. */
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "model.h"
#include "textfmt.h"
#include "upgrade.h"

static int
has_ext(const char *path, const char *ext)
{
	size_t n = strlen(path), e = strlen(ext);

	return n > e && strcmp(path + n - e, ext) == 0;
}

/* The format a path's extension implies; CAFFEOPT_AUTO when none does. */
static enum caffeopt_format
format_of(const char *path)
{
	if (has_ext(path, ".prototxt") || has_ext(path, ".pbtxt") || has_ext(path, ".txt"))
		return CAFFEOPT_TEXT;
	if (has_ext(path, ".caffemodel") || has_ext(path, ".binaryproto") || has_ext(path, ".pb"))
		return CAFFEOPT_BINARY;
	return CAFFEOPT_AUTO;
}

static void
unknown_field_warning(void *ctx, const char *file, int line, int col, const char *field)
{
	char msg[1400];
	void **w = ctx;
	caffeopt_warn_fn warn = (caffeopt_warn_fn)(size_t)w[0];

	if (!warn)
		return;
	snprintf(msg, sizeof msg, "%s:%d:%d: unknown field '%s' kept as text", file, line, col, field);
	warn(w[1], msg);
}

int
caffeopt_convert(const char *in, const char *out, enum caffeopt_format to,
                 caffeopt_warn_fn warn, void *warn_ctx, caffeopt_error *err)
{
	enum caffeopt_format from = format_of(in);
	const ProtobufCMessageDescriptor *desc = &caffe__net_parameter__descriptor;
	ProtobufCMessage *msg = NULL;
	struct outfile of;
	char *buf;
	size_t len;
	void *wctx[2];
	int rc = -1;

	wctx[0] = (void *)(size_t)warn;
	wctx[1] = warn_ctx;
	if (from == CAFFEOPT_AUTO)
		return caffeopt_fail(err, in, 0, 0, "cannot tell the format from the extension "
		                     "(.prototxt/.pbtxt are text, .caffemodel/.binaryproto binary)");
	if (to == CAFFEOPT_AUTO)
		to = format_of(out);
	if (to == CAFFEOPT_AUTO)
		return caffeopt_fail(err, out, 0, 0, "cannot tell the output format from the extension; use --to text|binary");
	if (has_ext(in, ".binaryproto") || has_ext(out, ".binaryproto"))
		desc = &caffe__blob_proto__descriptor;
	if (!(buf = file_read(in, &len, err)))
		return -1;
	if (from == CAFFEOPT_BINARY) {
		msg = protobuf_c_message_unpack(desc, NULL, len, (const uint8_t *)buf);
		if (!msg)
			caffeopt_fail(err, in, 0, 0, "protobuf decoding of %s failed (truncated or corrupt)",
			              desc->short_name);
	} else {
		msg = textfmt_parse(desc, buf, len, in, err, unknown_field_warning, wctx);
	}
	free(buf);
	if (!msg)
		return -1;
	if (desc == &caffe__net_parameter__descriptor &&
	    upgrade_net((Caffe__NetParameter *)msg, in, warn, warn_ctx, err) < 0)
		goto out;
	if (to == CAFFEOPT_TEXT) {
		buf = textfmt_print(msg, &len);
	} else {
		textfmt_strip_unknown(msg);
		len = protobuf_c_message_get_packed_size(msg);
		buf = malloc(len ? len : 1);
		if (buf)
			protobuf_c_message_pack(msg, (uint8_t *)buf);
	}
	if (!buf) {
		caffeopt_fail(err, out, 0, 0, "out of memory");
		goto out;
	}
	if (file_stage(&of, out, buf, len, err) == 0)
		rc = file_commit(&of, 1, err);
	free(buf);
out:
	protobuf_c_message_free_unpacked(msg, NULL);
	return rc;
}
