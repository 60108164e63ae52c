/* fuzz_optimize.c - the whole optimize pipeline on small inputs: a
 * prototxt, then (after the first NUL byte, when there is one) a binary
 * caffemodel.  Load, every pass (fold-input with a mean and a scale),
 * shape inference and the engine's net description, then both encoders. */
#include <string.h>

#include "engine.h"
#include "fuzz.h"
#include "model.h"
#include "shape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double mean[3] = { 104.0, 117.0, 123.0 };
	const uint8_t *nul = memchr(data, 0, size);
	size_t tsize = nul ? (size_t)(nul - data) : size;
	caffeopt_error err;
	struct caffeopt_load_options o;
	struct caffeopt_optimize_options oo;
	caffeopt_report *rep = NULL;
	caffeopt_model *m;
	int enabled[64];
	size_t i, n = caffeopt_pass_count(), len;
	FILE *devnull;
	char *text;
	uint8_t *bin;

	if (size > 64 * 1024 || n > 64)
		return 0;
	memset(&o, 0, sizeof o);
	o.prototxt = fuzz_file(0, "in.prototxt", data, tsize);
	if (nul)
		o.caffemodel = fuzz_file(1, "in.caffemodel", nul + 1, size - tsize - 1);
	o.warn = fuzz_quiet;
	o.input_layer = 1;
	m = caffeopt_model_load(&o, &err);
	unlink(o.prototxt);
	if (o.caffemodel)
		unlink(o.caffemodel);
	if (m && shape_check(m, &err) < 0) {
		caffeopt_model_free(m);
		m = NULL;
	}
	if (!m)
		return 0;
	for (i = 0; i < n; i++)
		enabled[i] = 1;
	memset(&oo, 0, sizeof oo);
	oo.enabled = enabled;
	oo.mean = mean;
	oo.nmean = 3;
	oo.has_input_scale = 1;
	oo.input_scale = 0.5;
	if (caffeopt_optimize(m, &oo, &rep, &err) == 0) {
		devnull = fopen("/dev/null", "w");
		if (devnull) {
			caffeopt_report_print(rep, devnull, 1);
			caffeopt_report_json(rep, devnull);
			caffeopt_model_info(m, devnull);
			engine_info(m, devnull, &err);
			fclose(devnull);
		}
		text = prototxt_encode(m, &len, &err);
		free(text);
		if (m->has_weights) {
			bin = caffemodel_encode(m, 0, &len, &err);
			free(bin);
		}
		caffeopt_report_free(rep);
	}
	caffeopt_model_free(m);
	return 0;
}
