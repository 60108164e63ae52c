/* conv.c - Convolution, Deconvolution and InnerProduct: GEMM kernels.
 * Convolution: one GEMM per image and group over an im2col matrix in the
 * layer's scratch, or straight over the input for 1x1 stride-1 unpadded
 * kernels; a direct kernel when every group has one input channel
 * (depthwise).  Deconvolution: GEMM then col2im.  Caffe's weight layouts. */
#include <string.h>

#include "kernels.h"

static int
is_pointwise(const struct cr_conv *p)
{
	return p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->ph == 0 && p->pw == 0;
}

/* First ow in [0, OW) whose input column ow*s - p + off is >= 0, and one
 * past the last whose column is < W. */
static void
valid_range(int W, int OW, int s, int p, int off, int *lo, int *hi)
{
	int a = p - off, b;

	*lo = a <= 0 ? 0 : (a + s - 1) / s;
	b = W - 1 + p - off;           /* ow*s <= b */
	*hi = b < 0 ? 0 : b / s + 1;
	if (*hi > OW)
		*hi = OW;
	if (*lo > *hi)
		*lo = *hi;
}

/* Caffe's im2col for one group, output rows [oh0, oh1):
 * col[(c*kh + i)*kw + j][(oh - oh0)*OW + ow]. */
static void
im2col(const float *in, int C, int H, int W, const struct cr_conv *p, int oh0, int oh1, int OW,
       float *col)
{
	int c, i, j, oh, ow;

	for (c = 0; c < C; c++)
		for (i = 0; i < p->kh; i++)
			for (j = 0; j < p->kw; j++) {
				int off = j * p->dw, lo, hi;
				valid_range(W, OW, p->sw, p->pw, off, &lo, &hi);
				for (oh = oh0; oh < oh1; oh++) {
					int ih = oh * p->sh - p->ph + i * p->dh;
					float *restrict dst = col + (size_t)(oh - oh0) * OW;
					const float *restrict src;
					if (ih < 0 || ih >= H) {
						memset(dst, 0, (size_t)OW * sizeof *dst);
						continue;
					}
					/* src[k] is the input under ow = lo + k */
					src = in + ((size_t)c * H + ih) * W + (lo * p->sw - p->pw + off);
					for (ow = 0; ow < lo; ow++)
						dst[ow] = 0;
					if (p->sw == 1)
						memcpy(dst + lo, src, (size_t)(hi - lo) * sizeof *dst);
					else
						for (ow = lo; ow < hi; ow++)
							dst[ow] = src[(size_t)(ow - lo) * p->sw];
					for (ow = hi; ow < OW; ow++)
						dst[ow] = 0;
				}
				col += (size_t)(oh1 - oh0) * OW;
			}
}

/* Caffe's col2im, accumulating into img (C x H x W) from a col matrix made
 * over an OH x OW grid. */
static void
col2im(const float *col, int C, int H, int W, const struct cr_conv *p, int OH, int OW, float *img)
{
	int c, i, j, oh, ow;

	for (c = 0; c < C; c++)
		for (i = 0; i < p->kh; i++)
			for (j = 0; j < p->kw; j++) {
				int off = j * p->dw, lo, hi;
				valid_range(W, OW, p->sw, p->pw, off, &lo, &hi);
				for (oh = 0; oh < OH; oh++) {
					int ih = oh * p->sh - p->ph + i * p->dh;
					const float *src = col + (size_t)oh * OW;
					float *dst;
					if (ih < 0 || ih >= H || lo == hi)
						continue;
					dst = img + ((size_t)c * H + ih) * W + (lo * p->sw - p->pw + off);
					for (ow = lo; ow < hi; ow++)
						dst[(size_t)(ow - lo) * p->sw] += src[ow];
				}
				col += (size_t)OH * OW;
			}
}

/* Output channel oc of a group with one input channel: a direct 2-D
 * correlation, accumulated row by row so the inner loop is contiguous for
 * stride 1. */
