/* absorb.h - which layers the passes folded into which other layers.
 *
 * A pass that removes a layer by folding it into another (BatchNorm and
 * Scale into the Convolution before them) records it here, so pictures and
 * reports can list each folded layer inside the layer that absorbed it.
 * Records are keyed by layer name (unique in a net, stable across passes
 * where indices are not) and hold their own copies of the names.
 */
#ifndef CAFFEOPT_ABSORB_H
#define CAFFEOPT_ABSORB_H

#include <stddef.h>
#include "model.h"

/* One folded layer: `name` of `type` now lives inside layer `into`. */
struct absorbed {
	char *into;
	char *name;
	char *type;
};

/* The records of one model (model.h: caffeopt_model.absorbed). */
struct absorb_log {
	size_t n, cap;
	struct absorbed *v;
};

/* Record that layer `into` absorbed layer `name` of Caffe type `type`.
 * Whatever `name` had absorbed before moves to `into` too, so a chain of
 * folds ends in the layer that survives.  Call it before removing `name`.
 * 0, or -1 when out of memory (nothing recorded; the pass may go on). */
int model_absorb(caffeopt_model *m, const char *into, const char *name, const char *type);

/* The layers absorbed into layer `into`, in the order they were folded:
 * up to max of them into out[] (pointers into m, valid until the next
 * model_absorb or model free).  Returns how many there are in all. */
size_t model_absorbed(const caffeopt_model *m, const char *into, const struct absorbed **out,
                      size_t max);

/* Free a log and everything it holds; NULL is a no-op. */
void absorb_free(struct absorb_log *log);

#endif
