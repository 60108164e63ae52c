/* normalize.c - Softmax, LRN and SSD's Normalize: kernels that divide by a
 * sum over a neighbourhood.  Softmax and Normalize may run in place. */
#include <float.h>
#include <math.h>

#include "kernels.h"

uint32_t
softmax_scratch(const cr_blob *in, int axis)
{
	return 2 * cr_count(in, axis + 1, in->ndim);
}

/* Per [outer, C, inner] slice: subtract the max over C, exp, divide by the
 * sum.  scratch: max and sum per inner position. */
void
k_softmax(const cr_net *net, const cr_layer *l, float *arena)
{
	const cr_blob *b = BOTB(0);
	int axis = l->p.axis.axis;
	uint32_t outer = cr_count(b, 0, axis), C = (uint32_t)b->shape[axis];
	uint32_t inner = cr_count(b, axis + 1, b->ndim), n, c, j;
	const float *x = BOT(0);
	float *y = TOP(0), *mx = SCRATCH, *sum = mx + inner;

	for (n = 0; n < outer; n++) {
		const float *xs = x + (size_t)n * C * inner;
		float *ys = y + (size_t)n * C * inner;
		for (j = 0; j < inner; j++) {
			mx[j] = -FLT_MAX;
			sum[j] = 0;
		}
		for (c = 0; c < C; c++)
			for (j = 0; j < inner; j++)
				if (xs[c * inner + j] > mx[j])
					mx[j] = xs[c * inner + j];
		for (c = 0; c < C; c++)
			for (j = 0; j < inner; j++) {
				float e = expf(xs[c * inner + j] - mx[j]);
				ys[c * inner + j] = e;
				sum[j] += e;
			}
		for (c = 0; c < C; c++)
			for (j = 0; j < inner; j++)
				ys[c * inner + j] /= sum[j];
	}
}

uint32_t
lrn_scratch(const cr_blob *in, const struct cr_lrn *p)
{
	(void)p;
	return cr_count(in, 2, in->ndim);
}

/* ACROSS_CHANNELS: y = x (k + alpha/n sum_{window over c} x^2)^-beta, the
 * window [c - (n-1)/2, c - (n-1)/2 + n) clipped to the channels.
 * WITHIN_CHANNEL: Caffe builds it from AVE pooling with pad (n-1)/2 and a
 * Power layer of shift 1: y = x (1 + alpha/n^2 sum_{n x n window} x^2)^-beta
 * (k is not used). */
void
k_lrn(const cr_net *net, const cr_layer *l, float *arena)
{
	const struct cr_lrn *p = &l->p.lrn;
	const cr_blob *b = BOTB(0);
	int N = cr_dim(b, 0), C = cr_dim(b, 1), H = cr_dim(b, 2), W = cr_dim(b, 3);
	int HW = H * W, pre = (p->size - 1) / 2, n, c, i, h, w;
	const float *x = BOT(0);
	float *y = TOP(0), *acc = SCRATCH;

	for (n = 0; n < N; n++) {
		const float *xn = x + (size_t)n * C * HW;
		float *yn = y + (size_t)n * C * HW;
		for (c = 0; c < C; c++) {
			const float *xc = xn + (size_t)c * HW;
			float *yc = yn + (size_t)c * HW;
			if (p->region == CR_LRN_ACROSS) {
				int c0 = c - pre, c1 = c0 + p->size, k;
				float a = p->alpha / (float)p->size;
				if (c0 < 0)
					c0 = 0;
				if (c1 > C)
					c1 = C;
				for (i = 0; i < HW; i++)
					acc[i] = 0;
				for (k = c0; k < c1; k++) {
					const float *xk = xn + (size_t)k * HW;
					for (i = 0; i < HW; i++)
						acc[i] += xk[i] * xk[i];
				}
				for (i = 0; i < HW; i++)
					yc[i] = xc[i] * powf(p->k + a * acc[i], -p->beta);
			} else {
				float a = p->alpha / (float)(p->size * p->size);
				for (h = 0; h < H; h++)
					for (w = 0; w < W; w++) {
						int h0 = h - pre, h1 = h0 + p->size, w0 = w - pre, w1 = w0 + p->size;
						int hh, ww;
						float s = 0;
						if (h0 < 0) h0 = 0;
						if (w0 < 0) w0 = 0;
						if (h1 > H) h1 = H;
						if (w1 > W) w1 = W;
						for (hh = h0; hh < h1; hh++)
							for (ww = w0; ww < w1; ww++)
								s += xc[hh * W + ww] * xc[hh * W + ww];
						yc[h * W + w] = xc[h * W + w] * powf(1 + a * s, -p->beta);
					}
			}
		}
	}
}

uint32_t
normalize_scratch(const cr_blob *in, const struct cr_normalize *p)
{
	return p->across_spatial ? 0 : cr_count(in, 2, in->ndim);
}

/* y = x / sqrt(sum x^2 + eps) * scale, the sum over C x H x W per image
 * (across_spatial) or over C per position; scale per channel or shared. */
void
k_normalize(const cr_net *net, const cr_layer *l, float *arena)
{
	const struct cr_normalize *p = &l->p.normalize;
	const cr_blob *b = BOTB(0);
	uint32_t N = (uint32_t)cr_dim(b, 0), C = (uint32_t)cr_dim(b, 1);
	uint32_t HW = cr_count(b, 2, b->ndim), n, c, i;
	const float *x = BOT(0), *scale = l->weight[0].data;
	float *y = TOP(0), *norm = SCRATCH;

	for (n = 0; n < N; n++) {
		const float *xn = x + (size_t)n * C * HW;
		float *yn = y + (size_t)n * C * HW;
		if (p->across_spatial) {
			double s = 0;
			float inv;
			for (i = 0; i < C * HW; i++)
				s += (double)xn[i] * xn[i];
			inv = (float)(1.0 / sqrt(s + p->eps));
			for (c = 0; c < C; c++) {
				float k = inv * scale[p->channel_shared ? 0 : c];
				for (i = 0; i < HW; i++)
					yn[c * HW + i] = xn[c * HW + i] * k;
			}
		} else {
			for (i = 0; i < HW; i++)
				norm[i] = 0;
			for (c = 0; c < C; c++)
				for (i = 0; i < HW; i++)
					norm[i] += xn[c * HW + i] * xn[c * HW + i];
			for (i = 0; i < HW; i++)
				norm[i] = 1 / sqrtf(norm[i] + p->eps);
			for (c = 0; c < C; c++) {
				float k = scale[p->channel_shared ? 0 : c];
				for (i = 0; i < HW; i++)
					yn[c * HW + i] = xn[c * HW + i] * norm[i] * k;
			}
		}
	}
}
