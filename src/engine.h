/* engine.h - what the CLI does with the engine: feed inputs, compare two
 * models (verify), describe a net (info).  Built on netbuild and the
 * runtime; used by cli_run.c and by `optimize --verify`.
 */
#ifndef CAFFEOPT_ENGINE_H
#define CAFFEOPT_ENGINE_H

#include <stdint.h>
#include <stdio.h>

#include "caffeopt/runtime.h"
#include "model.h"
#include "npy.h"

/* An input array for a net: for input `name`, or for the next input not
 * named by another entry when name is NULL. */
struct engine_input {
	const char *name;
	const char *path;          /* for messages */
	const struct npy *a;
};

/* Copy the arrays into the net's inputs in arena.  An array fits an input
 * when their dims are equal after leading 1s are dropped.  Inputs no array
 * names are left as they are.  0 or -1 with err naming the file. */
int engine_set_inputs(const cr_net *net, float *arena, const struct engine_input *in, size_t n,
                      caffeopt_error *err);

/* Fill input blob b with seeded uniform values in [lo, hi). */
void engine_random_input(const cr_net *net, float *arena, uint32_t b, uint64_t seed, float lo,
                         float hi);

/* The number of values an output holds after a forward: the count, or for
 * a DetectionOutput top the rows holding detections (at least one) x 7. */
uint32_t engine_output_count(const cr_net *net, uint32_t b, const float *arena);

struct engine_verify {
	const struct engine_input *inputs;  /* the user's arrays, may be 0 */
	size_t ninputs;
	unsigned samples;          /* seeded random inputs besides the user's */
	double tol;                /* max abs error / max |A's output| */
	const double *mean;        /* B folds the input mean: A gets x - mean */
	size_t nmean;              /* 0: no mean; 1 or the input's channels */
	int has_input_scale;       /* B folds the scale: A gets (x - mean) * scale */
	double input_scale;
	FILE *out;                 /* the report, may be NULL */
	/* Called once per output after the samples ran (may be NULL): its
	 * name, shape, max |A|, worst absolute and relative errors. */
	void (*figure)(void *ctx, const char *output, const char *shape, double maxa,
	               double abs, double rel, int ok);
	void *figure_ctx;
};

/* Run a and b on the same inputs (preprocessed for a when b has the input
 * fold) and compare every network output of a with b's output of the same
 * name.  Prints per output the largest absolute and relative errors.
 * Returns 0 when all are within tol, 1 when one is not, -1 with err when a
 * net cannot be built or run or their inputs or outputs differ. */
int engine_verify(caffeopt_model *a, caffeopt_model *b, const struct engine_verify *o,
                  caffeopt_error *err);

/* Print every layer of m's engine net with its blobs' shapes and MACs, then
 * the total MACs and the arena planned vs naive; m may have no weights.
 * 0 or -1 with err. */
int engine_info(caffeopt_model *m, FILE *out, caffeopt_error *err);

/* "1x3x224x224" into buf of n bytes; returns buf. */
char *engine_shape(const cr_blob *b, char *buf, size_t n);

#endif
