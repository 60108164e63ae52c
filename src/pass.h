/* pass.h - the rewrite passes and what they share.
 *
 * A pass is one function in one file named after it (remove_dropout.c
 * exports remove_dropout), listed in passes.c in the fixed order they run.
 * It edits cx->m, deciding only on the graph (graph.h): build the graph
 * once (at the first candidate), then for each candidate decide, edit the
 * model and bring the graph up to date with graph.h's edit functions, so
 * a sweep costs one build, not one per candidate.  It never renames or
 * changes the value of a
 * network output or input.  It reports every rewrite (pass_fired) and every
 * candidate it refused with the reason (pass_refused).  New weights are
 * computed in double and stored as float.
 */
#ifndef CAFFEOPT_PASS_H
#define CAFFEOPT_PASS_H

#include "graph.h"
#include "model.h"

/* What fold-input folds: x' = (x - mean[c]) * scale. */
struct input_fold {
	int has_mean;
	size_t nmean;          /* channels in mean[] */
	double *mean;          /* per channel, Caffe (BGR) order */
	int has_scale;
	double scale;
};

/* One line of a pass's report. */
struct pass_note {
	int refused;           /* 0: fired, 1: refused */
	char *layer;           /* the layer it is about */
	char *text;            /* what happened or why not */
};

struct pass_log {
	const char *pass;
	size_t nnotes;
	struct pass_note *notes;
	size_t fired, refused;
};

struct pass_ctx {
	caffeopt_model *m;
	const char *const *pinned;   /* --keep-blob names */
	size_t npinned;
	const struct input_fold *input;
	struct pass_log *log;        /* of the running pass */
	caffeopt_error *err;
};

/* Record that the pass rewrote `layer` (printf-style text). */
void pass_fired(struct pass_ctx *cx, const char *layer, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/* Record that the pass left `layer` alone, and why. */
void pass_refused(struct pass_ctx *cx, const char *layer, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/* The graph of cx->m with cx's pinned blobs; NULL with cx->err set. */
struct graph *pass_graph(struct pass_ctx *cx);

/* After an edit and its graph updates: in debug builds (no NDEBUG, or
 * CAFFEOPT_GRAPH_CHECK defined), g must equal a fresh pass_graph, else
 * the program aborts naming the pass; in release builds nothing. */
void pass_graph_verify(struct pass_ctx *cx, const struct graph *g);

/* Make every reader of version v read blob `name` instead, where name is
 * binds to version `want` at each reader.  Returns 0; 1 when some reader
 * would bind `name` to another version (nothing changed); -1 on error. */
int pass_redirect_readers(struct pass_ctx *cx, const struct graph *g, int v,
                          const char *name, int want);

/* Set a LayerParameter string field (top/bottom/name) to a copy of s. */
int pass_set_string(char **field, const char *s);

/* The name under which a ParamSpec of l shares a blob with other layers,
 * or NULL when l shares none (its weights may then be rewritten). */
const char *pass_shared_param(const Caffe__LayerParameter *l);

/* Drop layer ml's weight blobs and its ParamSpecs (Caffe refuses more
 * ParamSpecs than blobs). */
void pass_drop_weights(struct mlayer *ml);

/* Passes, in the order they run (passes.c). */
int remove_dropout(struct pass_ctx *cx);
int remove_identity(struct pass_ctx *cx);
int normalize(struct pass_ctx *cx);
int fold_affine(struct pass_ctx *cx);
int merge_affine(struct pass_ctx *cx);
int fold_input(struct pass_ctx *cx);
int inplace(struct pass_ctx *cx);
int prune_weights(struct pass_ctx *cx);

#endif
