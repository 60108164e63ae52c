/* channelwise.c - BatchNorm, Scale, Bias and Eltwise: per-channel affine
 * maps and element-wise combinations.  Each may run in place over bottom 0. */
#include <math.h>

#include "kernels.h"

/* y = (x - mean/f) / sqrt(var/f + eps), f the moving-average factor (0
 * means 0 for both, as Caffe's scale_factor rule). */
void
k_batchnorm(const cr_net *net, const cr_layer *l, float *arena)
{
	const cr_blob *b = BOTB(0);
	const float *x = BOT(0), *mean = l->weight[0].data, *var = l->weight[1].data;
	float *y = TOP(0);
	float f = l->weight[2].data[0];
	double s = f == 0 ? 0 : 1.0 / f;
	uint32_t N = (uint32_t)cr_dim(b, 0), C = b->ndim > 1 ? (uint32_t)b->shape[1] : 1;
	uint32_t dim = cr_count(b, 2, b->ndim), n, c, i;

	for (n = 0; n < N; n++)
		for (c = 0; c < C; c++) {
			float m = (float)(mean[c] * s);
			float inv = (float)(1.0 / sqrt((double)(float)(var[c] * s) + l->p.batchnorm.eps));
			for (i = 0; i < dim; i++)
				y[i] = (x[i] - m) * inv;
			x += dim;
			y += dim;
		}
}

/* The broadcast factor of a Scale or Bias and its geometry: bottom 0 is
 * [outer, dim, inner] with dim the factor's count. */
static const float *
factor(const cr_net *net, const cr_layer *l, float *arena, uint32_t *outer, uint32_t *dim,
       uint32_t *inner)
{
	const cr_blob *b = BOTB(0);
	const float *f;

	if (l->p.scale.two_bottoms) {
		f = BOT(1);
		*dim = BOTB(1)->count;
	} else {
		f = l->weight[0].data;
		*dim = l->weight[0].count;
	}
	*outer = cr_count(b, 0, l->p.scale.axis);
	*inner = b->count / (*outer * *dim);
	return f;
}

void
k_scale(const cr_net *net, const cr_layer *l, float *arena)
{
	const float *x = BOT(0), *bias = NULL;
	float *y = TOP(0);
	uint32_t outer, dim, inner, n, c, i;
	const float *f = factor(net, l, arena, &outer, &dim, &inner);

	if (l->p.scale.bias)
		bias = l->weight[l->p.scale.two_bottoms ? 0 : 1].data;
	for (n = 0; n < outer; n++)
		for (c = 0; c < dim; c++) {
			float a = f[c], b = bias ? bias[c] : 0;
			if (bias)
				for (i = 0; i < inner; i++)
					y[i] = x[i] * a + b;
			else
				for (i = 0; i < inner; i++)
					y[i] = x[i] * a;
			x += inner;
			y += inner;
		}
}

void
k_bias(const cr_net *net, const cr_layer *l, float *arena)
{
	const float *x = BOT(0);
	float *y = TOP(0);
	uint32_t outer, dim, inner, n, c, i;
	const float *f = factor(net, l, arena, &outer, &dim, &inner);

	for (n = 0; n < outer; n++)
		for (c = 0; c < dim; c++) {
			float b = f[c];
			for (i = 0; i < inner; i++)
				y[i] = x[i] + b;
			x += inner;
			y += inner;
		}
}

/* The top may be bottom 0's storage: bottom 0 is read, element by element,
 * only in the first pass, which writes the same element. */
void
k_eltwise(const cr_net *net, const cr_layer *l, float *arena)
{
	const struct cr_eltwise *p = &l->p.eltwise;
	uint32_t i, k, n = TOPB(0)->count;
	const float *a = BOT(0), *b = l->nbottom > 1 ? BOT(1) : NULL;
	float *y = TOP(0);

	switch (p->op) {
	case CR_ELTWISE_SUM: {
		float c0 = p->coeff ? p->coeff[0] : 1, c1 = p->coeff && b ? p->coeff[1] : 1;
		if (!b)
			for (i = 0; i < n; i++)
				y[i] = c0 * a[i];
		else if (c0 == 1 && c1 == 1)
			for (i = 0; i < n; i++)
				y[i] = a[i] + b[i];
		else
			for (i = 0; i < n; i++)
				y[i] = c0 * a[i] + c1 * b[i];
		for (k = 2; k < l->nbottom; k++) {
			const float *x = BOT(k);
			float c = p->coeff ? p->coeff[k] : 1;
			for (i = 0; i < n; i++)
				y[i] += c * x[i];
		}
		break;
	}
	case CR_ELTWISE_PROD:
		for (i = 0; i < n; i++)
			y[i] = b ? a[i] * b[i] : a[i];
		for (k = 2; k < l->nbottom; k++) {
			const float *x = BOT(k);
			for (i = 0; i < n; i++)
				y[i] *= x[i];
		}
		break;
	default: /* CR_ELTWISE_MAX */
		for (i = 0; i < n; i++)
			y[i] = b && b[i] > a[i] ? b[i] : a[i];
		for (k = 2; k < l->nbottom; k++) {
			const float *x = BOT(k);
			for (i = 0; i < n; i++)
				if (x[i] > y[i])
					y[i] = x[i];
		}
		break;
	}
}
