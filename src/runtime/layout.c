/* layout.c - kernels that move data without arithmetic: views (Split,
 * Flatten, Reshape, Dropout), Concat, Slice, Permute and Crop. */
#include <string.h>

#include "kernels.h"

/* A view's tops share the bottom's storage in every plan cr_plan makes;
 * a hand-made plan that gives them their own storage gets a copy. */
void
k_view(const cr_net *net, const cr_layer *l, float *arena)
{
	uint32_t t;

	for (t = 0; t < l->ntop; t++)
		if (TOP(t) != BOT(0))
			memmove(TOP(t), BOT(0), (size_t)BOTB(0)->count * sizeof(float));
}

void
k_concat(const cr_net *net, const cr_layer *l, float *arena)
{
	const cr_blob *ob = TOPB(0);
	int axis = l->p.axis.axis;
	uint32_t outer = cr_count(ob, 0, axis), inner = cr_count(ob, axis + 1, ob->ndim);
	uint32_t row = (uint32_t)ob->shape[axis] * inner, at = 0, k, n;
	float *y = TOP(0);

	for (k = 0; k < l->nbottom; k++) {
		uint32_t len = (uint32_t)BOTB(k)->shape[axis] * inner;
		const float *x = BOT(k);
		for (n = 0; n < outer; n++)
			memcpy(y + (size_t)n * row + at, x + (size_t)n * len, (size_t)len * sizeof *y);
		at += len;
	}
}

void
k_slice(const cr_net *net, const cr_layer *l, float *arena)
{
	const cr_blob *ib = BOTB(0);
	int axis = l->p.axis.axis;
	uint32_t outer = cr_count(ib, 0, axis), inner = cr_count(ib, axis + 1, ib->ndim);
	uint32_t row = (uint32_t)ib->shape[axis] * inner, at = 0, k, n;
	const float *x = BOT(0);

	for (k = 0; k < l->ntop; k++) {
		uint32_t len = (uint32_t)TOPB(k)->shape[axis] * inner;
		float *y = TOP(k);
		for (n = 0; n < outer; n++)
			memcpy(y + (size_t)n * len, x + (size_t)n * row + at, (size_t)len * sizeof *y);
		at += len;
	}
}

/* Top axis d is bottom axis order[d]: walk the top in order with an
 * odometer over its coordinates, stepping the bottom offset by strides. */
void
k_permute(const cr_net *net, const cr_layer *l, float *arena)
{
	const cr_blob *ib = BOTB(0), *ob = TOPB(0);
	const float *x = BOT(0);
	float *y = TOP(0);
	int nd = ob->ndim, d;
	uint32_t bstride[CR_MAX_DIMS], step[CR_MAX_DIMS], idx[CR_MAX_DIMS] = {0}, i, off = 0;

	bstride[ib->ndim - 1] = 1;
	for (d = ib->ndim - 2; d >= 0; d--)
		bstride[d] = bstride[d + 1] * (uint32_t)ib->shape[d + 1];
	for (d = 0; d < nd; d++)
		step[d] = bstride[l->p.permute.order[d]];
	for (i = 0; i < ob->count; i++) {
		y[i] = x[off];
		for (d = nd - 1; d >= 0; d--) {
			off += step[d];
			if (++idx[d] < (uint32_t)ob->shape[d])
				break;
			off -= step[d] * idx[d];
			idx[d] = 0;
		}
	}
}

/* Top = bottom 0 from offset[d] along each axis, the top's size. */
void
k_crop(const cr_net *net, const cr_layer *l, float *arena)
{
	const cr_blob *ib = BOTB(0), *ob = TOPB(0);
	const float *x = BOT(0);
	float *y = TOP(0);
	int nd = ob->ndim, d;
	uint32_t bstride[CR_MAX_DIMS], idx[CR_MAX_DIMS] = {0}, rows, r, len;

	bstride[nd - 1] = 1;
	for (d = nd - 2; d >= 0; d--)
		bstride[d] = bstride[d + 1] * (uint32_t)ib->shape[d + 1];
	len = (uint32_t)ob->shape[nd - 1];
	rows = ob->count / (len ? len : 1);
	for (r = 0; r < rows && len; r++) {
		uint32_t off = 0;
		for (d = 0; d < nd; d++)
			off += (idx[d] + (uint32_t)l->p.crop.offset[d]) * bstride[d];
		memcpy(y + (size_t)r * len, x + off, (size_t)len * sizeof *y);
		for (d = nd - 2; d >= 0; d--) {
			if (++idx[d] < (uint32_t)ob->shape[d])
				break;
			idx[d] = 0;
		}
	}
}