static void
conv_direct(const float *in, int H, int W, const float *w, float bias,
            const struct cr_conv *p, int OH, int OW, float *out)
{
	int oh, i, j, ow;

	for (oh = 0; oh < OH; oh++) {
		float *o = out + (size_t)oh * OW;
		for (ow = 0; ow < OW; ow++)
			o[ow] = bias;
		for (i = 0; i < p->kh; i++) {
			int ih = oh * p->sh - p->ph + i * p->dh;
			const float *row;
			if (ih < 0 || ih >= H)
				continue;
			row = in + (size_t)ih * W;
			for (j = 0; j < p->kw; j++) {
				int off = j * p->dw, lo, hi, n;
				float wv = w[i * p->kw + j];
				const float *restrict src;   /* the input row */
				float *restrict dst;         /* the output row */
				valid_range(W, OW, p->sw, p->pw, off, &lo, &hi);
				if (lo == hi)
					continue;
				src = row + (lo * p->sw - p->pw + off);
				dst = o + lo;
				n = hi - lo;
				if (p->sw == 1)
					for (ow = 0; ow < n; ow++)
						dst[ow] += wv * src[ow];
				else if (p->sw == 2)
					for (ow = 0; ow < n; ow++)
						dst[ow] += wv * src[2 * ow];
				else
					for (ow = 0; ow < n; ow++)
						dst[ow] += wv * src[(size_t)ow * p->sw];
			}
		}
	}
}

/* Output rows per im2col chunk: the column matrix of a chunk stays under
 * COL_FLOATS (1 MiB) unless one row alone is larger, so the scratch does
 * not grow with the image while each GEMM keeps a wide N. */
enum { COL_FLOATS = 1 << 18 };

static int
chunk_rows(int K, int OH, int OW)
{
	int64_t per_row = (int64_t)K * OW, rows = per_row ? COL_FLOATS / per_row : OH;

	return rows < 1 ? 1 : rows > OH ? OH : (int)rows;
}

uint32_t
conv_scratch(const cr_blob *in, const cr_blob *out, const struct cr_conv *p)
{
	int K = cr_dim(in, 1) / p->group * p->kh * p->kw;
	int OH = cr_dim(out, 2), OW = cr_dim(out, 3);

	if (is_pointwise(p) || cr_dim(in, 1) / p->group == 1)
		return 0;
	return (uint32_t)K * (uint32_t)chunk_rows(K, OH, OW) * (uint32_t)OW;
}

uint32_t
deconv_scratch(const cr_blob *in, const cr_blob *out, const struct cr_conv *p)
{
	uint32_t OC = (uint32_t)cr_dim(out, 1);

	return OC / (uint32_t)p->group * (uint32_t)(p->kh * p->kw) * cr_count(in, 2, in->ndim);
}

/* Fill rows of out (n rows of len floats) with bias[r], or 0. */
static void
fill_bias(float *out, const float *bias, int n, size_t len)
{
	int r;
	size_t k;

	for (r = 0; r < n; r++, out += len) {
		float b = bias ? bias[r] : 0;
		for (k = 0; k < len; k++)
			out[k] = b;
	}
}

