/* fuzz_prototxt.c - the text-format parser and what follows it on a
 * structure-only load: upgrade, filter, graph, deploy; then the printer,
 * whose output must parse again. */
#include <string.h>

#include "fuzz.h"
#include "model.h"
#include "shape.h"
#include "textfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	caffeopt_error err;
	ProtobufCMessage *msg;
	struct caffeopt_load_options o;
	caffeopt_model *m;
	char *text;
	size_t len;

	/* The parser alone, straight from memory, and the printer round trip. */
	msg = textfmt_parse(&caffe__net_parameter__descriptor, (const char *)data, size,
	                    "fuzz.prototxt", &err, NULL, NULL);
	if (msg) {
		text = textfmt_print(msg, &len);
		if (text) {
			ProtobufCMessage *again = textfmt_parse(&caffe__net_parameter__descriptor,
			                                        text, len, "printed", &err, NULL, NULL);
			if (!again)
				abort();  /* the printer wrote what the parser refuses */
			protobuf_c_message_free_unpacked(again, NULL);
			free(text);
		}
		protobuf_c_message_free_unpacked(msg, NULL);
	}

	/* The whole structure-only load. */
	memset(&o, 0, sizeof o);
	o.prototxt = fuzz_file(0, "in.prototxt", data, size);
	o.warn = fuzz_quiet;
	o.input_layer = size & 1;
	m = caffeopt_model_load(&o, &err);
	if (m && shape_check(m, &err) < 0) {
		caffeopt_model_free(m);
		m = NULL;
	}
	if (m) {
		text = prototxt_encode(m, &len, &err);
		free(text);
		caffeopt_model_free(m);
	}
	unlink(o.prototxt);
	return 0;
}
