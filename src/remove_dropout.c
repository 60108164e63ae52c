/* remove_dropout.c - Dropout is the identity at TEST: its readers read its
 * input instead and the layer goes.  When its top is a network output, the
 * producer of its input takes that name, but only when the Dropout is the
 * sole reader of that version and the version is not a network input;
 * otherwise the Dropout stays (refused, with the reason).
 * Requires: TEST-phase semantics.  Keeps: output names and values. */
#include <string.h>

#include "pass.h"

/* Try to remove Dropout layer i.  1 removed, 0 refused, -1 error. */
static int
try_remove(struct pass_ctx *cx, const struct graph *g, int i)
{
	Caffe__LayerParameter *l = cx->m->layers[i].p;
	int u, v;

	if (l->n_bottom != 1 || l->n_top != 1) {
		pass_refused(cx, l->name, "Dropout with %zu bottoms and %zu tops", l->n_bottom, l->n_top);
		return 0;
	}
	if (g->layer[i].frozen) {
		pass_refused(cx, l->name, "carries fields unknown to caffeopt's schema");
		return 0;
	}
	u = g->layer[i].bottom[0];
	v = g->layer[i].top[0];
	if (g->ver[v].name == g->ver[u].name || strcmp(g->ver[v].name, g->ver[u].name) == 0) {
		/* In place: readers of the name now bind to the input version. */
		pass_fired(cx, l->name, "removed (in place)");
		model_remove_layer(cx->m, (size_t)i);
		return 1;
	}
	if (!g->ver[v].output) {
		int rc = pass_redirect_readers(cx, g, v, g->ver[u].name, u);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			pass_refused(cx, l->name, "a reader of '%s' would see a later version of '%s'",
			             g->ver[v].name, g->ver[u].name);
			return 0;
		}
		pass_fired(cx, l->name, "removed; readers of '%s' read '%s'", g->ver[v].name, g->ver[u].name);
		model_remove_layer(cx->m, (size_t)i);
		return 1;
	}
	/* The top is a network output: its name must survive. */
	if (g->ver[u].input || g->ver[u].producer < 0) {
		pass_refused(cx, l->name, "its output '%s' is a network output and its input '%s' is a network input",
		             g->ver[v].name, g->ver[u].name);
		return 0;
	}
	if (!graph_sole_reader(g, u, i)) {
		pass_refused(cx, l->name, "its output '%s' is a network output and '%s' has other readers",
		             g->ver[v].name, g->ver[u].name);
		return 0;
	}
	{
		Caffe__LayerParameter *p = cx->m->layers[g->ver[u].producer].p;
		if (pass_set_string(&p->top[g->ver[u].slot], g->ver[v].name) < 0)
			return caffeopt_fail(cx->err, NULL, 0, 0, "out of memory");
		pass_fired(cx, l->name, "removed; '%s' now makes the output '%s'", p->name, g->ver[v].name);
	}
	model_remove_layer(cx->m, (size_t)i);
	return 1;
}

int
remove_dropout(struct pass_ctx *cx)
{
	struct graph *g;
	size_t i;

	/* From the last layer up: removing layer i leaves the layers before it
	 * where they were; the graph is rebuilt for each candidate. */
	for (i = cx->m->nlayers; i-- > 0;) {
		int rc;
		if (kind_of(cx->m->layers[i].p->type) != KIND_DROPOUT)
			continue;
		if (!(g = pass_graph(cx)))
			return -1;
		rc = try_remove(cx, g, (int)i);
		graph_free(g);
		if (rc < 0)
			return -1;
	}
	return 0;
}
