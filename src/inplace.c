/* inplace.c - elementwise and per-channel layers (activations, Dropout,
 * BatchNorm, one-bottom Scale, Softmax) write over their input: the top
 * takes the bottom's name and the readers of the old top read that name.
 * Requires: the input version is read by this layer only and is neither a
 * network input nor an output.  Keeps: every network input and output name
 * and value; a layer whose top is a network output is refused, since its
 * name must stay.  Breaks: nothing at TEST (Caffe and OpenCV DNN both run
 * these layers in place). */
#include <string.h>

#include "pass.h"

/* The kinds that may write over their input. */
static int
can_go_in_place(enum kind k)
{
	switch (k) {
	case KIND_RELU:
	case KIND_PRELU:
	case KIND_ELU:
	case KIND_SIGMOID:
	case KIND_TANH:
	case KIND_ABSVAL:
	case KIND_POWER:
	case KIND_BNLL:
	case KIND_CLIP:
	case KIND_SWISH:
	case KIND_DROPOUT:
	case KIND_BATCH_NORM:
	case KIND_SCALE:
	case KIND_SOFTMAX:
		return 1;
	default:
		return 0;
	}
}

/* The name of a reader of version u other than layer i. */
static const char *
other_reader(const struct graph *g, int u, int i)
{
	int k;

	for (k = 0; k < g->ver[u].nuses; k++)
		if (g->ver[u].uses[k].layer != i)
			return g->m->layers[g->ver[u].uses[k].layer].p->name;
	return NULL;
}

/* Try to put layer i in place.  1 done, 0 refused, -1 error. */
static int
try_inplace(struct pass_ctx *cx, struct graph *g, int i)
{
	Caffe__LayerParameter *l = cx->m->layers[i].p;
	const struct gver *gu, *gv;
	const char *other;
	int u, v, rc, nreaders;

	u = g->layer[i].bottom[0];
	v = g->layer[i].top[0];
	gu = &g->ver[u];
	gv = &g->ver[v];
	if (g->layer[i].frozen) {
		pass_refused(cx, l->name, "carries fields unknown to caffeopt's schema");
		return 0;
	}
	if (gv->output) {
		pass_refused(cx, l->name, "its output '%s' is a network output, whose name must stay", gv->name);
		return 0;
	}
	if (gu->input || gu->producer < 0) {
		pass_refused(cx, l->name, "its input '%s' is a network input", gu->name);
		return 0;
	}
	if (gu->output) {
		pass_refused(cx, l->name, "its input '%s' is a network output", gu->name);
		return 0;
	}
	if ((other = other_reader(g, u, i))) {
		pass_refused(cx, l->name, "its input '%s' is also read by '%s'", gu->name, other);
		return 0;
	}
	nreaders = gv->nuses;
	/* The readers of the top must find the bottom's name bound to the
	 * bottom's version now; once this layer writes that name they bind to
	 * its output, which is what they read before. */
	if ((rc = pass_redirect_readers(cx, g, v, gu->name, u)) < 0)
		return -1;
	if (rc > 0) {
		pass_refused(cx, l->name, "a reader of '%s' would see a later version of '%s'", gv->name, gu->name);
		return 0;
	}
	pass_fired(cx, l->name, "in place on '%s' (was '%s'; %d reader%s redirected)", gu->name, gv->name,
	           nreaders, nreaders == 1 ? "" : "s");
	if (pass_set_string(&l->top[0], gu->name) < 0)
		return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
	/* Its readers read the same version under the input's name. */
	if (graph_rename(g, v, cx->err) < 0)
		return -1;
	pass_graph_verify(cx, g);
	return 1;
}

int
inplace(struct pass_ctx *cx)
{
	struct graph *g = NULL;
	size_t i;
	int rc = 0;

	/* Front to back, so that a chain (BatchNorm, Scale, ReLU) collapses
	 * onto its first input.  One graph, built at the first candidate and
	 * kept up to date by try_inplace. */
	for (i = 0; i < cx->m->nlayers && rc >= 0; i++) {
		Caffe__LayerParameter *l = cx->m->layers[i].p;

		if (!can_go_in_place(kind_of(l->type)))
			continue;
		if (l->n_bottom != 1 || l->n_top != 1) {
			pass_refused(cx, l->name, "%zu bottoms and %zu tops: only one-in, one-out layers go in place",
			             l->n_bottom, l->n_top);
			continue;
		}
		if (strcmp(l->bottom[0], l->top[0]) == 0)
			continue;
		if (!g && !(g = pass_graph(cx)))
			return -1;
		rc = try_inplace(cx, g, (int)i);
	}
	graph_free(g);
	return rc < 0 ? -1 : 0;
}
