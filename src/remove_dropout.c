/* remove_dropout.c - Dropout is the identity at TEST: its readers read its
 * input instead and the layer goes (pass_bypass's rules: a Dropout whose
 * top is a network output hands that name to its input's producer when that
 * version has no other reader; otherwise it stays, refused with the reason).
 * Requires: TEST-phase semantics.  Keeps: output names and values. */
#include "bypass.h"

int
remove_dropout(struct pass_ctx *cx)
{
	struct graph *g;
	size_t i;

	/* From the last layer up: removing layer i leaves the layers before it
	 * where they were; the graph is rebuilt for each candidate. */
	for (i = cx->m->nlayers; i-- > 0;) {
		const Caffe__LayerParameter *l = cx->m->layers[i].p;
		int rc;

		if (kind_of(l->type) != KIND_DROPOUT)
			continue;
		if (l->n_bottom != 1 || l->n_top != 1) {
			pass_refused(cx, l->name, "Dropout with %zu bottoms and %zu tops", l->n_bottom, l->n_top);
			continue;
		}
		if (!(g = pass_graph(cx)))
			return -1;
		rc = pass_bypass(cx, g, (int)i, 0, 0, NULL);
		graph_free(g);
		if (rc < 0)
			return -1;
	}
	return 0;
}
