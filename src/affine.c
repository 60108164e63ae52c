/* affine.c - the affine map y = a[c]*x + b[c] that BatchNorm, one-bottom
 * Scale and Bias, and Power with power 1 compute at TEST (see affine.h).
 * Caffe's formulas, computed in double:
 *   BatchNorm  f = blobs[2] == 0 ? 0 : 1/blobs[2]; mean = blobs[0]*f;
 *              var = blobs[1]*f; y = (x - mean) / sqrt(var + eps)
 *   Scale      y = blobs[0]*x (+ blobs[1] with bias_term)
 *   Bias       y = x + blobs[0]
 *   Power      y = (shift + scale*x)^1 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affine.h"
#include "kinds.h"

void
affine_free(struct affine *f)
{
	free(f->a);
	free(f->b);
	f->a = f->b = NULL;
	f->n = 0;
}

static int
affine_alloc(struct affine *f, size_t n)
{
	f->n = n;
	f->a = malloc(n * sizeof *f->a);
	f->b = malloc(n * sizeof *f->b);
	if (!f->a || !f->b) {
		affine_free(f);
		return -1;
	}
	return 0;
}

int
affine_kind(const Caffe__LayerParameter *l)
{
	switch (kind_of(l->type)) {
	case KIND_BATCH_NORM:
	case KIND_SCALE:
	case KIND_BIAS:
	case KIND_POWER:
		return 1;
	default:
		return 0;
	}
}

static int
batch_norm(const struct mlayer *ml, struct affine *f, char *why, size_t nwhy)
{
	const Caffe__LayerParameter *l = ml->p;
	const Caffe__BatchNormParameter *bp = l->batch_norm_param;
	double eps = bp && bp->has_eps ? bp->eps : 1e-5, sf;
	size_t c, n;

	/* Caffe: use_global_stats defaults to (phase == TEST). */
	if (bp && bp->has_use_global_stats && !bp->use_global_stats) {
		snprintf(why, nwhy, "use_global_stats is false: it normalizes with the batch's own statistics");
		return 0;
	}
	if (!(bp && bp->has_use_global_stats) && l->has_phase && l->phase == CAFFE__PHASE__TRAIN) {
		snprintf(why, nwhy, "phase TRAIN without use_global_stats: it normalizes with the batch's own statistics");
		return 0;
	}
	if (ml->nblobs != 3) {
		snprintf(why, nwhy, "BatchNorm has %zu weight blobs, not 3", ml->nblobs);
		return 0;
	}
	n = ml->blobs[0].count;
	if (n == 0 || ml->blobs[1].count != n || ml->blobs[2].count != 1) {
		snprintf(why, nwhy, "BatchNorm blobs hold %zu, %zu and %zu values (want C, C, 1)",
		         n, ml->blobs[1].count, ml->blobs[2].count);
		return 0;
	}
	sf = ml->blobs[2].data[0] == 0 ? 0 : 1.0 / ml->blobs[2].data[0];
	for (c = 0; c < n; c++)
		if (!((double)ml->blobs[1].data[c] * sf + eps > 0)) {
			snprintf(why, nwhy, "variance + eps is not positive in channel %zu", c);
			return 0;
		}
	if (affine_alloc(f, n) < 0)
		return -1;
	for (c = 0; c < n; c++) {
		double mean = ml->blobs[0].data[c] * sf, var = ml->blobs[1].data[c] * sf;
		f->a[c] = 1.0 / sqrt(var + eps);
		f->b[c] = -mean * f->a[c];
	}
	return 1;
}

/* Scale (bias_index 1 when bias_term, else 0: no bias) or Bias (the
 * values are the bias).  axis/num_axes: the layer's parameters. */
static int
scale_or_bias(const struct mlayer *ml, int is_bias, int bias_term, int axis, int num_axes,
              struct affine *f, char *why, size_t nwhy)
{
	const char *type = is_bias ? "Bias" : "Scale";
	size_t want = is_bias ? 1 : 1 + (size_t)bias_term, n, c;

