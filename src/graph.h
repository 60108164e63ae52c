/* graph.h - the SSA view of a model that every pass decides on.
 *
 * Every top makes a new version of its blob name; a bottom reads the latest
 * version of its name (Caffe's rule).  Each version knows its producer and
 * its readers.  Network outputs are the versions nobody reads, plus pinned
 * blob names (--keep-blob).  Passes never decide on file adjacency or name
 * suffixes, only on these versions and their reader counts.
 *
 * A graph is a snapshot: a pass that edits the model rebuilds it
 * (graph_build is cheap) before deciding anything else.
 */
#ifndef CAFFEOPT_GRAPH_H
#define CAFFEOPT_GRAPH_H

#include <stddef.h>
#include "kinds.h"
#include "model.h"

/* One read of a version: layer `layer`, bottom slot `slot`. */
struct guse {
	int layer;
	int slot;
};

struct gver {
	const char *name;     /* the blob name (points into the model) */
	int producer;         /* layer index; -1 for a net-level input: field */
	int slot;             /* top slot in the producer (input index for -1) */
	int nuses;
	struct guse *uses;    /* the readers, in layer order */
	int output;           /* a network output: unread or pinned */
	int pinned;           /* named by --keep-blob */
	int input;            /* a network input (input: field or Input/data layer top) */
};

struct glayer {
	enum kind kind;
	int frozen;           /* carries fields kept as text (unknown to our
	                         schema): passes never rewrite or remove it */
	int *bottom;          /* version read by each bottom slot */
	int *top;             /* version made by each top slot */
};

struct graph {
	caffeopt_model *m;
	size_t nver;
	struct gver *ver;
	size_t nlayer;        /* == m->nlayers when built */
	struct glayer *layer;
	void *arena;          /* everything above, freed by graph_free */
};

/* Build the graph of m; names in pinned[0..npinned) are outputs whatever
 * reads them (their last version).  NULL with err on a broken net (a bottom
 * never made, or an unknown pinned name). */
struct graph *graph_build(caffeopt_model *m, const char *const *pinned, size_t npinned,
                          caffeopt_error *err);

void graph_free(struct graph *g);

/* The version that name would bind to if read by a bottom of layer `at`
 * (the latest version made before it); -1 when none.  at == nlayer asks
 * about the end of the net. */
int graph_lookup(const struct graph *g, const char *name, int at);

/* 1 when the only reader of version v is layer `layer`, and v is not an
 * output. */
int graph_sole_reader(const struct graph *g, int v, int layer);

#endif