void
k_conv(const cr_net *net, const cr_layer *l, float *arena)
{
	const struct cr_conv *p = &l->p.conv;
	const cr_blob *ib = BOTB(0), *ob = TOPB(0);
	const float *in = BOT(0), *w = l->weight[0].data;
	const float *bias = p->bias ? l->weight[1].data : NULL;
	float *out = TOP(0), *col = SCRATCH;
	int N = cr_dim(ib, 0), C = cr_dim(ib, 1), H = cr_dim(ib, 2), W = cr_dim(ib, 3);
	int OC = cr_dim(ob, 1), OH = cr_dim(ob, 2), OW = cr_dim(ob, 3);
	int G = p->group, Cg = C / G, OCg = OC / G, K = Cg * p->kh * p->kw, OHW = OH * OW;
	int rows = chunk_rows(K, OH, OW), n, g, oc, oh;

	for (n = 0; n < N; n++) {
		const float *x = in + (size_t)n * C * H * W;
		float *y = out + (size_t)n * OC * OHW;
		if (Cg == 1) {
			for (oc = 0; oc < OC; oc++)
				conv_direct(x + (size_t)(oc / OCg) * H * W, H, W, w + (size_t)oc * K,
				            bias ? bias[oc] : 0, p, OH, OW, y + (size_t)oc * OHW);
			continue;
		}
		for (g = 0; g < G; g++) {
			const float *xg = x + (size_t)g * Cg * H * W, *wg = w + (size_t)g * OCg * K;
			float *yg = y + (size_t)g * OCg * OHW;
			if (bias)
				fill_bias(yg, bias + g * OCg, OCg, (size_t)OHW);
			if (is_pointwise(p)) {
				cr_sgemm(0, 0, OCg, OHW, K, 1, wg, K, xg, OHW, bias ? 1 : 0, yg, OHW);
				continue;
			}
			for (oh = 0; oh < OH; oh += rows) {
				int n_oh = OH - oh < rows ? OH - oh : rows, cols = n_oh * OW;
				im2col(xg, Cg, H, W, p, oh, oh + n_oh, OW, col);
				cr_sgemm(0, 0, OCg, cols, K, 1, wg, K, col, cols, bias ? 1 : 0,
				         yg + (size_t)oh * OW, OHW);
			}
		}
	}
}

void
k_deconv(const cr_net *net, const cr_layer *l, float *arena)
{
	const struct cr_conv *p = &l->p.conv;
	const cr_blob *ib = BOTB(0), *ob = TOPB(0);
	const float *in = BOT(0), *w = l->weight[0].data;
	const float *bias = p->bias ? l->weight[1].data : NULL;
	float *out = TOP(0), *col = SCRATCH;
	int N = cr_dim(ib, 0), C = cr_dim(ib, 1), H = cr_dim(ib, 2), W = cr_dim(ib, 3);
	int OC = cr_dim(ob, 1), OH = cr_dim(ob, 2), OW = cr_dim(ob, 3);
	int G = p->group, Cg = C / G, OCg = OC / G, KK = OCg * p->kh * p->kw, HW = H * W;
	int n, g;

	for (n = 0; n < N; n++) {
		const float *x = in + (size_t)n * C * HW;
		float *y = out + (size_t)n * OC * OH * OW;
		fill_bias(y, bias, OC, (size_t)OH * OW);
		for (g = 0; g < G; g++) {
			/* col [OCg*kh*kw, H*W] = W_g^T x_g, W_g being [Cg, OCg*kh*kw]. */
			cr_sgemm(1, 0, KK, HW, Cg, 1, w + (size_t)g * Cg * KK, KK,
			         x + (size_t)g * Cg * HW, HW, 0, col, HW);
			col2im(col, OCg, OH, OW, p, H, W, y + (size_t)g * OCg * OH * OW);
		}
	}
}

void
k_inner_product(const cr_net *net, const cr_layer *l, float *arena)
{
	const struct cr_inner_product *p = &l->p.ip;
	const cr_blob *ib = BOTB(0), *ob = TOPB(0);
	const float *bias = p->bias ? l->weight[1].data : NULL;
	int M = (int)cr_count(ib, 0, p->axis), K = (int)cr_count(ib, p->axis, ib->ndim);
	int N = ob->shape[ob->ndim - 1];
	float *y = TOP(0);

	if (bias) {
		int i;
		for (i = 0; i < M; i++)
			memcpy(y + (size_t)i * N, bias, (size_t)N * sizeof *y);
	}
	cr_sgemm(0, !p->transpose, M, N, K, 1, BOT(0), K, l->weight[0].data,
	         p->transpose ? N : K, bias ? 1 : 0, y, N);
}