	if (ml->nblobs != want) {
		snprintf(why, nwhy, "%s has %zu weight blobs, not %zu", type, ml->nblobs, want);
		return 0;
	}
	n = ml->blobs[0].count;
	if (n == 0 || (bias_term && ml->blobs[1].count != n)) {
		snprintf(why, nwhy, "%s blobs hold %zu and %zu values", type, n,
		         bias_term ? ml->blobs[1].count : n);
		return 0;
	}
	/* One value is a scalar whatever the axes; more must be one per
	 * channel of axis 1. */
	if (n > 1 && axis != 1) {
		snprintf(why, nwhy, "%s on axis %d is not per-channel", type, axis);
		return 0;
	}
	if (n > 1 && num_axes != 1) {
		snprintf(why, nwhy, "%s over num_axes %d is not per-channel", type, num_axes);
		return 0;
	}
	if (affine_alloc(f, n) < 0)
		return -1;
	for (c = 0; c < n; c++) {
		f->a[c] = is_bias ? 1.0 : ml->blobs[0].data[c];
		f->b[c] = is_bias ? ml->blobs[0].data[c] : bias_term ? ml->blobs[1].data[c] : 0.0;
	}
	return 1;
}

int
affine_of(const caffeopt_model *m, size_t i, struct affine *f, char *why, size_t nwhy)
{
	const struct mlayer *ml = &m->layers[i];
	const Caffe__LayerParameter *l = ml->p;

	why[0] = '\0';
	f->n = 0;
	f->a = f->b = NULL;
	if (!affine_kind(l) || l->n_bottom != 1 || l->n_top != 1)
		return 0;
	switch (kind_of(l->type)) {
	case KIND_BATCH_NORM:
		return batch_norm(ml, f, why, nwhy);
	case KIND_SCALE: {
		const Caffe__ScaleParameter *sp = l->scale_param;
		return scale_or_bias(ml, 0, sp && sp->has_bias_term && sp->bias_term,
		                     sp && sp->has_axis ? sp->axis : 1,
		                     sp && sp->has_num_axes ? sp->num_axes : 1, f, why, nwhy);
	}
	case KIND_BIAS: {
		const Caffe__BiasParameter *bp = l->bias_param;
		return scale_or_bias(ml, 1, 0, bp && bp->has_axis ? bp->axis : 1,
		                     bp && bp->has_num_axes ? bp->num_axes : 1, f, why, nwhy);
	}
	case KIND_POWER: {
		const Caffe__PowerParameter *pp = l->power_param;
		if (pp && pp->has_power && pp->power != 1)
			return 0;
		if (affine_alloc(f, 1) < 0)
			return -1;
		f->a[0] = pp && pp->has_scale ? pp->scale : 1.0;
		f->b[0] = pp && pp->has_shift ? pp->shift : 0.0;
		return 1;
	}
	default:
		return 0;
	}
}

int
affine_then(struct affine *acc, const struct affine *g)
{
	struct affine r;
	size_t c, n;

	if (acc->n != 1 && g->n != 1 && acc->n != g->n)
		return 1;
	n = acc->n > g->n ? acc->n : g->n;
	if (affine_alloc(&r, n) < 0)
		return -1;
	for (c = 0; c < n; c++) {
		double a0 = acc->a[acc->n == 1 ? 0 : c], b0 = acc->b[acc->n == 1 ? 0 : c];
		double a1 = g->a[g->n == 1 ? 0 : c], b1 = g->b[g->n == 1 ? 0 : c];
		r.a[c] = a1 * a0;
		r.b[c] = a1 * b0 + b1;
	}
	affine_free(acc);
	*acc = r;
	return 0;
}

int
affine_chain_has(const int *chain, int n, int j)
{
	int k;

	for (k = 0; k < n; k++)
		if (chain[k] == j)
			return 1;
	return 0;
}

void
affine_chain_names(char *buf, size_t size, const caffeopt_model *m, const int *chain, int n)
{
	size_t used = 0;
	int k, w;

	buf[0] = '\0';
	for (k = 0; k < n; k++) {
		w = snprintf(buf + used, size - used, "%s%s", k ? ", " : "", m->layers[chain[k]].p->name);
		if (w < 0 || (size_t)w >= size - used) {
			if (size >= 4)
				strcpy(buf + size - 4, "...");
			return;
		}
		used += (size_t)w;
	}
}
