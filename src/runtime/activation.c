/* activation.c - element-wise activations, Caffe's formulas.  Every one
 * may run in place (top 0 over bottom 0). */
#include <math.h>

#include "kernels.h"

#define EACH(expr) do { \
		const float *x = BOT(0); \
		float *y = TOP(0); \
		uint32_t i, n = BOTB(0)->count; \
		for (i = 0; i < n; i++) { \
			float v = x[i]; \
			y[i] = (expr); \
		} \
	} while (0)

void
k_relu(const cr_net *net, const cr_layer *l, float *arena)
{
	float s = l->p.act.a;

	if (s == 0)
		EACH(v > 0 ? v : 0);
	else
		EACH(v > 0 ? v : v * s);
}

void
k_prelu(const cr_net *net, const cr_layer *l, float *arena)
{
	const cr_blob *b = BOTB(0);
	const float *x = BOT(0), *slope = l->weight[0].data;
	float *y = TOP(0);
	uint32_t N = (uint32_t)cr_dim(b, 0), C = b->ndim > 1 ? (uint32_t)b->shape[1] : 1;
	uint32_t dim = cr_count(b, 2, b->ndim), n, c, i;

	for (n = 0; n < N; n++)
		for (c = 0; c < C; c++) {
			float s = slope[l->p.prelu.channel_shared ? 0 : c];
			for (i = 0; i < dim; i++, x++, y++)
				*y = *x > 0 ? *x : *x * s;
		}
}

void
k_elu(const cr_net *net, const cr_layer *l, float *arena)
{
	float a = l->p.act.a;

	EACH(v > 0 ? v : a * (expf(v) - 1));
}

void
k_sigmoid(const cr_net *net, const cr_layer *l, float *arena)
{
	EACH(1 / (1 + expf(-v)));
}

void
k_tanh(const cr_net *net, const cr_layer *l, float *arena)
{
	EACH(tanhf(v));
}

void
k_absval(const cr_net *net, const cr_layer *l, float *arena)
{
	EACH(fabsf(v));
}

/* y = (shift + scale x)^power; Caffe's constant case when power*scale == 0. */
void
k_power(const cr_net *net, const cr_layer *l, float *arena)
{
	float power = l->p.act.a, shift = l->p.act.b, scale = l->p.act.c;

	if (power * scale == 0) {
		float k = power == 0 ? 1 : powf(shift, power);
		EACH(((void)v, k));
	} else if (power == 1)
		EACH(shift + scale * v);
	else if (power == 2)
		EACH((shift + scale * v) * (shift + scale * v));
	else
		EACH(powf(shift + scale * v, power));
}

void
k_bnll(const cr_net *net, const cr_layer *l, float *arena)
{
	EACH(v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v)));
}

void
k_clip(const cr_net *net, const cr_layer *l, float *arena)
{
	float lo = l->p.act.a, hi = l->p.act.b;

	EACH(v < lo ? lo : v > hi ? hi : v);
}
