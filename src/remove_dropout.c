/* remove_dropout.c - Dropout is the identity at TEST: its readers read its
 * input instead and the layer goes (pass_bypass's rules: a Dropout whose
 * top is a network output hands that name to its input's producer when that
 * version has no other reader; otherwise it stays, refused with the reason).
 * Requires: TEST-phase semantics.  Keeps: output names and values. */
#include "bypass.h"

int
remove_dropout(struct pass_ctx *cx)
{
	struct graph *g = NULL;
	size_t i;
	int rc = 0;

	/* From the last layer up: removing layer i leaves the layers before it
	 * where they were.  One graph, built at the first candidate and kept
	 * up to date by pass_bypass. */
	for (i = cx->m->nlayers; i-- > 0 && rc >= 0;) {
		const Caffe__LayerParameter *l = cx->m->layers[i].p;

		if (kind_of(l->type) != KIND_DROPOUT)
			continue;
		if (l->n_bottom != 1 || l->n_top != 1) {
			pass_refused(cx, l->name, "Dropout with %zu bottoms and %zu tops", l->n_bottom, l->n_top);
			continue;
		}
		if (!g && !(g = pass_graph(cx)))
			return -1;
		rc = pass_bypass(cx, g, (int)i, 0, 0, NULL);
	}
	graph_free(g);
	return rc < 0 ? -1 : 0;
}
