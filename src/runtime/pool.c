/* pool.c - MAX and AVE pooling with Caffe's windows: a window starts at
 * oh*stride - pad and is clipped to the input; AVE divides by the window
 * clipped to the padded input (H + pad), before clipping to the input.
 * The output size (Caffe's ceil rule) is the top's shape. */
#include <float.h>

#include "kernels.h"

void
k_pool(const cr_net *net, const cr_layer *l, float *arena)
{
	const struct cr_pool *p = &l->p.pool;
	const cr_blob *ib = BOTB(0), *ob = TOPB(0);
	const float *in = BOT(0);
	float *out = TOP(0);
	int NC = cr_dim(ib, 0) * cr_dim(ib, 1), H = cr_dim(ib, 2), W = cr_dim(ib, 3);
	int OH = cr_dim(ob, 2), OW = cr_dim(ob, 3);
	int c, oh, ow, h, w;

	for (c = 0; c < NC; c++, in += (size_t)H * W, out += (size_t)OH * OW) {
		for (oh = 0; oh < OH; oh++) {
			int hs = oh * p->sh - p->ph, he = hs + p->kh;
			for (ow = 0; ow < OW; ow++) {
				int ws = ow * p->sw - p->pw, we = ws + p->kw;
				int h0 = hs, h1 = he, w0 = ws, w1 = we;
				float acc;
				if (p->method == CR_POOL_AVE) {
					int size;
					if (h1 > H + p->ph)
						h1 = H + p->ph;
					if (w1 > W + p->pw)
						w1 = W + p->pw;
					size = (h1 - h0) * (w1 - w0);
					if (h0 < 0)
						h0 = 0;
					if (w0 < 0)
						w0 = 0;
					if (h1 > H)
						h1 = H;
					if (w1 > W)
						w1 = W;
					acc = 0;
					for (h = h0; h < h1; h++)
						for (w = w0; w < w1; w++)
							acc += in[h * W + w];
					out[oh * OW + ow] = acc / (float)size;
				} else {
					if (h0 < 0)
						h0 = 0;
					if (w0 < 0)
						w0 = 0;
					if (h1 > H)
						h1 = H;
					if (w1 > W)
						w1 = W;
					acc = -FLT_MAX;
					for (h = h0; h < h1; h++)
						for (w = w0; w < w1; w++)
							if (in[h * W + w] > acc)
								acc = in[h * W + w];
					out[oh * OW + ow] = acc;
				}
			}
		}
	}
}
