/* fuzz_caffemodel.c - the caffemodel reader, upgrade and binding: the
 * input is a binary NetParameter bound to the prototxt named by
 * CAFFEOPT_FUZZ_PROTOTXT (run.sh: tests/fuzz/seeds/tiny.prototxt, whose
 * weights are seeds/caffemodel/tiny.caffemodel); then the weights are
 * encoded back. */
#include <string.h>

#include "fuzz.h"
#include "model.h"
#include "shape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *proto = getenv("CAFFEOPT_FUZZ_PROTOTXT");
	caffeopt_error err;
	struct caffeopt_load_options o;
	caffeopt_model *m;
	uint8_t *bin;
	size_t len;

	memset(&o, 0, sizeof o);
	o.prototxt = proto ? proto : "tests/fuzz/seeds/tiny.prototxt";
	o.caffemodel = fuzz_file(0, "in.caffemodel", data, size);
	o.warn = fuzz_quiet;
	m = caffeopt_model_load(&o, &err);
	if (m && shape_check(m, &err) < 0) {
		caffeopt_model_free(m);
		m = NULL;
	}
	if (m) {
		bin = caffemodel_encode(m, size & 1, &len, &err);
		free(bin);
		caffeopt_model_free(m);
	}
	unlink(o.caffemodel);
	return 0;
}
