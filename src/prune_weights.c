/* prune_weights.c - the written caffemodel holds weights only for layers of
 * the written prototxt, since weights live on the model's layers: what an
 * earlier pass removed took its weights along.  This pass drops the blobs
 * of layers whose kind has none (left by a pass that changed a kind) and
 * reports what the output caffemodel no longer carries against the input.
 * Requires: nothing.  Keeps: every blob a layer of the prototxt reads.
 * Breaks: nothing. */
#include <stdlib.h>

#include "pass.h"

static size_t
values(const struct mlayer *ml)
{
	size_t k, n = 0;

	for (k = 0; k < ml->nblobs; k++)
		n += ml->blobs[k].count;
	return n;
}

static const char *
plural(size_t n)
{
	return n == 1 ? "" : "s";
}

int
prune_weights(struct pass_ctx *cx)
{
	caffeopt_model *m = cx->m;
	size_t i, out_layers = 0, out_values = 0;
	long long fewer_layers, fewer_bytes;

	if (!m->has_weights)
		return 0;
	for (i = 0; i < m->nlayers; i++) {
		struct mlayer *ml = &m->layers[i];
		Caffe__LayerParameter *l = ml->p;
		int want = kind_weight_blobs(l);

		if (ml->nblobs > 0 && want == 0) {
			pass_fired(cx, l->name, "%zu weight blob%s (%zu values) dropped: a %s layer has none",
			           ml->nblobs, ml->nblobs == 1 ? "" : "s", values(ml), l->type);
			pass_drop_weights(ml);
		} else if (ml->nblobs > 0 && want > 0 && (size_t)want != ml->nblobs) {
			/* An earlier pass left the layer inconsistent; which blob to
			 * drop is not ours to guess. */
			pass_refused(cx, l->name, "has %zu weight blobs where its parameters make %d", ml->nblobs, want);
		}
		if (ml->nblobs > 0) {
			out_layers++;
			out_values += values(ml);
		}
	}
	if (out_layers == m->in_weight_layers && out_values == m->in_params && m->unbound_layers == 0) {
		pass_fired(cx, "", "the output caffemodel carries all %zu layer%s with weights of the input "
		           "(%zu bytes)", out_layers, plural(out_layers), out_values * sizeof(float));
		return 0;
	}
	fewer_layers = (long long)m->in_weight_layers - (long long)out_layers;
	fewer_bytes = ((long long)m->in_params - (long long)out_values) * (long long)sizeof(float);
	pass_fired(cx, "", "the output caffemodel carries %zu layer%s with weights (%zu bytes), the input "
	           "%zu (%zu bytes; %zu layer%s in all): %lld fewer, %lld bytes less; %zu input layer%s "
	           "(%zu bytes) bound to no layer of the prototxt, the others were removed or folded",
	           out_layers, plural(out_layers), out_values * sizeof(float), m->in_weight_layers,
	           m->in_params * sizeof(float), m->in_layers, plural(m->in_layers), fewer_layers,
	           fewer_bytes, m->unbound_layers, plural(m->unbound_layers),
	           m->unbound_params * sizeof(float));
	return 0;
}
