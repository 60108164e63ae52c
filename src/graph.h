/* graph.h - the SSA view of a model that every pass decides on.
 *
 * Every top makes a new version of its blob name; a bottom reads the latest
 * version of its name (Caffe's rule).  Each version knows its producer and
 * its readers.  Network outputs are the versions nobody reads, plus pinned
 * blob names (--keep-blob).  Passes never decide on file adjacency or name
 * suffixes, only on these versions and their reader counts.
 *
 * A pass builds the graph once and, after each edit of the model, brings
 * it up to date with the edit functions below (graph_rename,
 * graph_move_readers, graph_remove_layer, graph_insert_layer), so that it
 * is again what graph_build would make of the edited model: the same
 * versions, numbers, reader lists and flags.  pass_graph_verify (pass.h)
 * checks that against a fresh build in debug builds.
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
	size_t hash;          /* of name, for graph_lookup */
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
	int nbottom, ntop;    /* the layer's bottom and top counts */
	int *bottom;          /* version read by each bottom slot */
	int *top;             /* version made by each top slot */
};

struct graph {
	caffeopt_model *m;
	size_t nver;
	struct gver *ver;
	size_t nlayer;        /* == m->nlayers when built */
	struct glayer *layer;
	void *arena;          /* reader lists and slot arrays, freed by graph_free */
	size_t capver, caplayer;   /* room in ver[] and layer[] */
	const char *const *pinned; /* the pinned names given to graph_build */
	size_t npinned;
};

/* Build the graph of m; names in pinned[0..npinned) are outputs whatever
 * reads them (their last version); the edit functions below pin by name
 * again, so pinned[] must outlive the graph.  NULL with err on a broken net
 * (a bottom never made, or an unknown pinned name). */
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

/* 1 when a and b are the same graph: versions (names, producers, readers,
 * flags) and layers (kinds, flags, slots), number for number. */
int graph_equal(const struct graph *a, const struct graph *b);

/* Editing the graph along with its model.  Each call mirrors one model
 * edit made just before it; after the last call for one rewrite the graph
 * is what graph_build makes of the model.  The graph takes names from the
 * model, so a top's string that was replaced is renamed before anything
 * else looks at it.  Return 0, or -1 when out of memory (err set). */

/* The model replaced the string of version v's top (or net input): take
 * the new name. */
int graph_rename(struct graph *g, int v, caffeopt_error *err);

/* Every reader of version `from` now reads version `to` (the caller
 * renamed their bottoms, or their names now bind to `to`); reader lists
 * stay in layer order. */
int graph_move_readers(struct graph *g, int from, int to, caffeopt_error *err);

/* The model removed layer i (model_remove_layer): its reads and its
 * versions go, later layers and versions are renumbered.  Nobody may read
 * its versions any more (move their readers first). */
int graph_remove_layer(struct graph *g, int i, caffeopt_error *err);

/* The model inserted layer i (model_insert_layer): its bottom slots read
 * versions bottoms[] (numbers before the insertion; made before layer i),
 * its tops are new versions nobody reads yet; later layers and versions
 * are renumbered. */
int graph_insert_layer(struct graph *g, int i, const int *bottoms, caffeopt_error *err);

#endif
