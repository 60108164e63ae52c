/* kinds.h - the layer kind table (rows in kinds.def). */
#ifndef CAFFEOPT_KINDS_H
#define CAFFEOPT_KINDS_H

#include "caffe.pb-c.h"

enum { K_DATA = 1, K_LOSS = 2, K_INPUT = 4 };

enum kind {
	KIND_UNKNOWN,
#define KIND(id, name, flags) KIND_##id,
#include "kinds.def"
#undef KIND
	KIND_COUNT
};

/* The kind of a Caffe type string; KIND_UNKNOWN when not in the table. */
enum kind kind_of(const char *type);

/* The kind's flags (K_*); 0 for KIND_UNKNOWN. */
int kind_flags(enum kind k);

/* How many weight blobs Caffe creates for layer l, or -1 when caffeopt
 * cannot tell (unknown kinds; kinds whose count depends on shapes). */
int kind_weight_blobs(const Caffe__LayerParameter *l);

#endif
